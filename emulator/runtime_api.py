"""The Lambda Runtime API server for one execution environment: one route table, one method per endpoint."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import BinaryIO, ClassVar, cast

from streaming_runtime import wire

from emulator import render
from emulator.faults import FaultInjector
from emulator.http_base import EmulatorHTTPServer
from emulator.invocations import (
    FunctionFailed,
    InvalidResponseMode,
    Invocation,
    InvokeTimeout,
    PayloadTooLarge,
    RuntimeApiRequestError,
    TruncatedRequest,
)
from emulator.request_body import RequestBodyHandler
from emulator.slot import EnvironmentSlot

log = logging.getLogger("emulator")

_ID = r"(?P<request_id>[^/]+)"
# Endpoint method -> the name a fault targets it by (emulator.faults.ENDPOINTS).
_FAULT_ENDPOINTS = {
    "next_invocation": "next",
    "post_response": "response",
    "post_error": "error",
    "post_init_error": "init-error",
}


class RuntimeApiServer(EmulatorHTTPServer):
    """Serves the Runtime API on 127.0.0.1 for the runtime process of one environment."""

    def __init__(
        self,
        *,
        slot: EnvironmentSlot,
        function_arn: str,
        host: str = "127.0.0.1",
        faults: FaultInjector | None = None,
    ) -> None:
        self.slot = slot
        self.function_arn = function_arn
        self.host = host
        self.faults = faults
        super().__init__((host, 0), RuntimeApiHandler)

    @property
    def address(self) -> str:
        """The host:port value for AWS_LAMBDA_RUNTIME_API."""
        return f"{self.host}:{self.port}"


class RuntimeApiHandler(RequestBodyHandler):
    """Routes each Runtime API request to its endpoint method."""

    server: RuntimeApiServer
    ROUTES: ClassVar[list[tuple[str, re.Pattern[str], str]]] = [
        ("GET", re.compile(re.escape(wire.PATH_NEXT) + "$"), "next_invocation"),
        ("POST", re.compile(re.escape(wire.PATH_PREFIX) + f"/invocation/{_ID}/response$"), "post_response"),
        ("POST", re.compile(re.escape(wire.PATH_PREFIX) + f"/invocation/{_ID}/error$"), "post_error"),
        ("POST", re.compile(re.escape(wire.PATH_INIT_ERROR) + "$"), "post_init_error"),
    ]

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._route()

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._route()

    def _route(self) -> None:
        self._body_consumed = False
        path = self.path.split("?", 1)[0]
        for method, pattern, name in self.ROUTES:
            match = pattern.match(path)
            if match and method == self.command:
                if self._inject_fault(name):
                    return
                endpoint: Callable[..., None] = getattr(self, name)
                try:
                    endpoint(**match.groupdict())
                except RuntimeApiRequestError as fault:
                    self._drain_body()
                    render.send_runtime_api_error(self, fault.status, fault.error_type, str(fault))
                return
        self._drain_body()
        render.send_runtime_api_error(self, 404, "NotFound", f"no route for {self.command} {path}")

    def _inject_fault(self, name: str) -> bool:
        """Answer with an armed fault instead of serving the endpoint (--fault-injection only)."""
        faults = self.server.faults
        fault = faults.take(_FAULT_ENDPOINTS[name]) if faults is not None else None
        if fault is None:
            return False
        log.warning("fault injected: Runtime API %s %s answered %d", self.command, self.path, fault.status)
        self._drain_body()
        self.close_connection = True
        render.send_runtime_api_error(self, fault.status, "InjectedFault", "fault injected by the emulator")
        return True

    # --- endpoints -------------------------------------------------------------------------------

    def next_invocation(self) -> None:
        invocation = self.server.slot.wait_next(peer_alive=self.peer_alive)
        if invocation is None:
            self.close_connection = True
            render.send_runtime_api_error(self, 500, "ServiceShutdown", "the emulator is shutting down")
            return
        self.send_response(200)
        self.send_header(wire.HEADER_REQUEST_ID, invocation.request_id)
        self.send_header(wire.HEADER_DEADLINE_MS, str(invocation.deadline_ms))
        self.send_header(wire.HEADER_FUNCTION_ARN, self.server.function_arn)
        self.send_header(wire.HEADER_TRACE_ID, invocation.trace_id)
        self.send_header(wire.HEADER_INVOCATION_ID, invocation.invocation_id)
        self.send_header("Content-Type", wire.CONTENT_TYPE_JSON)
        self.send_header("Content-Length", str(len(invocation.payload)))
        self.end_headers()
        self.wfile.write(invocation.payload)

    def post_response(self, request_id: str) -> None:
        mode = self.headers.get(wire.HEADER_RESPONSE_MODE)
        invocation = self.server.slot.find(request_id)
        content_type = self.headers.get("Content-Type") or wire.CONTENT_TYPE_OCTET_STREAM
        if mode is not None and mode.strip().lower() != wire.RESPONSE_MODE_STREAMING:
            invocation.fail(
                FunctionFailed("Runtime.InvalidResponseModeHeader", f"invalid response mode {mode!r}")
            )
            raise InvalidResponseMode(f"{wire.HEADER_RESPONSE_MODE}: {mode!r} is not 'streaming'")
        if mode is not None:
            self._stream_response(invocation, content_type)
        else:
            self._buffered_response(invocation, content_type)
        self._accept()

    def post_error(self, request_id: str) -> None:
        invocation = self.server.slot.find(request_id)
        payload = self._read_error_payload()
        header_type = self.headers.get(wire.HEADER_ERROR_TYPE) or "Runtime.Unknown"
        failure = _failure_from_payload(payload, default_type=header_type)
        invocation.post_error(failure)
        log.info("[%s] function error %s: %s", request_id, failure.error_type, failure.message)
        log.debug("[%s] error payload %s", request_id, json.dumps(payload))
        self._accept()

    def post_init_error(self) -> None:
        payload = self._read_error_payload()
        header_type = self.headers.get(wire.HEADER_ERROR_TYPE) or "Runtime.Unknown"
        failure = _failure_from_payload(payload, default_type=header_type)
        self.server.slot.record_init_error(failure)
        log.error("init error %s: %s", failure.error_type, failure.message)
        log.debug("init error payload %s", json.dumps(payload))
        self._accept()

    # --- bodies ----------------------------------------------------------------------------------

    def _stream_response(self, invocation: Invocation, content_type: str) -> None:
        invocation.begin_response(content_type=content_type, streaming=True)
        self._body_consumed = True
        declared = ", ".join(self.headers.get_all("Trailer") or [])
        log.debug("[%s] streaming response, trailers declared: %s", invocation.request_id, declared)
        if not self._is_chunked():
            # A streamed response without chunked coding is still a body of known length.
            invocation.send_chunk(self.rfile.read(self._content_length()))
            invocation.end_response()
            return
        body = wire.iter_chunked(cast(BinaryIO, self.rfile))
        try:
            for chunk in body:
                invocation.send_chunk(chunk)
        except InvokeTimeout:
            # Read the rest so the runtime (still alive in Managed Instances mode) gets our 410.
            self._discard_chunks(body)
            raise
        except (wire.ChunkedEncodingError, OSError) as exc:
            log.warning("[%s] streamed response cut off: %s", invocation.request_id, exc)
            invocation.end_response(truncated=True)
            self.close_connection = True
            raise TruncatedRequest("the chunked body ended before its last chunk") from None
        invocation.end_response(error=wire.decode_error_trailers(body.trailers))

    def _buffered_response(self, invocation: Invocation, content_type: str) -> None:
        data = self._read_limited_body(limit=wire.MAX_BUFFERED_RESPONSE_BYTES)
        if data is None:
            limit = wire.MAX_BUFFERED_RESPONSE_BYTES
            message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
            invocation.fail(FunctionFailed("Function.ResponseSizeTooLarge", message))
            raise PayloadTooLarge(f"response over {wire.MAX_BUFFERED_RESPONSE_BYTES} bytes")
        invocation.begin_response(content_type=content_type, streaming=False)
        invocation.send_chunk(data)
        invocation.end_response()

    def _read_error_payload(self) -> dict[str, object]:
        data = self._read_limited_body(limit=wire.MAX_BUFFERED_RESPONSE_BYTES) or b""
        try:
            payload = json.loads(data.decode("utf-8")) if data else {}
        except (UnicodeDecodeError, ValueError):
            payload = {"errorMessage": data.decode("utf-8", "replace")}
        return payload if isinstance(payload, dict) else {"errorMessage": str(payload)}

    def _accept(self) -> None:
        render.send_accepted(self)


def _failure_from_payload(payload: dict[str, object], *, default_type: str) -> FunctionFailed:
    error_type = str(payload.get("errorType") or default_type)
    message = str(payload.get("errorMessage") or "")
    return FunctionFailed(error_type=error_type, message=message, payload=payload)
