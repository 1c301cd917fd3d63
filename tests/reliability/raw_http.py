"""Raw-socket HTTP/1.1 exchange for the fuzz and soak tests: sends any bytes, parses the reply strictly.

Unlike an HTTP library it sends what it is given (odd methods, repeated or huge headers, broken
framing) and reports how the reply was framed, so a test can tell a properly ended stream (the last
chunk arrived) from one that was cut off.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

MAX_REPLY_BYTES = 64 * 1024 * 1024


class ReplyFormatError(Exception):
    """The server's reply is not valid HTTP/1.1 framing."""


@dataclass
class RawReply:
    """What came back: status (None for a bare HTTP/0.9 body), headers, body and how it ended."""

    status: int | None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    framing: str = "none"  # "chunked", "length", "close" or "none" (HEAD / no body)
    complete: bool = True  # chunked: the last chunk arrived; length: every byte arrived
    elapsed: float = 0.0
    informational: list[int] = field(default_factory=list)  # 1xx statuses seen first

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


def build_request(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    host: str,
    chunked: bool = False,
) -> bytes:
    """One request with `Host`, `Connection: close` and body framing added (headers sent as latin-1)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    else:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    return "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + payload


def exchange(
    address: tuple[str, int], data: bytes, *, head: bool = False, half_close: bool = False, timeout: float
) -> RawReply:
    """Send `data` on a fresh connection and read one reply; `timeout` bounds the whole exchange.
    `half_close` shuts the sending side afterwards, so a server waiting for more bytes sees the end."""
    started = time.monotonic()
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The server may answer and close before reading everything (e.g. 413, 431).
        with contextlib.suppress(OSError):
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        sock.settimeout(max(0.1, timeout - (time.monotonic() - started)))
        reader = sock.makefile("rb")
        reply = _read_reply(reader, head=head)
    reply.elapsed = time.monotonic() - started
    return reply


def _read_reply(reader: Any, *, head: bool) -> RawReply:
    informational: list[int] = []
    while True:
        line = reader.readline(65537)
        if not line.startswith(b"HTTP/"):
            # http.server answers a request line without a version as HTTP/0.9: the body alone.
            return RawReply(status=None, body=line + _read_all(reader), framing="close")
        parts = line.split(None, 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            raise ReplyFormatError(f"bad status line {line[:80]!r}") from None
        headers = _read_headers(reader)
        if 100 <= status < 200:
            informational.append(status)
            continue
        break
    reply = RawReply(status=status, headers=headers, informational=informational)
    if head or status in (204, 304):
        return reply
    if (reply.header("Transfer-Encoding") or "").lower() == "chunked":
        reply.framing = "chunked"
        reply.body, reply.complete = _read_chunked(reader)
    elif (length := reply.header("Content-Length")) is not None:
        reply.framing = "length"
        reply.body = reader.read(int(length))
        reply.complete = len(reply.body) == int(length)
    else:
        reply.framing = "close"
        reply.body = _read_all(reader)
    return reply


def _read_headers(reader: Any) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while (line := reader.readline(65537)) not in (b"\r\n", b"\n", b""):
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ReplyFormatError(f"bad header line {line[:80]!r}")
        headers.append((name.strip(), value.strip()))
    return headers


def _read_chunked(reader: Any) -> tuple[bytes, bool]:
    """The decoded body and whether the last chunk (and the end of the trailer section) arrived."""
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = reader.readline(1024)
        if not size_line:
            return b"".join(parts), False
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ReplyFormatError(f"bad chunk size line {size_line[:40]!r}") from None
        if size == 0:
            while (trailer := reader.readline(65537)) not in (b"\r\n", b"\n"):
                if not trailer:
                    return b"".join(parts), False
            return b"".join(parts), True
        data = reader.read(size)
        total += len(data)
        if len(data) < size or reader.read(2) != b"\r\n" or total > MAX_REPLY_BYTES:
            return b"".join(parts) + data, False
        parts.append(data)


def _read_all(reader: Any) -> bytes:
    return bytes(reader.read(MAX_REPLY_BYTES))
