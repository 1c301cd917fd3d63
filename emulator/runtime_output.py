"""A runtime process's output (stdout and stderr, one pipe), read line by line on a thread of its own:
every line copied unchanged to the emulator's log (stderr), as CloudWatch Logs keeps a function's
output, every EMF document line (`{"_aws":…`) handed to the metrics summary as well, and every line
(pieces of a long one) to the sandbox's `on_line`, which keeps the invocations' log tails.

The reader does little per line (one write and flush to the log, a JSON parse for a document), and the
pipe is enlarged to 1 MiB where Linux allows it, so a runtime writing in bursts is not held up by it. A
line longer than `MAX_LINE_BYTES` is copied in pieces (its first piece, if it starts a document, counts
as an invalid one); a last line without its newline (a process that died mid-write) gets one.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from emulator.emf import EMF_PREFIX, MAX_DOCUMENT_BYTES

log = logging.getLogger("emulator")

MAX_LINE_BYTES = MAX_DOCUMENT_BYTES + 2  # a largest document with its line ending still reads whole
PIPE_BYTES = 1024 * 1024
_PREFIX = EMF_PREFIX.encode("ascii")


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
    """Reads `pipe` until every process holding its other end has closed it, then closes it."""

    def __init__(self, pipe: IO[bytes], *, name: str, routing: OutputRouting) -> None:
        self._pipe = pipe
        self._routing = routing
        _enlarge(pipe)
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the end of the output; whether it came."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _read(self) -> None:
        at_line_start = True
        try:
            while piece := self._pipe.readline(MAX_LINE_BYTES):
                complete = piece.endswith(b"\n")
                if not complete and len(piece) < MAX_LINE_BYTES:
                    piece += b"\n"  # a short piece without a newline: the output ended mid-line
                self._route(piece, at_line_start)
                at_line_start = complete
        except (OSError, ValueError) as exc:  # the pipe closed under us: the process is gone anyway
            log.debug("runtime output ended: %s", exc)
        finally:
            with contextlib.suppress(OSError):
                self._pipe.close()

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


def _enlarge(pipe: IO[bytes]) -> None:
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is not None:
        with contextlib.suppress(OSError, ValueError):
            fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)
