"""Turns an invocation's response events into the HTTP reply a Function URL client sees, streamed
chunk by chunk (RESPONSE_STREAM) or collected and shaped (BUFFERED)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from streaming_runtime import wire

from emulator import render
from emulator.invocations import (
    TIMED_OUT,
    BodyChunk,
    FunctionFailed,
    Invocation,
    ResponseEnd,
    ResponseEvent,
    ResponseStart,
)

log = logging.getLogger("emulator")

# Hop-by-hop and framing headers the front owns; a function cannot set them.
RESERVED_HEADERS = frozenset(
    {"connection", "content-length", "keep-alive", "transfer-encoding", "set-cookie"}
)
# The error type of a stream whose http-integration-response prelude cannot be read.
INVALID_PRELUDE = "Runtime.InvalidPrelude"
# Extra wait beyond the function timeout before the front gives up on a silent sandbox.
_SAFETY_MARGIN_S = 30.0


def next_event(invocation: Invocation) -> ResponseEvent:
    """The next event; the sandbox's timer enforces the timeout, this is only a backstop."""
    event = invocation.next_event(timeout=invocation.timeout_s + _SAFETY_MARGIN_S)
    if event is None:
        invocation.fail(FunctionFailed(TIMED_OUT, "the runtime stopped answering"))
        event = invocation.next_event(timeout=1.0) or FunctionFailed(TIMED_OUT, "no answer")
    return event


def send_failure(handler: BaseHTTPRequestHandler, invocation: Invocation, failure: FunctionFailed) -> None:
    """502 JSON with the function's error type and message (the payload only goes to the log), as a
    Function URL answers a function that failed before its first byte."""
    log.info("[%s] %s: %s", invocation.request_id, failure.error_type, failure.message)
    if failure.payload:
        log.info("[%s] error payload: %s", invocation.request_id, json.dumps(dict(failure.payload)))
    render.send_error(handler, 502, failure.error_type, failure.message, request_id=invocation.request_id)


# How a front answers a function that failed before its first byte (send_failure: as a Function URL).
FailureSender = Callable[[BaseHTTPRequestHandler, Invocation, FunctionFailed], None]


@dataclass(frozen=True, slots=True)
class PreludeRules:
    """How a front reads an http-integration-response prelude. A Function URL: no size limit, and the
    `headers`, `cookies` and `statusCode` keys. API Gateway REST also takes `multiValueHeaders` (which
    win over `headers` for a name in both) and needs the delimiter within the first `max_bytes`."""

    max_bytes: int | None = None
    multi_value_headers: bool = False


FUNCTION_URL_PRELUDE = PreludeRules()


def multi_value_headers(prelude_json: bytes) -> dict[str, list[str]]:
    """The `multiValueHeaders` of a prelude's JSON (already known to be a valid prelude object)."""
    value = json.loads(prelude_json.decode("utf-8")).get("multiValueHeaders") or {}
    if not isinstance(value, dict) or not all(
        isinstance(name, str) and isinstance(values, list) and all(isinstance(v, str) for v in values)
        for name, values in value.items()
    ):
        raise wire.PreludeError("prelude multiValueHeaders must be an object of lists of strings")
    return value


class Caller:
    """The HTTP client a streamed reply goes to: once it has gone, writes stop quietly and the relay
    drains the runtime's stream instead, so the runtime finishes and serves the next invocation."""

    __slots__ = ("gone", "handler", "request_id")

    def __init__(self, handler: BaseHTTPRequestHandler, request_id: str) -> None:
        self.handler, self.request_id = handler, request_id
        self.gone = False

    def end_headers(self) -> None:
        try:
            self.handler.end_headers()
        except OSError:
            self.left()

    def send(self, data: bytes) -> None:
        if self.gone:
            return
        try:
            self.handler.wfile.write(data)
        except OSError:
            self.left()

    def left(self) -> None:
        if not self.gone:
            log.info("[%s] client disconnected; draining the runtime's stream", self.request_id)
        self.gone = True
        self.handler.close_connection = True


