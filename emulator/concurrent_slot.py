"""The Runtime API side of a Lambda Managed Instances environment: up to N invocations at once, each
answered strictly under its own request id."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from emulator.invocations import (
    FunctionFailed,
    InvalidRequestID,
    InvalidStateTransition,
    Invocation,
    InvokeTimeout,
)
from emulator.slot import always_alive

# Timed-out request ids remembered for the 410 a late answer gets (the RIE keeps as many).
TIMED_OUT_MEMORY = 1000


class ConcurrentSlot:
    """Hands each GET /next a distinct invocation while fewer than `capacity` are unfinished; a /next
    beyond that long-polls until one finishes. /response and /error find their invocation by id only."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.init_error: FunctionFailed | None = None
        self.first_next_at: float | None = None
        self.on_delivered: Callable[[Invocation], None] = lambda invocation: None
        self._cond = threading.Condition()
        self._pending: deque[Invocation] = deque()
        self._running: dict[str, Invocation] = {}  # delivered, not yet done
        self._timed_out: OrderedDict[str, None] = OrderedDict()
        self._delivered_any = False
        self._closed = False
        self.waiting = 0  # GET /next calls long-polling right now

    def reset(self) -> None:
        """Forget the previous runtime process (called before spawning a new one)."""
        with self._cond:
            self._running.clear()
            self._delivered_any = False
            self.init_error = None
            self.first_next_at = None

    def assign(self, invocation: Invocation) -> None:
        with self._cond:
            self._pending.append(invocation)
            self._cond.notify()

    def wait_next(self, *, peer_alive: Callable[[], bool] = always_alive) -> Invocation | None:
        """Long-poll for an invocation (no timeout, like Lambda); None once closed, or when the runtime
        hung up while waiting (a dead worker's GET /next: the invocation stays for a live one)."""
        with self._cond:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            self.waiting += 1
            while (invocation := self._deliverable()) is None and not self._closed:
                self._cond.wait()
            self.waiting -= 1
            if invocation is None:
                return None
            if not peer_alive():
                self._pending.appendleft(invocation)
                self._cond.notify()
                return None
            self._running[invocation.request_id] = invocation
            self._delivered_any = True
        invocation.mark_delivered()
        invocation.add_done_callback(self._finished)
        self.on_delivered(invocation)
        return invocation

    def _deliverable(self) -> Invocation | None:
        """The oldest pending invocation that is still wanted, if there is room for one more."""
        while self._pending and self._pending[0].done:  # timed out (or shut down) while waiting
            self._pending.popleft()
        if not self._pending or len(self._running) >= self.capacity:
            return None
        return self._pending.popleft()

    def _finished(self, invocation: Invocation) -> None:
        with self._cond:
            if self._running.pop(invocation.request_id, None) is not None and invocation.timed_out:
                self._timed_out[invocation.request_id] = None
                while len(self._timed_out) > TIMED_OUT_MEMORY:
                    self._timed_out.popitem(last=False)
            self._cond.notify()

    def find(self, request_id: str) -> Invocation:
        """The unfinished invocation a /response or /error names: 410 for a timed-out one, 400 otherwise."""
        with self._cond:
            invocation = self._running.get(request_id)
            if invocation is not None:
                return invocation
            if request_id in self._timed_out:
                raise InvokeTimeout(f"invocation {request_id} timed out")
        raise InvalidRequestID(f"request id {request_id!r} is not an unfinished invocation")

    def record_init_error(self, failure: FunctionFailed) -> list[Invocation]:
        """Keep the init error and fail every invocation waiting for the runtime; returns them."""
        with self._cond:
            if self._delivered_any:
                raise InvalidStateTransition("init error after the runtime received an invocation")
            self.init_error = failure
            pending = self._take_pending()
        for invocation in pending:
            invocation.fail(failure)
        return pending

    def in_flight(self) -> list[Invocation]:
        """The delivered invocations that are not done yet."""
        with self._cond:
            return [invocation for invocation in self._running.values() if not invocation.done]

    @property
    def has_pending(self) -> bool:
        with self._cond:
            return any(not invocation.done for invocation in self._pending)

    def take_pending(self) -> list[Invocation]:
        with self._cond:
            return self._take_pending()

    def _take_pending(self) -> list[Invocation]:
        pending = [invocation for invocation in self._pending if not invocation.done]
        self._pending.clear()
        return pending

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
