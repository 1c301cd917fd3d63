"""The emulator's HTTP servers: a peer hanging up is logged quietly, a handler bug loudly, a burst of
connections is queued."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from emulator.http_base import EmulatorHTTPServer, NoDelayHandler

WAIT_S = 10.0


class _Handler(NoDelayHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path == "/bug":
            raise ValueError("a handler bug")
        # "/late": answer only after the test has reset the connection.
        self.server.client_gone.wait(WAIT_S)
        for _ in range(50):
            self.wfile.write(b"x" * 65536)


class _Server(EmulatorHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.client_gone = threading.Event()


@pytest.fixture
def server() -> Iterator[_Server]:
    server = _Server()
    thread = server.serve_in_thread("test-http-base")
    try:
        yield server
    finally:
        server.client_gone.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=WAIT_S)


def _send(server: _Server, path: str, *, reset: bool) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        if reset:
            # Linger 0: close() sends RST, so the server's next write fails like a vanished client's.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.recv(1)  # wait for the server to drop the connection after its error


def _wait_for_record(caplog: pytest.LogCaptureFixture, text: str) -> logging.LogRecord:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        for record in caplog.records:
            if text in record.getMessage():
                return record
        time.sleep(0.02)
    raise AssertionError(f"no log record containing {text!r}: {caplog.text}")


def test_client_hang_up_is_a_debug_line_without_traceback(
    server: _Server, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator")
    _send(server, "/late", reset=True)
    server.client_gone.set()
    record = _wait_for_record(caplog, "ended:")
    assert record.levelno == logging.DEBUG and record.exc_info is None
    assert "Exception occurred during processing" not in capfd.readouterr().err


def test_handler_bug_is_logged_as_an_error_with_its_traceback(
    server: _Server, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="emulator")
    _send(server, "/bug", reset=False)
    record = _wait_for_record(caplog, "unexpected error serving")
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert "Exception occurred during processing" not in capfd.readouterr().err


def test_a_burst_of_connections_is_queued_not_dropped() -> None:
    """40 clients connecting while the server is not yet accepting all complete their handshake at once
    (a backlog of 5 would leave most waiting for a 1 s TCP retransmission)."""
    server = EmulatorHTTPServer(("127.0.0.1", 0), _Handler)
    clients: list[socket.socket] = []
    try:
        started = time.monotonic()
        for _ in range(40):
            clients.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        assert time.monotonic() - started < 0.5
    finally:
        for client in clients:
            client.close()
        server.server_close()