class StreamRelay:
    """Relays one invocation to the client as chunked HTTP, one write per chunk, and drains the
    rest if the client goes away so the runtime can finish."""

    def __init__(
        self,
        handler: BaseHTTPRequestHandler,
        invocation: Invocation,
        *,
        on_failure: FailureSender = send_failure,
        prelude_rules: PreludeRules = FUNCTION_URL_PRELUDE,
    ) -> None:
        self.handler = handler
        self.invocation = invocation
        self.on_failure = on_failure
        self.rules = prelude_rules
        self.caller = Caller(handler, invocation.request_id)

    def run(self) -> None:
        first = next_event(self.invocation)
        if not isinstance(first, ResponseStart):
            failure = (
                first
                if isinstance(first, FunctionFailed)
                else FunctionFailed("Runtime.Unknown", "no response")
            )
            self.on_failure(self.handler, self.invocation, failure)
            return
        if first.content_type.split(";")[0].strip().lower() == wire.CONTENT_TYPE_HTTP_INTEGRATION:
            started = self._start_with_prelude()
        else:
            self._send_head(200, {"content-type": first.content_type}, ())
            started = True
        if started:
            self._relay_body()

    def _start_with_prelude(self) -> bool:
        buffer = b""
        while True:
            event = next_event(self.invocation)
            if isinstance(event, BodyChunk):
                buffer += event.data
                try:
                    split = wire.split_prelude(buffer)
                    multi = self._multi_value_headers(buffer, split is not None)
                except wire.PreludeError as exc:
                    return self._bad_prelude(str(exc))
                if split is not None:
                    prelude, rest = split
                    self._send_head(prelude.status_code, prelude.headers, prelude.cookies, multi)
                    self._write(rest)
                    return True
            elif isinstance(event, ResponseEnd):
                return self._prelude_only(buffer, event)
            elif isinstance(event, FunctionFailed):
                self.on_failure(self.handler, self.invocation, event)
                return False

    def _prelude_only(self, buffer: bytes, end: ResponseEnd) -> bool:
        """The stream ended before the delimiter: the bytes so far must be the whole prelude."""
        try:
            prelude = wire.decode_prelude_json(buffer) if buffer.strip() else wire.Prelude()
            multi = self._multi_value_headers(buffer + wire.PRELUDE_DELIMITER, buffer.strip() != b"")
        except wire.PreludeError as exc:
            return self._bad_prelude(str(exc))
        self._send_head(prelude.status_code, prelude.headers, prelude.cookies, multi)
        self._finish(end)
        return False

    def _multi_value_headers(self, buffer: bytes, complete: bool) -> Mapping[str, Sequence[str]]:
        """Checks the prelude's size as the rules say, and reads its multiValueHeaders once it is
        `complete` (the rules permitting)."""
        end = buffer.find(wire.PRELUDE_DELIMITER) if complete else len(buffer)
        limit = self.rules.max_bytes
        if limit is not None and end + (len(wire.PRELUDE_DELIMITER) if complete else 0) > limit:
            raise wire.PreludeError(f"the prelude and its delimiter must fit in the first {limit} bytes")
        if not (complete and self.rules.multi_value_headers):
            return {}
        return multi_value_headers(buffer[:end])

    def _bad_prelude(self, message: str) -> bool:
        failure = FunctionFailed(INVALID_PRELUDE, f"invalid http-integration-response prelude: {message}")
        self.on_failure(self.handler, self.invocation, failure)
        self._drain()
        return False

    def _relay_body(self) -> None:
        while True:
            event = next_event(self.invocation)
            if isinstance(event, BodyChunk):
                self._write(event.data)
            elif isinstance(event, ResponseEnd | FunctionFailed):
                self._finish(event)
                return

    def _finish(self, event: ResponseEnd | FunctionFailed) -> None:
        request_id = self.invocation.request_id
        if isinstance(event, FunctionFailed):
            log.warning("[%s] stream ended by %s: %s", request_id, event.error_type, event.message)
        elif event.error is not None:
            message = event.error.body.get("errorMessage", event.error.body.get("raw", ""))
            log.warning("[%s] mid-stream error %s: %s", request_id, event.error.error_type, message)
        elif event.truncated:
            log.warning("[%s] Runtime.TruncatedResponse: the runtime's stream was cut off", request_id)
        # Function URL clients see a normal end of the body whatever happened (as on AWS).
        self.caller.send(wire.encode_last_chunk())

    def _drain(self) -> None:
        while not isinstance(next_event(self.invocation), ResponseEnd | FunctionFailed):
            pass

    def _send_head(
        self,
        status: int,
        headers: Mapping[str, str],
        cookies: Sequence[str],
        multi: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        handler = self.handler
        handler.send_response(status)
        names = set()
        overridden = {name.lower() for name in multi or {}}
        pairs = [(k, v) for k, v in headers.items() if k.lower() not in overridden]
        pairs += [(name, value) for name, values in (multi or {}).items() for value in values]
        for name, value in pairs:
            if name.lower() not in RESERVED_HEADERS:
                handler.send_header(name, value)
                names.add(name.lower())
        if "content-type" not in names:
            handler.send_header("Content-Type", wire.CONTENT_TYPE_OCTET_STREAM)
        for cookie in cookies:
            handler.send_header("Set-Cookie", cookie)
        handler.send_header("x-amzn-RequestId", self.invocation.request_id)
        handler.send_header("Transfer-Encoding", "chunked")
        self.caller.end_headers()

    def _write(self, data: bytes) -> None:
        if data:
            self.caller.send(wire.encode_chunk(data))
