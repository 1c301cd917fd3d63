"""Raw-socket HTTP client for the tests: timestamps every chunk of a chunked reply as it arrives."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from streaming_runtime import wire


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    body: bytes = b""
    started: float = 0.0

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def arrivals(self) -> list[float]:
        """Seconds from sending the request to each chunk's arrival."""
        return [at for at, _ in self.chunks]

    def json(self) -> Any:
        return json.loads(self.body)

    def ndjson(self) -> list[Any]:
        return [json.loads(line) for line in self.body.decode().splitlines() if line]


def request(
    url: str,
    path: str = "/",
    *,
    method: str = "POST",
    body: bytes | dict[str, Any] | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    timeout: float = 30.0,
) -> Response:
    """Send one request and read the reply (Content-Length or chunked) with per-chunk arrival times."""
    parts = urlsplit(url)
    data = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if isinstance(body, dict) and not any(k.lower() == "content-type" for k, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in pairs]
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        started = time.monotonic()
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        reader = sock.makefile("rb")
        status = int(reader.readline().split()[1])
        reply_headers: list[tuple[str, str]] = []
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            reply_headers.append((name.strip(), value.strip()))
        response = Response(status=status, headers=reply_headers, started=started)
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            for chunk in wire.iter_chunked(reader):
                response.chunks.append((time.monotonic() - started, chunk))
            response.body = b"".join(c for _, c in response.chunks)
        else:
            response.body = reader.read(int(response.header("Content-Length") or 0))
        return response
