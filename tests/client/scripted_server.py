"""A tiny HTTP/1.1 server on 127.0.0.1 whose replies are scripted per test, byte by byte."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from streaming_runtime.wire import encode_chunk, encode_last_chunk

from emulator.http_base import EmulatorHTTPServer

Script = Callable[["ScriptedHandler"], None]


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedServer

    def do_POST(self) -> None:
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append(
            Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        self.server.script(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- building blocks for scripts ---------------------------------------------------------------

    def head(self, status: int, content_type: str, *, extra: str = "Transfer-Encoding: chunked") -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", extra, "Connection: close", "", ""]
        self.wfile.write("\r\n".join(lines).encode())

    def chunk(self, data: bytes) -> None:
        self.wfile.write(encode_chunk(data))

    def end(self) -> None:
        self.wfile.write(encode_last_chunk())

    def cut(self) -> None:
        """Drop the connection mid-body, as a crashing server would (no terminating chunk)."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def json_reply(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.head(status, "application/json", extra=f"Content-Length: {len(body)}")
        self.wfile.write(body)


class ScriptedServer(EmulatorHTTPServer):
    """Quiet when a test's client hangs up (EmulatorHTTPServer.handle_error), loud on a script bug."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.requests: list[Recorded] = []
        self.script: Script = lambda handler: handler.json_reply(500, {"error": "no script"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"


def sse(kind: str, data: object) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


def sse_script(*events: tuple[str, object], finish: bool = True) -> Script:
    """Reply with these SSE events, one chunk each, then the terminating chunk when `finish`."""

    def script(h: ScriptedHandler) -> None:
        h.head(200, "text/event-stream")
        for kind, data in events:
            h.chunk(sse(kind, data))
        if finish:
            h.end()

    return script


DONE = {
    "stopReason": "end_turn",
    "usage": {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7},
    "metrics": {"firstTokenMs": 1, "totalMs": 2},
    "modelId": "test.model",
}


def running_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
