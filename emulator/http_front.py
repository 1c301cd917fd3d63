"""What both HTTP fronts (the Function URL and the emulated REST API) share: the /_emulator/ pages,
reading request bodies, and running one invocation to its streamed or buffered reply."""

from __future__ import annotations

import contextlib
import json
import logging
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from streaming_runtime import wire

from emulator import render
from emulator.buffered import Reply, collect
from emulator.faults import FaultInjector, FaultSpecError, parse_fault
from emulator.http_base import NoDelayHandler
from emulator.pool import ThrottledError
from emulator.relay import (
    FUNCTION_URL_PRELUDE,
    RESERVED_HEADERS,
    FailureSender,
    PreludeRules,
    StreamRelay,
    send_failure,
)
from emulator.url_event import HttpRequest

if TYPE_CHECKING:
    from emulator.function_url import FunctionUrlServer

log = logging.getLogger("emulator")

MAX_REQUEST_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
CHAT_PAGE = Path(__file__).resolve().parent / "chat.html"
BUFFERED_PREFIX = "/_emulator/buffered/"
_FAULTS_PATH = "/_emulator/faults"
_MAX_DISCARD_BYTES = 4 * MAX_REQUEST_BYTES


class RequestTooLargeError(Exception):
    """The client's body exceeds the invocation payload limit."""


