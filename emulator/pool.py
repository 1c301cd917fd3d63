"""The pool of execution environments: hands a free slot of a sandbox to each request, queues or throttles
the rest."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from emulator.sandbox import Sandbox


class ThrottledError(Exception):
    """Every environment is busy and the wait queue is full (Lambda answers 429)."""


class Pool:
    """Sandboxes, each serving up to its `capacity` requests at once (1, or N with Lambda Managed
    Instances); at most `max_queue` requests wait for a free slot."""

    def __init__(self, *, max_queue: int) -> None:
        self.max_queue = max_queue
        self.sandboxes: list[Sandbox] = []
        self._free: list[Sandbox] = []  # one entry per free slot
        self._waiting = 0
        self._cond = threading.Condition()

    def add(self, sandboxes: Sequence[Sandbox]) -> None:
        with self._cond:
            self.sandboxes.extend(sandboxes)
            # Slots interleaved across environments, so requests spread over them before any fills up.
            for depth in range(max((sandbox.capacity for sandbox in sandboxes), default=0)):
                self._free.extend(sandbox for sandbox in sandboxes if depth < sandbox.capacity)
            self._cond.notify_all()

    def acquire(self, *, timeout: float) -> Sandbox:
        """A sandbox with a free slot; ThrottledError when the queue is full or none frees up in `timeout`."""
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
        """Give back one of `sandbox`'s slots."""
        with self._cond:
            if self._free.count(sandbox) < sandbox.capacity:
                self._free.append(sandbox)
            self._cond.notify()

    def health(self) -> dict[str, object]:
        with self._cond:
            free, waiting = len(self._free), self._waiting
        return {
            "concurrency": sum(sandbox.capacity for sandbox in self.sandboxes),
            "environments": len(self.sandboxes),
            "free": free,
            "waiting": waiting,
            "maxQueue": self.max_queue,
            "sandboxes": [sandbox.state() for sandbox in self.sandboxes],
        }
