"""The Lambda API's replies: the event-stream messages of InvokeWithResponseStream (`PayloadChunk`,
`InvokeComplete`) and the API's JSON errors with `x-amzn-ErrorType`, in the shapes botocore's `lambda`
service model (2015-03-31) defines.

- `PayloadChunk` (InvokeResponseStreamUpdate): a `:message-type` event whose payload is the chunk's raw
  bytes (`Payload` is the event payload), `:content-type` application/octet-stream.
- `InvokeComplete` (InvokeWithResponseStreamCompleteEvent): `:content-type` application/json, the payload
  a JSON object of the members present (`{}` on success, as `sam remote invoke --output json` shows real
  Lambda sending: aws/aws-sam-cli tests/integration/remote/invoke/test_lambda_invoke_response_stream.py).
- Errors: status and member names from each error shape (`ResourceNotFoundException` has `Message`,
  most others `message`), `Type` `User` (`Service` for a 5xx), the error's name in `x-amzn-ErrorType`
  (which botocore reads the error code from), `x-amzn-RequestId` on every reply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler

from emulator.eventstream import MAX_PAYLOAD_BYTES, HeaderValue, encode_message

EXECUTED_VERSION = "$LATEST"
MAX_PAYLOAD_CHUNK_BYTES = MAX_PAYLOAD_BYTES  # beyond this a runtime chunk is split over several events


class LambdaApiError(Exception):
    """A request the Lambda API refuses: its HTTP status, error type (the `x-amzn-ErrorType`) and the
    member that carries the message in that error's shape."""

    status = 400
    error_type = "InvalidParameterValueException"
    message_member = "message"

    def body(self) -> bytes:
        kind = "Service" if self.status >= 500 else "User"
        return _json({"Type": kind, self.message_member: str(self)})


class ResourceNotFoundError(LambdaApiError):
    """The FunctionName (or Qualifier) names no function served here."""

    status = 404
    error_type = "ResourceNotFoundException"
    message_member = "Message"


class InvalidRequestContentError(LambdaApiError):
    """The payload is not JSON (or the body could not be read)."""

    status = 400
    error_type = "InvalidRequestContentException"


class InvalidParameterValueError(LambdaApiError):
    """A parameter Lambda refuses, such as a qualifier that contradicts the name's."""

    status = 400
    error_type = "InvalidParameterValueException"


class RequestTooLargeError(LambdaApiError):
    """A payload over the 6 MB synchronous invocation limit."""

    status = 413
    error_type = "RequestTooLargeException"


class TooManyRequestsError(LambdaApiError):
    """No runtime is free and the wait queue is full (Lambda's throttle)."""

    status = 429
    error_type = "TooManyRequestsException"


class ValidationError(LambdaApiError):
    """A parameter outside its shape's constraints (Lambda's `ValidationException`, not modelled)."""

    status = 400
    error_type = "ValidationException"


class UnknownOperationError(LambdaApiError):
    """A path or method no Lambda operation emulated here has."""

    status = 404
    error_type = "UnknownOperationException"


class ForbiddenError(LambdaApiError):
    """A missing or wrong SigV4 signature; `error_type` is the one emulator.sigv4 names."""

    status = 403

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def send_error(handler: BaseHTTPRequestHandler, error: LambdaApiError, *, request_id: str) -> None:
    """Answer `error` completely (Content-Length) with its JSON body and headers."""
    body = error.body()
    handler.send_response(error.status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("x-amzn-RequestId", request_id)
    handler.send_header("x-amzn-ErrorType", error.error_type)
    handler.end_headers()
    handler.wfile.write(body)


def payload_chunk(data: bytes) -> bytes:
    """One `PayloadChunk` event carrying `data` (at most MAX_PAYLOAD_CHUNK_BYTES) as it is."""
    headers: dict[str, HeaderValue] = {
        ":event-type": "PayloadChunk",
        ":content-type": "application/octet-stream",
        ":message-type": "event",
    }
    return encode_message(headers, data)


def payload_chunks(data: bytes) -> list[bytes]:
    """`data` as `PayloadChunk` events: one, unless it is larger than an event may carry."""
    step = MAX_PAYLOAD_CHUNK_BYTES
    return [payload_chunk(data[at : at + step]) for at in range(0, len(data), step)]


def invoke_complete(
    *, error_code: str | None = None, error_details: str | None = None, log_result: str | None = None
) -> bytes:
    """The `InvokeComplete` event: `{}` on success, else the members given."""
    members = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    headers: dict[str, HeaderValue] = {
        ":event-type": "InvokeComplete",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_message(headers, _json({k: v for k, v in members.items() if v is not None}))


def _json(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
