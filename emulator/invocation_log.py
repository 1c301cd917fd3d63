"""The tail of one invocation's execution log: what the Lambda API returns as `LogResult` for
`X-Amz-Log-Type: Tail` (the last 4 KB, base64-encoded).

The sandbox writes into it: the `START` line when the runtime receives the invocation, every line the
runtime process prints from then until the invocation's `END` (with Lambda Managed Instances, every line
of the process meanwhile: a shared process's lines cannot be told apart), a timeout line, then `END` and
`REPORT` (written once the output has been read up to the runtime's answer), after which the log is
closed and later lines are dropped.
"""

from __future__ import annotations

import base64
import threading

TAIL_BYTES = 4096  # "The last 4 KB of the execution log" (InvocationResponse.LogResult)


class InvocationLog:
    """A bounded, thread-safe tail of one invocation's log lines, closed once its `REPORT` is written."""

    def __init__(self, *, limit: int = TAIL_BYTES) -> None:
        self._limit = limit
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def append(self, data: bytes) -> None:
        """Add log bytes (whole lines); ignored once the log is closed."""
        with self._lock:
            if self._closed.is_set():
                return
            self._tail += data
            if len(self._tail) > self._limit:
                del self._tail[: len(self._tail) - self._limit]

    def append_line(self, line: str) -> None:
        self.append(line.encode("utf-8") + b"\n")

    def close(self) -> None:
        """No more lines: the invocation's `REPORT` line was written (or it never reached a runtime)."""
        self._closed.set()

    def tail(self, *, wait_s: float) -> bytes:
        """The last `limit` bytes, after waiting up to `wait_s` seconds for the log to close."""
        self._closed.wait(wait_s)
        with self._lock:
            return bytes(self._tail)

    def log_result(self, *, wait_s: float) -> str:
        """The tail as Lambda's `LogResult`: base64 of the last 4 KB."""
        return base64.b64encode(self.tail(wait_s=wait_s)).decode("ascii")
