"""Shared HTTP/1.1 server plumbing: threaded servers with TCP_NODELAY and logging instead of print."""

from __future__ import annotations

import logging
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger("emulator")


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded server whose handler threads never keep the process alive and whose errors are logged."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of clients (or of Managed Instances workers
    # posting their responses) would lose connections to a 1 s TCP retransmission.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Called from inside the handler thread's `except`: quiet for a peer that left, loud for bugs."""
        if isinstance(sys.exception(), ConnectionError):
            # A peer vanishing is routine (a runtime killed on timeout, a client closing a tab,
            # boto3 giving up on a slow stand-in reply): not worth socketserver's stderr traceback.
            log.debug("connection from %s ended: %s", client_address, sys.exception())
        else:
            log.exception("unexpected error serving %s", client_address)

    def serve_in_thread(self, name: str) -> threading.Thread:
        """Start serve_forever in a daemon thread and return it."""
        thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        thread.start()
        return thread

    @property
    def port(self) -> int:
        """The bound port (useful when bound to port 0)."""
        return int(self.server_address[1])


class NoDelayHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 handler that disables Nagle so small chunks are not held back by delayed ACKs."""

    protocol_version = "HTTP/1.1"
    server_version = "LocalLambda/1.0"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def peer_alive(self) -> bool:
        """Whether the client still holds the connection open. Meant for a request that long-polls: its
        client has nothing more to send, so a readable socket that peeks empty (or fails) was hung up on."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return not readable or bool(self.connection.recv(1, socket.MSG_PEEK))
        except (OSError, ValueError):
            return False
