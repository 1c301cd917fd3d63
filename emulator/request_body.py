"""Reading and draining Runtime API request bodies: size limits, chunked coding, bounded discards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, cast

from streaming_runtime import wire

from emulator.http_base import NoDelayHandler

# Drain at most this much of a refused body so the runtime reads our reply instead of a reset.
MAX_DRAIN_BYTES = 8 * 1024 * 1024


class RequestBodyHandler(NoDelayHandler):
    """A handler that reads each request body exactly once, or drains it before answering a refusal."""

    _body_consumed = False

    def _read_limited_body(self, *, limit: int) -> bytes | None:
        """The whole request body, or None (after draining) when it exceeds `limit`."""
        self._body_consumed = True
        if self._is_chunked():
            parts: list[bytes] = []
            size = 0
            for chunk in wire.iter_chunked(cast(BinaryIO, self.rfile)):
                size += len(chunk)
                if size <= limit:
                    parts.append(chunk)
            return b"".join(parts) if size <= limit else None
        length = self._content_length()
        if length > limit:
            self._discard(length)
            return None
        return self.rfile.read(length)

    def _drain_body(self) -> None:
        if self._body_consumed:
            return
        self._body_consumed = True
        if self._is_chunked():
            self._discard_chunks(wire.iter_chunked(cast(BinaryIO, self.rfile)))
            return
        try:
            self._discard(self._content_length())
        except (OSError, ValueError):
            self.close_connection = True

    def _discard_chunks(self, chunks: Iterable[bytes]) -> None:
        """Read (a bounded amount of) a chunked body to its end; close the connection if that fails."""
        drained = 0
        try:
            for chunk in chunks:
                drained += len(chunk)
                if drained > MAX_DRAIN_BYTES:
                    self.close_connection = True
                    return
        except (wire.ChunkedEncodingError, OSError, ValueError):
            self.close_connection = True

    def _discard(self, length: int) -> None:
        if length > MAX_DRAIN_BYTES:
            self.close_connection = True
            return
        while length > 0:
            data = self.rfile.read(min(length, 65536))
            if not data:
                return
            length -= len(data)

    def _is_chunked(self) -> bool:
        return "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()

    def _content_length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0
