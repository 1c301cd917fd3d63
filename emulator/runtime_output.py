"""A runtime process's output (stdout and stderr, one pipe), read line by line on a thread of its own:
every line copied unchanged to the emulator's log (stderr), as CloudWatch Logs keeps a function's
output, every EMF document line (`{"_aws":…`) handed to the metrics summary as well, and every line
(pieces of a long one) to the sandbox's `on_line`, which keeps the invocations' log tails.

`sync()` returns once every line the runtime wrote before the call has been routed: the emulator writes
a marker line into the same pipe (it keeps a write end), and the pipe's order puts it after them. The
sandbox calls it before an invocation's `END` line, so a line the runtime printed during the invocation
is in that invocation's log tail even when this thread is scheduled late.

The reader does little per line (one write and flush to the log, a JSON parse for a document), and the
pipe is enlarged to 1 MiB where Linux allows it, so a runtime writing in bursts is not held up by it. A
line longer than `MAX_LINE_BYTES` is copied in pieces (its first piece, if it starts a document, counts
as an invalid one); a last line without its newline (a process that died mid-write) gets one.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

from emulator.emf import EMF_PREFIX, MAX_DOCUMENT_BYTES

log = logging.getLogger("emulator")

MAX_LINE_BYTES = MAX_DOCUMENT_BYTES + 2  # a largest document with its line ending still reads whole
PIPE_BYTES = 1024 * 1024
_PREFIX = EMF_PREFIX.encode("ascii")
READ_BYTES = 64 * 1024
# A marker `sync()` writes into the pipe: never valid output of a runtime (NUL and SOH first), cut out of
# the data before it is split into lines, wherever it landed.
_SYNC = re.compile(rb"\x00\x01emulator-sync:(\d+)\n")


@dataclass(frozen=True, slots=True)
class OutputRouting:
    """Where a runtime's lines go: all to the log (EMF documents only when `log_documents`), each EMF
    document line to `on_document` too, and every line to `on_line` (documents included: they are in
    a function's CloudWatch log)."""

    on_document: Callable[[bytes], None] | None = None
    log_documents: bool = True
    on_line: Callable[[bytes], None] | None = None


def write_to_log(data: bytes) -> None:
    """`data` on the emulator's stderr as it is, flushed now; a closed or broken stderr is ignored (the
    runtime's pipe must still be drained)."""
    stream = sys.stderr
    with contextlib.suppress(OSError, ValueError):
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text-only stand-in for stderr (a test's capture)
            stream.write(data.decode("utf-8", "replace"))
            stream.flush()
            return
        stream.flush()  # anything the text layer still holds goes first
        buffer.write(data)
        buffer.flush()


class RuntimeOutput:
    """Reads the pipe `read_fd` until every process holding a write end has closed it, then closes it;
    `write_fd` is the emulator's own write end, used by `sync()` and closed by `close_writer()`."""

    def __init__(self, read_fd: int, write_fd: int, *, name: str, routing: OutputRouting) -> None:
        self._read_fd, self._write_fd = read_fd, write_fd
        self._routing = routing
        self._lock = threading.Lock()
        self._waiting: dict[int, threading.Event] = {}  # sync marker id -> who waits for it
        self._ids = itertools.count(1)
        self._ended = False
        _enlarge(read_fd)
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the end of the output; whether it came."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def sync(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds until every line written to the pipe before this call has been
        routed; whether it was (True too once the output has ended)."""
        with self._lock:
            if self._ended or self._write_fd < 0:
                return True
            marker = next(self._ids)
            event = self._waiting[marker] = threading.Event()
            try:
                os.write(self._write_fd, b"\x00\x01emulator-sync:%d\n" % marker)  # < PIPE_BUF: one write
            except OSError:
                del self._waiting[marker]
                return True
        return event.wait(timeout)

    def close_writer(self) -> None:
        """Close the emulator's write end, so the output ends once the runtime's processes have gone."""
        with self._lock:
            fd, self._write_fd = self._write_fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)

    def _read(self) -> None:
        pending = b""  # the start of a line whose end has not been read yet
        at_line_start = True
        try:
            while chunk := os.read(self._read_fd, READ_BYTES):
                pending, markers = self._cut_markers(pending + chunk)
                pending, at_line_start = self._route_lines(pending, at_line_start)
                self._release(markers)
            if pending:  # the output ended mid-line
                self._route(pending + b"\n", at_line_start)
        except OSError as exc:  # the pipe closed under us: the process is gone anyway
            log.debug("runtime output ended: %s", exc)
        finally:
            with self._lock:
                self._ended = True
                waiting, self._waiting = list(self._waiting.values()), {}
            for event in waiting:
                event.set()
            with contextlib.suppress(OSError):
                os.close(self._read_fd)

    @staticmethod
    def _cut_markers(data: bytes) -> tuple[bytes, list[int]]:
        """`data` without the sync markers in it, and their ids."""
        if b"\x00\x01" not in data:
            return data, []
        markers = [int(match.group(1)) for match in _SYNC.finditer(data)]
        return _SYNC.sub(b"", data), markers

    def _route_lines(self, data: bytes, at_line_start: bool) -> tuple[bytes, bool]:
        """Route every complete line of `data` (a line longer than `MAX_LINE_BYTES` in pieces of that
        size); the unfinished rest and whether the next piece starts a line."""
        start = 0
        while True:
            end = data.find(b"\n", start, start + MAX_LINE_BYTES)
            if end >= 0:
                piece, complete = data[start : end + 1], True
            elif len(data) - start >= MAX_LINE_BYTES:
                piece, complete = data[start : start + MAX_LINE_BYTES], False
            else:
                return data[start:], at_line_start
            self._route(piece, at_line_start)
            at_line_start, start = complete, start + len(piece)

    def _release(self, markers: list[int]) -> None:
        if not markers:
            return
        with self._lock:
            events = [self._waiting.pop(marker, None) for marker in markers]
        for event in events:
            if event is not None:
                event.set()

    def _route(self, piece: bytes, at_line_start: bool) -> None:
        document = at_line_start and piece.startswith(_PREFIX)
        if not document or self._routing.log_documents:
            write_to_log(piece)
        # A bug in a consumer must not stop the draining, or the runtime blocks on a full pipe.
        if self._routing.on_line is not None:
            try:
                self._routing.on_line(piece)
            except Exception:
                log.exception("could not keep a log line for the invocations in flight")
        if document and self._routing.on_document is not None:
            try:
                self._routing.on_document(piece)
            except Exception:
                log.exception("could not count an EMF document")


def _enlarge(fd: int) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is not None:
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(fd, set_size, PIPE_BYTES)
