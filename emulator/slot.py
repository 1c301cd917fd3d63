"""The per-environment slot that hands invocations to GET /next and names the one the runtime may answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from emulator.invocations import FunctionFailed, InvalidRequestID, InvalidStateTransition, Invocation


class EnvironmentSlot(Protocol):
    """What the Runtime API server and the sandbox need of a slot (InvocationSlot, ConcurrentSlot)."""

    capacity: int
    waiting: int  # GET /next calls long-polling right now
    init_error: FunctionFailed | None
    first_next_at: float | None
    on_delivered: Callable[[Invocation], None]

    def reset(self) -> None: ...
    def assign(self, invocation: Invocation) -> None: ...
    def wait_next(self, *, peer_alive: Callable[[], bool] = ...) -> Invocation | None: ...
    def find(self, request_id: str) -> Invocation: ...
    def record_init_error(self, failure: FunctionFailed) -> object: ...
    def in_flight(self) -> list[Invocation]: ...
    def take_pending(self) -> list[Invocation]: ...
    @property
    def has_pending(self) -> bool: ...
    def close(self) -> None: ...


def always_alive() -> bool:
    """The default `peer_alive`: a caller that cannot tell is assumed to be listening."""
    return True


class InvocationSlot:
    """One execution environment's side of the Runtime API: at most one invocation at a time."""

    capacity = 1

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._closed = False
        self.waiting = 0
        self.init_error: FunctionFailed | None = None
        self.first_next_at: float | None = None
        self.on_delivered: Callable[[Invocation], None] = lambda invocation: None

    def reset(self) -> None:
        """Forget the previous runtime process (called before spawning a new one)."""
        with self._cond:
            self._current = None
            self.init_error = None
            self.first_next_at = None

    def assign(self, invocation: Invocation) -> None:
        with self._cond:
            if self._pending is not None:
                raise RuntimeError("environment already has a pending invocation")
            self._pending = invocation
            self._cond.notify_all()

    def wait_next(self, *, peer_alive: Callable[[], bool] = always_alive) -> Invocation | None:
        """Long-poll for the next invocation (no timeout, like Lambda); None once closed, or when the
        runtime hung up while waiting (the invocation stays for the next GET /next)."""
        with self._cond:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            self.waiting += 1
            while self._pending is None and not self._closed:
                self._cond.wait()
            self.waiting -= 1
            if self._pending is None or not peer_alive():
                self._cond.notify_all()
                return None
            invocation, self._pending = self._pending, None
            self._current = invocation
        invocation.mark_delivered()
        self.on_delivered(invocation)
        return invocation

    def find(self, request_id: str) -> Invocation:
        """The invocation a /response or /error names; only the current one can be answered."""
        current = self._current
        if current is None or current.request_id != request_id:
            raise InvalidRequestID(f"request id {request_id!r} is not the current invocation")
        return current

    def record_init_error(self, failure: FunctionFailed) -> Invocation | None:
        """Keep the init error; returns the pending invocation it fails (if any)."""
        with self._cond:
            if self._current is not None:
                raise InvalidStateTransition("init error after the runtime received an invocation")
            self.init_error = failure
            pending, self._pending = self._pending, None
        if pending is not None:
            pending.fail(failure)
        return pending

    def in_flight(self) -> list[Invocation]:
        """The delivered invocation, while it is not done."""
        current = self._current
        return [current] if current is not None and not current.done else []

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    def take_pending(self) -> list[Invocation]:
        with self._cond:
            pending, self._pending = self._pending, None
            return [pending] if pending is not None else []

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
