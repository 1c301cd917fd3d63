"""The pool of execution environments: hands a free sandbox to each request, queues or throttles the rest."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from emulator.sandbox import Sandbox


class ThrottledError(Exception):
    """Every environment is busy and the wait queue is full (Lambda answers 429)."""


class Pool:
    """N sandboxes, each serving one request at a time; at most `max_queue` requests wait."""

    def __init__(self, *, max_queue: int) -> None:
        self.max_queue = max_queue
        self.sandboxes: list[Sandbox] = []
        self._free: list[Sandbox] = []
        self._waiting = 0
        self._cond = threading.Condition()

    def add(self, sandboxes: Sequence[Sandbox]) -> None:
        with self._cond:
            self.sandboxes.extend(sandboxes)
            self._free.extend(sandboxes)
            self._cond.notify_all()

    def acquire(self, *, timeout: float) -> Sandbox:
        """A free sandbox; raises ThrottledError when the queue is full or nothing frees up in `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if not self._free and self._waiting >= self.max_queue:
                raise ThrottledError(f"all environments busy and {self._waiting} requests already waiting")
            self._waiting += 1
            try:
                while not self._free:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise ThrottledError("no execution environment became free in time")
                    self._cond.wait(remaining)
                return self._free.pop(0)
            finally:
                self._waiting -= 1

    def release(self, sandbox: Sandbox) -> None:
        with self._cond:
            if sandbox not in self._free:
                self._free.append(sandbox)
            self._cond.notify()

    def health(self) -> dict[str, object]:
        with self._cond:
            free, waiting = len(self._free), self._waiting
        return {
            "concurrency": len(self.sandboxes),
            "free": free,
            "waiting": waiting,
            "maxQueue": self.max_queue,
            "sandboxes": [sandbox.state() for sandbox in self.sandboxes],
        }
