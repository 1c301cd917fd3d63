"""BUFFERED invoke mode: collect the whole response, then shape it as Function URLs do."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass

from streaming_runtime import wire

from emulator import render
from emulator.invocations import BodyChunk, FunctionFailed, Invocation, ResponseEnd, ResponseStart
from emulator.relay import next_event

log = logging.getLogger("emulator")


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete HTTP reply (BUFFERED mode)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[str, ...] = ()
    body: bytes = b""
    content_type: str = wire.CONTENT_TYPE_JSON


def collect(invocation: Invocation) -> Reply:
    """BUFFERED mode: wait for the whole response, then shape it as Function URLs do."""
    first = next_event(invocation)
    if isinstance(first, FunctionFailed):
        return _failure_reply(invocation, first)
    if not isinstance(first, ResponseStart):
        return _failure_reply(invocation, FunctionFailed("Runtime.Unknown", "no response"))
    parts: list[bytes] = []
    while True:
        event = next_event(invocation)
        if isinstance(event, BodyChunk):
            parts.append(event.data)
        elif isinstance(event, FunctionFailed):
            return _failure_reply(invocation, event)
        elif isinstance(event, ResponseEnd):
            if event.error is not None:
                message = str(event.error.body.get("errorMessage", ""))
                return _failure_reply(
                    invocation, FunctionFailed(event.error.error_type, message, event.error.body)
                )
            if event.truncated:
                return _failure_reply(
                    invocation, FunctionFailed("Runtime.TruncatedResponse", "response cut off")
                )
            return shape_buffered(first.content_type, b"".join(parts))


def _failure_reply(invocation: Invocation, failure: FunctionFailed) -> Reply:
    log.info("[%s] %s: %s", invocation.request_id, failure.error_type, failure.message)
    return _error_reply(failure.error_type, failure.message)


def _error_reply(error_type: str, message: str) -> Reply:
    """502, as a Function URL answers when the function's reply cannot be used."""
    return Reply(status=502, body=render.error_body(error_type, message))


def shape_buffered(content_type: str, body: bytes) -> Reply:
    """Apply a prelude, or interpret a payload-2.0 response object, or pass the body through."""
    media_type = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media_type == wire.CONTENT_TYPE_HTTP_INTEGRATION:
        try:
            split = wire.split_prelude(body)
            prelude, rest = split if split is not None else (wire.decode_prelude_json(body), b"")
        except wire.PreludeError as exc:
            return _error_reply("Runtime.InvalidPrelude", f"invalid http-integration-response prelude: {exc}")
        headers = tuple((k, v) for k, v in prelude.headers.items() if k.lower() != "content-type")
        ctype = next(
            (v for k, v in prelude.headers.items() if k.lower() == "content-type"),
            wire.CONTENT_TYPE_OCTET_STREAM,
        )
        return Reply(prelude.status_code, headers, tuple(prelude.cookies), rest, ctype)
    if media_type in (wire.CONTENT_TYPE_JSON, "application/unknown", ""):
        return _interpret_json(body, content_type or wire.CONTENT_TYPE_JSON)
    return Reply(status=200, body=body, content_type=content_type)


def _interpret_json(body: bytes, content_type: str) -> Reply:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return Reply(status=200, body=body, content_type=content_type)
    if not isinstance(document, dict) or "statusCode" not in document:
        return Reply(status=200, body=body, content_type=wire.CONTENT_TYPE_JSON)
    headers = {str(k): str(v) for k, v in (document.get("headers") or {}).items()}
    raw_body = document.get("body") or ""
    if not isinstance(raw_body, str):
        raw_body = json.dumps(raw_body)
    try:
        data = base64.b64decode(raw_body) if document.get("isBase64Encoded") else raw_body.encode("utf-8")
        status = int(document["statusCode"])
    except (binascii.Error, ValueError, TypeError):
        return _error_reply("Runtime.InvalidResponse", "malformed response object")
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), wire.CONTENT_TYPE_JSON)
    rest = tuple((k, v) for k, v in headers.items() if k.lower() != "content-type")
    cookies = tuple(str(c) for c in document.get("cookies") or ())
    return Reply(status, rest, cookies, data, ctype)
