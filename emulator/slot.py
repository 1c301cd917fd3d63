"""The per-environment slot that hands invocations to GET /next and names the one the runtime may answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from emulator.invocations import FunctionFailed, InvalidRequestID, InvalidStateTransition, Invocation


class InvocationSlot:
    """One execution environment's side of the Runtime API: at most one invocation at a time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: Invocation | None = None
        self._current: Invocation | None = None
        self._closed = False
        self.init_error: FunctionFailed | None = None
        self.first_next_at: float | None = None
        self.on_delivered: Callable[[Invocation], None] = lambda invocation: None

    @property
    def current(self) -> Invocation | None:
        return self._current

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

    def wait_next(self) -> Invocation | None:
        """Long-poll for the next invocation (no timeout, like Lambda); None once closed."""
        with self._cond:
            if self.first_next_at is None:
                self.first_next_at = time.monotonic()
            while self._pending is None and not self._closed:
                self._cond.wait()
            invocation, self._pending = self._pending, None
            if invocation is None:
                return None
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

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    def take_pending(self) -> Invocation | None:
        with self._cond:
            pending, self._pending = self._pending, None
            return pending

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
