"""`DeadlineWatchdog`: ends a model stream that waits for Bedrock when the invocation runs short of time."""

from __future__ import annotations

import heapq
import os
import threading
import time
from collections.abc import Callable
from types import TracebackType

# Cancelled watchdogs stay in the heap until their deadline (an invocation that ends normally is the
# common case); past this many, and over half the heap, the heap is rebuilt without them.
_COMPACT_ABOVE = 64


class DeadlineWatchdog:
    """Calls `on_deadline` once after `seconds` unless the `with` block has ended first.

    The handler checks the remaining time after every delta; this covers the gap where the model stalls
    between deltas, so the stream still ends cleanly (stopReason "deadline") before Lambda kills it.
    Every watchdog of the process shares one timer thread: starting a thread per invocation cost ~0.2 ms
    of each (docs/performance.md).
    """

    def __init__(self, *, seconds: float, on_deadline: Callable[[], None]) -> None:
        self._on_deadline: Callable[[], None] | None = on_deadline
        self._lock = threading.Lock()
        self._when = time.monotonic() + max(0.0, seconds)
        self._ended = False
        self._fired = False

    @property
    def fired(self) -> bool:
        """Whether the deadline came while the stream was still open."""
        return self._fired

    def __enter__(self) -> DeadlineWatchdog:
        _TIMER.schedule(self._when, self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:  # after this, fire() can no longer touch a stream that is being closed
            self._ended = True
            self._on_deadline = None  # the heap may hold this watchdog until its deadline; not the stream
        _TIMER.cancelled()

    def fire(self) -> None:
        """Called by the timer thread at the deadline."""
        with self._lock:
            if self._ended or self._on_deadline is None:
                return
            self._fired = True
            self._on_deadline()


class _Timer:
    """One daemon thread firing due watchdogs in deadline order; started on first use in a process (a
    forked worker starts its own: threads do not survive fork)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, DeadlineWatchdog]] = []
        self._sequence = 0  # breaks ties between equal deadlines without comparing watchdogs
        self._cancelled = 0
        self._pid = 0

    def schedule(self, when: float, watchdog: DeadlineWatchdog) -> None:
        with self._cond:
            if self._pid != os.getpid():
                self._heap.clear()
                self._cancelled = 0
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="deadline-watchdog", daemon=True).start()
            self._sequence += 1
            heapq.heappush(self._heap, (when, self._sequence, watchdog))
            if self._heap[0][2] is watchdog:  # a new earliest deadline: the thread must wait less
                self._cond.notify()

    def cancelled(self) -> None:
        with self._cond:
            self._cancelled += 1
            if self._cancelled > _COMPACT_ABOVE and self._cancelled * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2]._ended]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                _, _, due = heapq.heappop(self._heap)
            due.fire()


_TIMER = _Timer()
