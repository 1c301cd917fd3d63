"""Every JSON reply the emulator renders: Function URL errors, Runtime API errors and acknowledgements."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any


def error_document(error_type: str, message: str) -> dict[str, Any]:
    """The Function URL error body: {"error": {"type", "message"}} (never a stack trace)."""
    return {"error": {"type": error_type, "message": message}}


def error_body(error_type: str, message: str) -> bytes:
    """The Function URL error body as bytes, for replies assembled elsewhere (BUFFERED mode)."""
    return _encode(error_document(error_type, message))


def _encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    document: Any,
    *,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> None:
    """Send a complete JSON reply with Content-Length."""
    body = _encode(document)
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in extra_headers:
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def send_error(
    handler: BaseHTTPRequestHandler,
    status: int,
    error_type: str,
    message: str,
    *,
    request_id: str | None = None,
) -> None:
    """A Function URL error reply; `request_id` adds x-amzn-RequestId as Lambda does."""
    extra = (("x-amzn-RequestId", request_id),) if request_id else ()
    send_json(handler, status, error_document(error_type, message), extra_headers=extra)


def send_runtime_api_error(
    handler: BaseHTTPRequestHandler, status: int, error_type: str, message: str
) -> None:
    """A Runtime API error reply in the shape the RIE uses: {"errorType","errorMessage"}."""
    send_json(handler, status, {"errorType": error_type, "errorMessage": message})


def send_accepted(handler: BaseHTTPRequestHandler) -> None:
    """The Runtime API's 202 {"status":"OK"}."""
    send_json(handler, 202, {"status": "OK"})
