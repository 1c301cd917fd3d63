"""A lean local Runtime API for benchmarks: hands out events, times each chunk of the streamed responses.

Raw sockets and a pool of pre-started worker threads instead of http.server: a thread started per
connection and email-based header parsing would add ~100 us to every streamed response, the same for
both runtimes, and hide the difference being measured (Lambda's own API server is compiled Go).

Any number of runtime connections are served at once (one thread each, more started as they are needed),
so a runtime with many workers can hold many GET /next open together (Lambda Managed Instances); `submit`
queues an invocation without waiting for it, and `wait_waiting` waits until that many GET /next are open.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from io import BufferedReader
from typing import Any

from streaming_runtime import wire

_ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n" + (
    b'{"status":"OK"}'
)


@dataclass
class Result:
    """One invocation as the API saw it (all times are time.monotonic())."""

    request_id: str
    dispatched: float = 0.0
    chunk_times: list[float] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    finished: float = 0.0
    path: str = ""  # the runtime's POST: /2018-06-01/runtime/invocation/<id>/response (or /error)
    done: threading.Event = field(default_factory=threading.Event)


class BenchApi:
    """The server on 127.0.0.1:<ephemeral>; use as a context manager."""

    def __init__(self) -> None:
        self._events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._results: dict[str, Result] = {}
        self._connections: queue.Queue[socket.socket | None] = queue.Queue()
        self._idle = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self.next_times: list[float] = []
        self.first_next = threading.Event()
        self.waiting = 0  # GET /next requests open now, waiting for an event
        self._next_seen = threading.Condition()
        self._stopping = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> BenchApi:
        for _ in range(4):
            self._add_worker()
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        # close() alone does not wake a thread blocked in accept()/recv() on Linux; shutdown() does,
        # so the joins below return at once instead of after their timeouts.
        _shutdown(self._listener)
        self._listener.close()
        with self._lock:
            for conn in self._open:
                _shutdown(conn)
                conn.close()
        for _ in self._workers:
            self._connections.put(None)
        for worker in self._workers:
            worker.join(timeout=5)
        self._acceptor.join(timeout=5)

    def invoke(self, event: Any, *, timeout: float = 60.0) -> Result:
        """Queue one event and wait until its response has been received completely."""
        result = self.submit(event)
        if not result.done.wait(timeout):
            raise TimeoutError(f"no complete response for {event!r} within {timeout}s")
        return result

    def submit(self, event: Any) -> Result:
        """Queue one event and return at once; `result.done` is set when its response is complete."""
        request_id = str(uuid.uuid4())
        result = Result(request_id=request_id)
        self._results[request_id] = result
        self._events.put((request_id, json.dumps(event).encode()))
        return result

    def wait_nexts(self, count: int, timeout: float) -> bool:
        """Wait until `count` GET /next requests have arrived in all; False if they had not in `timeout`."""
        with self._next_seen:
            return self._next_seen.wait_for(lambda: len(self.next_times) >= count, timeout)

    def wait_waiting(self, count: int, timeout: float) -> bool:
        """Wait until at least `count` GET /next requests are open at once (False after `timeout`)."""
        with self._next_seen:
            return self._next_seen.wait_for(lambda: self.waiting >= count, timeout)

    def _add_worker(self, *, idle: bool = True) -> None:
        worker = threading.Thread(target=self._work, daemon=True)
        self._workers.append(worker)
        if idle:
            with self._lock:
                self._idle += 1
        worker.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # An idle thread is claimed here, not when it takes the connection: connections accepted in
            # a burst (many workers starting at once) must each get a thread of their own, since a thread
            # serves its connection until the runtime closes it.
            with self._lock:
                self._open.add(conn)
                spare = self._idle > 0
                if spare:
                    self._idle -= 1
            if not spare:
                self._add_worker(idle=False)
            self._connections.put(conn)

    def _work(self) -> None:
        while True:
            conn = self._connections.get()
            if conn is None:
                return
            try:
                self._serve(conn)
            except (OSError, ValueError, wire.ChunkedEncodingError):
                pass  # a runtime killed mid-request; nothing to record
            finally:
                with self._lock:
                    self._open.discard(conn)
                    self._idle += 1
                conn.close()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while not self._stopping.is_set():
            request_line = reader.readline(65536)
            if not request_line:
                return
            method, path = request_line.split()[:2]
            headers = _read_headers(reader)
            if method == b"GET":
                if not self._next(conn):
                    return
            else:
                self._post(conn, reader, path.decode(), headers)

    def _next(self, conn: socket.socket) -> bool:
        with self._next_seen:
            self.next_times.append(time.monotonic())
            self.waiting += 1
            self._next_seen.notify_all()
        self.first_next.set()
        try:
            while True:
                try:
                    request_id, body = self._events.get(timeout=0.02)
                    break
                except queue.Empty:
                    if self._stopping.is_set():
                        return False
        finally:
            with self._next_seen:
                self.waiting -= 1
        head = (
            f"HTTP/1.1 200 OK\r\n{wire.HEADER_REQUEST_ID}: {request_id}\r\n"
            f"{wire.HEADER_DEADLINE_MS}: {int(time.time() * 1000) + 300_000}\r\n"
            f"{wire.HEADER_FUNCTION_ARN}: arn:aws:lambda:us-east-1:123456789012:function:bench\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self._results[request_id].dispatched = time.monotonic()
        conn.sendall(head + body)
        return True

    def _post(self, conn: socket.socket, reader: BufferedReader, path: str, headers: dict[str, str]) -> None:
        result = self._results[path.split("/")[4]]
        result.path = path
        if "chunked" in headers.get("transfer-encoding", ""):
            for chunk in wire.iter_chunked(reader):
                result.chunk_times.append(time.monotonic())
                result.chunks.append(chunk)
        else:
            result.chunks.append(reader.read(int(headers.get("content-length", "0"))))
            result.chunk_times.append(time.monotonic())
        result.finished = time.monotonic()
        conn.sendall(_ACCEPTED)
        result.done.set()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the peer
        sock.shutdown(socket.SHUT_RDWR)


def _read_headers(reader: BufferedReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = reader.readline(65536)
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip().lower()
