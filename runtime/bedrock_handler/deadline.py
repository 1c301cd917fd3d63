"""`DeadlineWatchdog`: ends a model stream that waits for Bedrock when the invocation runs short of time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


class DeadlineWatchdog:
    """Calls `on_deadline` once after `seconds` unless the `with` block has ended first.

    The handler checks the remaining time after every delta; this covers the gap where the model stalls
    between deltas, so the stream still ends cleanly (stopReason "deadline") before Lambda kills it.
    """

    def __init__(self, *, seconds: float, on_deadline: Callable[[], None]) -> None:
        self._on_deadline = on_deadline
        self._lock = threading.Lock()
        self._ended = False
        self._fired = False
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    @property
    def fired(self) -> bool:
        """Whether the deadline came while the stream was still open."""
        return self._fired

    def __enter__(self) -> DeadlineWatchdog:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:  # after this, _fire can no longer touch a stream that is being closed
            self._ended = True
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._fired = True
            self._on_deadline()
