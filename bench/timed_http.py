"""A raw-socket HTTP client for benchmarks that time-stamps every read, then maps body bytes to arrival times.

While the response streams in, it only calls `recv` and notes `time.monotonic()` with the running
byte count, so the client adds as little as possible to what is measured. The chunked framing is
decoded afterwards; `arrival(offset)` is when the body byte at `offset` reached this process.
"""

from __future__ import annotations

import bisect
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass


class TimedHttpError(RuntimeError):
    """The reply was not a well-formed 200 chunked response."""


@dataclass(frozen=True, slots=True)
class TimedResponse:
    """One response: when the request went out, the decoded body, and when each read arrived."""

    sent: float
    status: int
    headers: dict[str, str]
    body: bytes
    chunks: int  # HTTP chunks in the body as the server framed them
    _read_times: list[float]
    _read_ends: list[int]  # raw byte count after each read
    _body_starts: list[int]  # body offset where each chunk's data starts
    _raw_starts: list[int]  # ... and where that data is in the raw bytes received

    def arrival(self, offset: int) -> float:
        """When the body byte at `offset` had arrived (time.monotonic())."""
        if not 0 <= offset < len(self.body):
            raise IndexError(f"body offset {offset} outside 0..{len(self.body) - 1}")
        index = bisect.bisect_right(self._body_starts, offset) - 1
        raw = self._raw_starts[index] + offset - self._body_starts[index]
        return self._read_times[bisect.bisect_right(self._read_ends, raw)]


def post(
    port: int,
    body: bytes,
    *,
    content_type: str = "text/plain",
    path: str = "/",
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 120.0,
    connection: socket.socket | None = None,
) -> TimedResponse:
    """POST `body` to http://127.0.0.1:port`path` on a fresh connection (Connection: close) and read it
    all; `headers` are sent besides Host, Content-Type, Content-Length and Connection. `connection`: one
    opened beforehand by `connect` (so many clients can send at the same moment without all connecting
    at once); it is closed at the end."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    times: list[float] = []
    ends: list[int] = []
    parts: list[bytes] = []
    total = 0
    with connection or connect(port, timeout=timeout) as sock:
        recv, clock = sock.recv, time.monotonic
        sent = clock()
        sock.sendall(head + body)
        while data := recv(1 << 16):
            times.append(clock())
            total += len(data)
            ends.append(total)
            parts.append(data)
    return _parse(b"".join(parts), sent, times, ends)


def connect(port: int, *, timeout: float = 120.0) -> socket.socket:
    """A connection to 127.0.0.1:port with Nagle off, for `post`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _parse(raw: bytes, sent: float, times: list[float], ends: list[int]) -> TimedResponse:
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        raise TimedHttpError(f"no complete response head in {raw[:200]!r}")
    lines = raw[:head_end].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status != 200 or "chunked" not in headers.get("transfer-encoding", ""):
        raise TimedHttpError(f"status {status}, headers {headers}: {raw[head_end + 4 : head_end + 300]!r}")
    position = head_end + 4
    pieces: list[bytes] = []
    body_starts: list[int] = []
    raw_starts: list[int] = []
    size_total = 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            raise TimedHttpError("the chunked body ended without its last chunk")
        size = int(raw[position:line_end].split(b";")[0], 16)
        if size == 0:
            break
        data_start = line_end + 2
        body_starts.append(size_total)
        raw_starts.append(data_start)
        pieces.append(raw[data_start : data_start + size])
        size_total += size
        position = data_start + size + 2
    return TimedResponse(
        sent, status, headers, b"".join(pieces), len(body_starts), times, ends, body_starts, raw_starts
    )