class FrontHandler(NoDelayHandler):
    """The emulator's own paths and the plumbing of an invocation; a front says, in `invoke_function`,
    how a request becomes an event (and what it refuses first)."""

    server: FunctionUrlServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET  # noqa: N815

    def invoke_function(self, target: str, *, buffered: bool) -> None:
        """Serve `target` (path and query as sent) with the function."""
        raise NotImplementedError

    def http_request(self, target: str, headers: list[tuple[str, str]], body: bytes) -> HttpRequest:
        """The request as an event builder reads it: method, target, headers, body, peer and protocol."""
        return HttpRequest(
            method=self.command,
            target=target,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
            server_port=self.server.port,
            protocol=self.request_version,
        )

    def chat_page_bytes(self, page: bytes) -> bytes:
        """The chat page as this front serves it (unchanged by default)."""
        return page

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, unknown method, header limits) as JSON too."""
        try:
            status = HTTPStatus(code)
            error_type, default = status.phrase.replace(" ", "").replace("-", ""), status.phrase
        except ValueError:
            error_type, default = "BadRequest", "bad request"
        self.close_connection = True
        render.send_error(self, code, error_type, (message or default)[:200])
        self._drain_unread()

    def _drain_unread(self) -> None:
        """Read (a bounded amount of) what the client is still sending before the connection closes:
        closing with unread bytes resets it, and the client would lose the error reply."""
        with contextlib.suppress(OSError, ValueError):
            self.wfile.flush()
            self.connection.settimeout(0.2)
            for _ in range(_MAX_DISCARD_BYTES // 65536):
                if not self.rfile.read1(65536):
                    break

    def _dispatch(self) -> None:
        if self.command == "HEAD":
            self.close_connection = True  # a HEAD reply has no body framing the client would read
        path = self.path.split("?", 1)[0]
        if path == "/_emulator" or path.startswith("/_emulator/"):
            self._emulator_route(path)
        else:
            self.invoke_function(self.path, buffered=self.server.config.invoke_mode == "BUFFERED")

    def _emulator_route(self, path: str) -> None:
        if path == "/_emulator/health" and self.command == "GET":
            self.health()
        elif path == "/_emulator/metrics" and self.command == "GET":
            render.send_json(self, 200, self.server.metrics.snapshot())
        elif path in ("/_emulator", "/_emulator/") and self.command == "GET":
            self.chat_page()
        elif path.startswith(BUFFERED_PREFIX) and self.command == "POST":
            self.invoke_function("/" + self.path[len(BUFFERED_PREFIX) :], buffered=True)
        elif path == _FAULTS_PATH and self.server.faults is not None:
            self.faults(self.server.faults)
        else:
            self._discard_body()
            render.send_error(self, 404, "NotFound", f"no emulator page at {self.command} {path}")

    # --- /_emulator/ -------------------------------------------------------------------------------

    def health(self) -> None:
        config = self.server.config
        document = {
            "status": "ok",
            "front": config.front,
            "invokeMode": config.invoke_mode,
            "auth": config.auth,
            "maxConcurrency": config.max_concurrency,
            **self.server.pool.health(),
        }
        render.send_json(self, 200, document)

    def faults(self, injector: FaultInjector) -> None:
        """POST arms a fault, GET shows the armed ones, DELETE disarms all (see emulator/faults.py)."""
        if self.command == "POST":
            try:
                body = self._read_body()
                injector.arm(parse_fault(body))
            except RequestTooLargeError:
                render.send_error(self, 413, "RequestEntityTooLargeException", "fault body too large")
                return
            except (FaultSpecError, wire.ChunkedEncodingError, ValueError) as exc:
                render.send_error(self, 400, "InvalidFault", str(exc))
                return
            log.warning("fault armed: %s", json.dumps(injector.state()))
        elif self.command == "DELETE":
            self._discard_body()
            injector.clear()
        elif self.command != "GET":
            self._discard_body()
            message = f"{self.command} is not allowed on {_FAULTS_PATH}"
            render.send_error(self, 405, "MethodNotAllowed", message)
            return
        render.send_json(self, 200, injector.state())

    def chat_page(self) -> None:
        try:
            page = self.chat_page_bytes(CHAT_PAGE.read_bytes())
        except OSError:
            render.send_error(self, 404, "NotFound", "emulator/chat.html is not installed")
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    # --- the function ------------------------------------------------------------------------------

    def run_invocation(
        self,
        payload: bytes,
        *,
        request_id: str,
        buffered: bool,
        on_failure: FailureSender = send_failure,
        prelude_rules: PreludeRules = FUNCTION_URL_PRELUDE,
    ) -> None:
        """Invoke the function with `payload` and relay its reply (`send_throttled` when no runtime can
        take it). `on_failure` answers a function that failed before its first byte."""
        config = self.server.config
        try:
            sandbox = self.server.pool.acquire(timeout=config.timeout * 2 + 10)
        except ThrottledError as exc:
            self.send_throttled(request_id, str(exc))
            return
        invocation = sandbox.invoke(payload, request_id=request_id)
        if buffered:
            self._send_reply(collect(invocation), request_id)
        else:
            StreamRelay(self, invocation, on_failure=on_failure, prelude_rules=prelude_rules).run()

    def send_throttled(self, request_id: str, reason: str) -> None:
        """No runtime is free and the queue is full: Lambda's 429."""
        render.send_error(
            self, 429, "TooManyRequestsException", f"Rate Exceeded: {reason}", request_id=request_id
        )

    def _send_reply(self, reply: Reply, request_id: str) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name.lower() not in RESERVED_HEADERS:
                self.send_header(name, value)
        for cookie in reply.cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    # --- request bodies ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: list[bytes] = []
            size = 0
            for chunk in wire.iter_chunked(cast(BinaryIO, self.rfile)):
                size += len(chunk)
                if size > MAX_REQUEST_BYTES:
                    self.close_connection = True
                    raise RequestTooLargeError
                parts.append(chunk)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            if length <= _MAX_DISCARD_BYTES:
                # Read what the client is sending so it can see the 413 instead of a reset.
                while length > 0 and (data := self.rfile.read(min(length, 1 << 16))):
                    length -= len(data)
            raise RequestTooLargeError
        return self.rfile.read(length) if length else b""

    def _discard_body(self) -> None:
        try:
            self._read_body()
        except (RequestTooLargeError, wire.ChunkedEncodingError, ValueError):
            self.close_connection = True
