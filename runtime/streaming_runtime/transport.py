"""A minimal HTTP/1.1 client connection over one TCP socket, just enough for the local Runtime API.

Raw sockets instead of http.client: importing http.client pulls in the email package (~15 ms measured
on this machine, about half the interpreter's own start-up), and the streaming POST needs hand-written
chunk framing with trailers anyway.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from io import BufferedReader

from streaming_runtime import wire
from streaming_runtime.record import Record

_MAX_LINE = 64 * 1024
_MAX_HEADERS = 200


class ProtocolError(ConnectionError):
    """The peer answered something that is not a well-formed HTTP/1.1 response, or closed early."""


class HttpResponse(Record):
    """A complete response: status, headers as received (names lower-cased, repeats kept), body."""

    __slots__ = ("body", "headers", "status")
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __init__(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> None:
        self._assign(status=status, headers=headers, body=body)

    def header_map(self) -> dict[str, str]:
        """Headers as a dict (lower-cased names; repeated headers joined with ', ')."""
        merged: dict[str, str] = {}
        for key, value in self.headers:
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        return merged


class Connection:
    """One HTTP/1.1 connection to host:port with TCP_NODELAY; reconnects lazily after a close."""

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._reader: BufferedReader | None = None

    def connect(self) -> None:
        """Open the socket (no timeout: GET /next may legitimately block for as long as Lambda likes)."""
        family = _ip_family(self.host)
        if family is None:
            sock = socket.create_connection((self.host, self.port))
        else:
            # An IP literal (what Lambda gives) needs no getaddrinfo: saves time on every streamed response.
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.connect((self.host, self.port))
            except OSError:
                sock.close()
                raise
        # Small chunks must leave at once, not wait for the peer's delayed ACK (Nagle).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._reader = None

    def idle_and_open(self) -> bool:
        """Whether the socket is connected and the peer has neither closed it nor sent anything: the
        state a connection opened ahead of its request must still be in when the request goes out."""
        if self._sock is None:
            return False
        try:
            # Returns b"" if the peer closed it, or bytes it sent unasked: unusable either way.
            self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True  # nothing to read: open and idle
        except OSError:
            return False  # reset by the peer
        return False

    def close(self) -> None:
        """Close the socket; the next request reconnects."""
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._reader = None

    def head_bytes(self, *, method: str, path: str, headers: Sequence[tuple[str, str]]) -> bytes:
        """The request line and header block, ready to send."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send(self, data: bytes) -> None:
        """Send bytes in one call, connecting first if needed."""
        sock = self._sock
        if sock is None:
            self.connect()
            sock = self._sock
            if sock is None:
                raise ProtocolError("not connected")
        sock.sendall(data)

    def request(
        self,
        *,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> HttpResponse:
        """Send one request with an optional Content-Length body and read the whole response.

        A kept-alive connection that the peer closed while it was idle is retried once on a fresh one.
        """
        all_headers = list(headers)
        if body is not None:
            all_headers.append(("Content-Length", str(len(body))))
        data = self.head_bytes(method=method, path=path, headers=all_headers) + (body or b"")
        if self._sock is not None:
            try:
                self.send(data)
                return self.read_response()
            except (StaleConnectionError, ConnectionResetError, BrokenPipeError):
                self.close()
        self.send(data)
        return self.read_response()

    def read_response(self) -> HttpResponse:
        """Read one response; closes the connection if the peer asks for it or the body ends at EOF."""
        if self._sock is None:
            raise ProtocolError("not connected")
        if self._reader is None:
            self._reader = self._sock.makefile("rb")
        reader = self._reader
        status_line = reader.readline(_MAX_LINE)
        if not status_line:
            self.close()
            raise StaleConnectionError("connection closed before a response")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            self.close()
            raise ProtocolError(f"bad status line {status_line[:80]!r}")
        status = int(parts[1])
        headers = _read_headers(reader)
        fields = dict(headers)
        body, until_close = _read_body(reader, status, fields)
        if until_close or fields.get("connection", "").lower() == "close":
            self.close()
        return HttpResponse(status=status, headers=headers, body=body)


def _ip_family(host: str) -> int | None:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    return None


class StaleConnectionError(ProtocolError):
    """The peer closed the connection without answering (e.g. an idle keep-alive connection)."""


def _read_headers(reader: BufferedReader) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    for _ in range(_MAX_HEADERS):
        line = reader.readline(_MAX_LINE)
        if not line:
            raise ProtocolError("connection closed inside the response headers")
        if line in (b"\r\n", b"\n"):
            return tuple(headers)
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:80]!r}")
        headers.append((name.strip().lower(), value.strip()))
    raise ProtocolError("too many response headers")


def _read_body(reader: BufferedReader, status: int, fields: dict[str, str]) -> tuple[bytes, bool]:
    """The body and whether it was delimited by the peer closing the connection."""
    if status in (204, 304) or 100 <= status < 200:
        return b"", False
    if "chunked" in fields.get("transfer-encoding", "").lower():
        try:
            return b"".join(wire.iter_chunked(reader)), False
        except wire.ChunkedEncodingError as exc:
            raise ProtocolError(str(exc)) from None
    length = fields.get("content-length")
    if length is None:
        return reader.read(), True
    if not length.strip().isdigit():
        raise ProtocolError(f"bad Content-Length {length!r}")
    body = reader.read(int(length))
    if len(body) != int(length):
        raise ProtocolError("connection closed inside the response body")
    return body, False
