"""A recording Lambda Runtime API on 127.0.0.1 for tests: queues events, decodes chunked bodies itself.

The chunked decoder here is written byte by byte on purpose and does not use `wire.iter_chunked`, so the
runtime's encoder and the tests' decoder cannot share one mistake.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API = "/2018-06-01/runtime"


@dataclass
class Chunk:
    """One received chunk and when its last byte arrived (time.monotonic())."""

    data: bytes
    arrived: float


@dataclass
class Post:
    """One POST the runtime sent: /response, /error or /init/error."""

    kind: str
    request_id: str | None
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunks: list[Chunk] = field(default_factory=list)
    trailers: dict[str, str] = field(default_factory=dict)
    raw_trailer_block: bytes = b""
    chunked: bool = False
    complete: bool = False
    client_port: int = 0
    client_closed: bool = False
    received: float = 0.0
    connected: float = 0.0  # when the connection that carried it was accepted

    def header(self, name: str) -> str | None:
        """First value of a request header (case-insensitive)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Every value of a (possibly repeated) request header."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


@dataclass
class NextCall:
    """One GET /next as received."""

    arrived: float
    client_port: int


class RecordingApi:
    """The server; use as a context manager. Attributes tests may set: `statuses` (kind -> status to
    answer instead of 202/200, e.g. {"next": 500}) and `drop_after_chunks` (reset a streamed POST's
    connection after that many chunks) and `idle_timeout_s` (close a connection on which no request
    line arrives for that long, as an HTTP server with an idle timeout does)."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()
        self.posts: list[Post] = []
        self.next_calls: list[NextCall] = []
        self.statuses: dict[str, int] = {}
        self.drop_after_chunks: int | None = None
        self.idle_timeout_s: float | None = None
        self._changed = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"{host}:{port}"

    def __enter__(self) -> RecordingApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and close the listening socket (idempotent): the Runtime API is gone."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with self._changed:
            live = list(self._connections)
        for connection in live:  # a gone API also drops its kept-alive connections
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def enqueue(
        self,
        event: Any = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        request_id: str | None = None,
        deadline_ms: int | None = None,
    ) -> str:
        """Queue one invocation; returns its request id. `headers` override/extend the defaults."""
        rid = request_id or str(uuid.uuid4())
        all_headers = {
            "Lambda-Runtime-Aws-Request-Id": rid,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms or int(time.time() * 1000) + 30_000),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:test",
            "Content-Type": "application/json",
        }
        all_headers.update(headers or {})
        self.events.put((all_headers, json.dumps(event).encode() if body is None else body))
        return rid

    def wait_post(self, *, kind: str, request_id: str | None = None, timeout: float = 15.0) -> Post:
        """Block until a POST of this kind (for this request id) has been fully received."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for post in self.posts:
                    if post.kind == kind and (request_id is None or post.request_id == request_id):
                        return post
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no {kind} POST for {request_id} within {timeout}s: {self.posts}")
                self._changed.wait(remaining)

    def wait_next_calls(self, count: int, *, timeout: float = 15.0) -> None:
        """Block until GET /next has been called `count` times."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.next_calls) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"only {len(self.next_calls)} GET /next calls within {timeout}s")
                self._changed.wait(remaining)

    def wait_client_closed(self, post: Post, *, timeout: float = 10.0) -> bool:
        """Whether the runtime closed the connection that carried `post` within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not post.client_closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def _record(self, post: Post) -> None:
        with self._changed:
            self.posts.append(post)
            self._changed.notify_all()

    def _record_next(self, call: NextCall) -> None:
        with self._changed:
            self.next_calls.append(call)
            self._changed.notify_all()


def _make_handler(api: RecordingApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        last_stream: Post | None = None
        raw_requestline: bytes

        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output quiet."""

        def setup(self) -> None:
            super().setup()
            self.connected_at = time.monotonic()
            if api.idle_timeout_s is not None:
                self.connection.settimeout(api.idle_timeout_s)  # http.server closes it on a timeout
            with api._changed:
                api._connections.add(self.connection)

        def finish(self) -> None:
            with api._changed:
                api._connections.discard(self.connection)
            super().finish()

        def handle_one_request(self) -> None:
            super().handle_one_request()
            if not self.raw_requestline and self.last_stream is not None:
                with api._changed:
                    self.last_stream.client_closed = True
                    api._changed.notify_all()

        def do_GET(self) -> None:
            if self.path != f"{API}/invocation/next":
                self._reply(404, {"errorType": "NotFound"})
                return
            api._record_next(NextCall(arrived=time.monotonic(), client_port=self.client_address[1]))
            if "next" in api.statuses:
                self._reply(api.statuses["next"], {"errorType": "Injected", "errorMessage": "test"})
                return
            while True:
                try:
                    headers, body = api.events.get(timeout=0.05)
                except queue.Empty:
                    if api._stopping.is_set():
                        self.close_connection = True
                        return
                    continue
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return

        def do_POST(self) -> None:
            parts = self.path.split("/")
            if self.path == f"{API}/init/error":
                kind, request_id = "init_error", None
            elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                kind, request_id = parts[5], parts[4]
            else:
                self._reply(404, {"errorType": "NotFound"})
                return
            post = Post(
                kind=kind,
                request_id=request_id,
                headers=list(self.headers.items()),
                client_port=self.client_address[1],
                received=time.monotonic(),
                connected=self.connected_at,
            )
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                post.chunked = True
                if not self._read_chunked(post):
                    api._record(post)
                    return
            else:
                post.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                post.complete = True
            api._record(post)
            if post.chunked:
                self.last_stream = post
            status = api.statuses.get(kind, 202)
            self._reply(status, {"status": "OK"} if status == 202 else {"errorType": "Injected"})

        def _read_chunked(self, post: Post) -> bool:
            """Decode the chunked body by hand; False if the connection was dropped or ended early."""
            while True:
                size_line = self.rfile.readline()
                if not size_line.endswith(b"\r\n"):
                    self.close_connection = True
                    return False
                size = int(size_line[:-2], 16)  # the runtime sends no chunk extensions
                if size == 0:
                    break
                data = self.rfile.read(size)
                if self.rfile.read(2) != b"\r\n" or len(data) != size:
                    self.close_connection = True
                    return False
                post.chunks.append(Chunk(data=data, arrived=time.monotonic()))
                if api.drop_after_chunks is not None and len(post.chunks) >= api.drop_after_chunks:
                    self._reset_connection()
                    return False
            block = b""
            while True:
                line = self.rfile.readline()
                if not line.endswith(b"\r\n"):
                    self.close_connection = True
                    return False
                if line == b"\r\n":
                    break
                block += line
                name, _, value = line.decode("ascii").partition(":")
                post.trailers[name.strip().lower()] = value.strip()
            post.raw_trailer_block = block
            post.body = b"".join(chunk.data for chunk in post.chunks)
            post.complete = True
            return True

        def _reset_connection(self) -> None:
            # SO_LINGER 0 makes close() send RST: the runtime sees a reset, not a clean end.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _reply(self, status: int, document: dict[str, str]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
