"""How the Lambda API answers one invocation: InvokeWithResponseStream relays the runtime's stream as
event-stream messages (one `PayloadChunk` per chunk the runtime sends, written at once, then one
`InvokeComplete`), and Invoke collects the whole response and sends it buffered.

Failures, as `emulator/lambda_api.py`'s docstring explains: a streamed invocation always answers 200;
a failure before the first byte is an `InvokeComplete` with no chunk before it, a failure after it
ends the chunks with one; `ErrorCode` is the error type, `ErrorDetails` the error message (never a
stack trace). A buffered one answers 200 with `X-Amz-Function-Error: Unhandled` and the error JSON.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from streaming_runtime import wire

from emulator.invocations import (
    BodyChunk,
    FunctionFailed,
    Invocation,
    ResponseEnd,
    ResponseEvent,
    ResponseStart,
)
from emulator.lambda_api_responses import EXECUTED_VERSION, invoke_complete, payload_chunks
from emulator.relay import Caller, next_event

log = logging.getLogger("emulator")

LOG_TAIL_WAIT_S = 2.0  # how long LogResult waits for the invocation's END and REPORT lines
# The Content-Type of a streamed reply whose function failed before sending one.
NO_STREAM_CONTENT_TYPE = "application/json"
TRUNCATED = "Runtime.TruncatedResponse"
FUNCTION_ERROR = "Unhandled"  # X-Amz-Function-Error for every function error


def end_failure(end: ResponseEnd) -> FunctionFailed | None:
    """The failure a response's end carries (error trailers, a cut-off stream), None for a clean end."""
    if end.error is not None:
        body = end.error.body
        message = str(body.get("errorMessage", body.get("raw", "")))
        return FunctionFailed(end.error.error_type, message, body)
    if end.truncated:
        return FunctionFailed(TRUNCATED, "the function's response stream was cut off")
    return None


def not_started(event: ResponseEvent | None) -> FunctionFailed:
    """The failure of an invocation whose first event is not the start of a response."""
    if isinstance(event, FunctionFailed):
        return event
    return FunctionFailed("Runtime.Unknown", "no response")


def error_document(failure: FunctionFailed) -> dict[str, object]:
    """The error JSON a buffered caller gets: what the runtime reported (as Lambda returns it), or
    `{"errorType", "errorMessage"}` for a failure the platform saw (timeout, crash)."""
    payload = dict(failure.payload)
    if "errorType" in payload or "errorMessage" in payload:
        return payload
    return {"errorType": failure.error_type, "errorMessage": failure.message}


class EventStreamRelay:
    """Relays one invocation as InvokeWithResponseStream's chunked event stream; if the caller goes away
    it drains the rest so the runtime can finish."""

    def __init__(self, handler: BaseHTTPRequestHandler, invocation: Invocation, *, tail_log: bool) -> None:
        self.handler = handler
        self.invocation = invocation
        self.tail_log = tail_log
        self.caller = Caller(handler, invocation.request_id)

    def run(self) -> None:
        first = next_event(self.invocation)
        if isinstance(first, ResponseStart):
            self._send_head(first.content_type)
            failure = self._relay_body()
        else:
            failure = not_started(first)
            request_id = self.invocation.request_id
            log.info("[%s] %s before the first byte: %s", request_id, failure.error_type, failure.message)
            self._send_head(NO_STREAM_CONTENT_TYPE)
        self._complete(failure)

    def _relay_body(self) -> FunctionFailed | None:
        while True:
            event = next_event(self.invocation)
            if isinstance(event, BodyChunk):
                for message in payload_chunks(event.data):
                    self.caller.send(wire.encode_chunk(message))
            elif isinstance(event, FunctionFailed):
                log.warning(
                    "[%s] stream ended by %s: %s", self.invocation.request_id, event.error_type, event.message
                )
                return event
            elif isinstance(event, ResponseEnd):
                failure = end_failure(event)
                if failure is not None:
                    log.warning(
                        "[%s] mid-stream error %s: %s",
                        self.invocation.request_id,
                        failure.error_type,
                        failure.message,
                    )
                return failure

    def _complete(self, failure: FunctionFailed | None) -> None:
        log_result = self.invocation.log.log_result(wait_s=LOG_TAIL_WAIT_S) if self.tail_log else None
        complete = invoke_complete(
            error_code=failure.error_type if failure is not None else None,
            error_details=failure.message if failure is not None else None,
            log_result=log_result,
        )
        self.caller.send(wire.encode_chunk(complete) + wire.encode_last_chunk())

    def _send_head(self, content_type: str) -> None:
        handler = self.handler
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("X-Amz-Executed-Version", EXECUTED_VERSION)
        handler.send_header("x-amzn-RequestId", self.invocation.request_id)
        handler.send_header("Transfer-Encoding", "chunked")
        self.caller.end_headers()


@dataclass(frozen=True, slots=True)
class BufferedReply:
    """Invoke's reply: the function's whole response and its Content-Type, or the failure instead."""

    body: bytes = b""
    content_type: str = wire.CONTENT_TYPE_JSON
    failure: FunctionFailed | None = None


def collect(invocation: Invocation) -> BufferedReply:
    """Wait for the whole response (at most Lambda's 6 MB for Invoke; the rest is read and dropped)."""
    first = next_event(invocation)
    if not isinstance(first, ResponseStart):
        return BufferedReply(failure=not_started(first))
    parts: list[bytes] = []
    size = 0
    while True:
        event = next_event(invocation)
        if isinstance(event, BodyChunk):
            size += len(event.data)
            if size <= wire.MAX_BUFFERED_RESPONSE_BYTES:
                parts.append(event.data)
        elif isinstance(event, FunctionFailed):
            return BufferedReply(failure=event)
        elif isinstance(event, ResponseEnd):
            failure = end_failure(event) or _too_large(size)
            if failure is not None:
                return BufferedReply(failure=failure)
            return BufferedReply(body=b"".join(parts), content_type=first.content_type)


def _too_large(size: int) -> FunctionFailed | None:
    """Invoke's response limit, as the Runtime API enforces it on a buffered response."""
    limit = wire.MAX_BUFFERED_RESPONSE_BYTES
    if size <= limit:
        return None
    message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
    return FunctionFailed("Function.ResponseSizeTooLarge", message)


def send_buffered(
    handler: BaseHTTPRequestHandler, invocation: Invocation, reply: BufferedReply, *, tail_log: bool
) -> None:
    """Invoke's 200: the body, or `X-Amz-Function-Error` and the error JSON (`X-Amz-Log-Result`: the tail)."""
    body, content_type = reply.body, reply.content_type
    if reply.failure is not None:
        failure = reply.failure
        log.info("[%s] function error %s: %s", invocation.request_id, failure.error_type, failure.message)
        body = json.dumps(error_document(failure), separators=(",", ":")).encode("utf-8")
        content_type = wire.CONTENT_TYPE_JSON
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("X-Amz-Executed-Version", EXECUTED_VERSION)
    handler.send_header("x-amzn-RequestId", invocation.request_id)
    if reply.failure is not None:
        handler.send_header("X-Amz-Function-Error", FUNCTION_ERROR)
    if tail_log:
        handler.send_header("X-Amz-Log-Result", invocation.log.log_result(wait_s=LOG_TAIL_WAIT_S))
    handler.end_headers()
    handler.wfile.write(body)
