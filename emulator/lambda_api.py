"""The emulated Lambda API (`serve --lambda-api-port P`): Invoke and InvokeWithResponseStream for the
emulator's function, so AWS SDKs (`boto3.client("lambda", endpoint_url=...)`) and the AWS CLI call it
directly, with IAM and no URL, through the same sandboxes, queue and metrics as the HTTP front.

Routes (botocore's `lambda` model, 2015-03-31, is the ground truth for paths, headers and shapes):

- `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations` (InvokeWithResponseStream):
  200, `Content-Type` the one the runtime posted its response with, `X-Amz-Executed-Version: $LATEST`,
  a chunked body of event-stream messages: one `PayloadChunk` per chunk the runtime sends, written as
  it arrives, then one `InvokeComplete` (`{}` on success; `LogResult` with `X-Amz-Log-Type: Tail`).
- `POST /2015-03-31/functions/{FunctionName}/invocations` (Invoke): 200 and the whole response (the
  docs: a response-streaming function "can still" be invoked "without response streaming by directly
  calling the Invoke API operation", docs.aws.amazon.com/lambda/latest/dg/config-rs-invoke-furls.html);
  `X-Amz-Invocation-Type: Event` is 202 (run in the background), `DryRun` 204 (both operations).

Failures. Lambda's HTTP status does not reflect function errors: "Error codes are reserved for errors
that prevent your function from executing" (the Invoke operation's documentation in the model); a
function error is a 200 with `X-Amz-Function-Error` and the error JSON as the payload (Invoke). For a
stream, the error after the first byte travels in the runtime's two trailers
(docs.aws.amazon.com/lambda/latest/dg/runtimes-custom.html#runtimes-custom-response-streaming), which
"supported client SDKs will be able to observe" (aws/aws-lambda-go#495, by its maintainer) as
`InvokeComplete.ErrorCode` / `ErrorDetails` (the model's only error members of the stream; its
response has no `X-Amz-Function-Error`). AWS does not document the values, nor what a stream whose
runtime reported `/error` before its first byte looks like; Node.js's runtime never does that (it opens
the stream first and fails through the trailers: aws-lambda-nodejs-runtime-interface-client
src/runtime/streaming-invoke-processor.ts), so every streaming function's failure reaches its caller
the same way. The emulator's choice, for both: 200, the chunks sent so far (none before the first
byte; then `Content-Type: application/json`), and an `InvokeComplete` with `ErrorCode` = the error
type (the trailer's, or `/error`'s `errorType`: `invalid_request`, `Sandbox.Timedout`, ...) and
`ErrorDetails` = its `errorMessage` (never a stack trace).

Refusals are Lambda's JSON errors with `x-amzn-ErrorType` (emulator/lambda_api_responses.py): an
unknown function 404 `ResourceNotFoundException` (emulator/lambda_api_names.py), a payload that is not
JSON 400 `InvalidRequestContentException`, over 6 MB 413 `RequestTooLargeException`, no free runtime
and the queue full 429 `TooManyRequestsException`, and with `--auth AWS_IAM` a missing or wrong SigV4
signature (service `lambda`) 403 `MissingAuthenticationTokenException` / `InvalidSignatureException` /
`UnrecognizedClientException` (emulator/sigv4.py).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import ClassVar

from streaming_runtime import wire

from emulator.config import EmulatorConfig
from emulator.http_base import EmulatorHTTPServer
from emulator.invocations import Invocation
from emulator.lambda_api_names import check_function
from emulator.lambda_api_relay import EventStreamRelay, collect, send_buffered
from emulator.lambda_api_responses import (
    EXECUTED_VERSION,
    ForbiddenError,
    InvalidRequestContentError,
    LambdaApiError,
    RequestTooLargeError,
    TooManyRequestsError,
    UnknownOperationError,
    ValidationError,
    send_error,
)
from emulator.pool import Pool, ThrottledError
from emulator.request_body import RequestBodyHandler
from emulator.sigv4 import AuthError, SignedRequest, verify
from emulator.supervisor import Credentials

log = logging.getLogger("emulator")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
STREAMING_INVOCATION_TYPES = ("RequestResponse", "DryRun")
INVOCATION_TYPES = ("Event", "RequestResponse", "DryRun")
LOG_TYPES = ("None", "Tail")
_LABEL = r"(?P<label>[^/]+)"


class LambdaApiServer(EmulatorHTTPServer):
    """Serves the Lambda API on `--host`:`--lambda-api-port`, invoking through the emulator's pool."""

    def __init__(
        self, *, config: EmulatorConfig, pool: Pool, known_credentials: Sequence[Credentials]
    ) -> None:
        self.config = config
        self.pool = pool
        self.known_credentials = tuple(known_credentials)
        super().__init__((config.host, config.lambda_api_port or 0), LambdaApiHandler)

    @property
    def url(self) -> str:
        host = self.config.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"


class LambdaApiHandler(RequestBodyHandler):
    """One method per operation; every refusal goes through `send_error`."""

    server: LambdaApiServer
    ROUTES: ClassVar[list[tuple[re.Pattern[str], str]]] = [
        (
            re.compile(f"/2021-11-15/functions/{_LABEL}/response-streaming-invocations"),
            "invoke_with_response_stream",
        ),
        (re.compile(f"/2015-03-31/functions/{_LABEL}/invocations"), "invoke"),
    ]

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._route()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_POST  # noqa: N815

    def _route(self) -> None:
        self._body_consumed = False
        request_id = str(uuid.uuid4())
        path, _, query = self.path.partition("?")
        config = self.server.config
        try:
            operation, label = self._operation(path)
            body = self._authenticated_body()
            check_function(label, query, function_name=config.function_name, region=config.region)
            operation(request_id, _json_payload(body))
        except LambdaApiError as error:
            self._drain_body()
            log.info(
                "[%s] Lambda API refused %s %s: %d %s",
                request_id,
                self.command,
                path[:200],
                error.status,
                error.error_type,
            )
            send_error(self, error, request_id=request_id)

    def _operation(self, path: str) -> tuple[Callable[[str, bytes], None], str]:
        for pattern, name in self.ROUTES:
            match = pattern.fullmatch(path)
            if match is not None and self.command == "POST":
                operation: Callable[[str, bytes], None] = getattr(self, name)
                return operation, match["label"]
        raise UnknownOperationError(f"no Lambda operation at {self.command} {path[:200]}")

    # --- operations ------------------------------------------------------------------------------

    def invoke_with_response_stream(self, request_id: str, payload: bytes) -> None:
        invocation_type = self._choice(
            "X-Amz-Invocation-Type", "invocationType", STREAMING_INVOCATION_TYPES, "RequestResponse"
        )
        tail = self._choice("X-Amz-Log-Type", "logType", LOG_TYPES, "None") == "Tail"
        if invocation_type == "DryRun":
            self._send_empty(204, request_id)
            return
        EventStreamRelay(self, self._invoke(payload, request_id), tail_log=tail).run()

    def invoke(self, request_id: str, payload: bytes) -> None:
        invocation_type = self._choice(
            "X-Amz-Invocation-Type", "invocationType", INVOCATION_TYPES, "RequestResponse"
        )
        tail = self._choice("X-Amz-Log-Type", "logType", LOG_TYPES, "None") == "Tail"
        if invocation_type == "DryRun":
            self._send_empty(204, request_id)
        elif invocation_type == "Event":
            threading.Thread(
                target=self._invoke_in_background, args=(payload, request_id), daemon=True
            ).start()
            self._send_empty(202, request_id)
        else:
            invocation = self._invoke(payload, request_id)
            send_buffered(self, invocation, collect(invocation), tail_log=tail)

    # --- the parts -------------------------------------------------------------------------------

    def _authenticated_body(self) -> bytes:
        """The request body, its SigV4 signature verified with `--auth AWS_IAM`."""
        try:
            body = self._read_limited_body(limit=MAX_PAYLOAD_BYTES)
        except (wire.ChunkedEncodingError, ValueError) as exc:
            self.close_connection = True
            raise InvalidRequestContentError(f"Could not read the request body: {exc}") from None
        if body is None:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
            )
        self._authenticate(body)
        return body

    def _authenticate(self, body: bytes) -> None:
        config = self.server.config
        if config.auth != "AWS_IAM":
            return
        signed = SignedRequest(
            method=self.command, target=self.path, headers=list(self.headers.items()), body=body
        )
        try:
            verify(signed, region=config.region, known=self.server.known_credentials)
        except AuthError as exc:
            raise ForbiddenError(exc.error_type, str(exc)) from None

    def _choice(self, header: str, member: str, allowed: Sequence[str], default: str) -> str:
        """A header's value from the operation's enum (`default` when absent), else ValidationException."""
        value = self.headers.get(header) or default
        if value not in allowed:
            raise ValidationError(
                f"1 validation error detected: Value '{value[:100]}' at '{member}' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
        return value

    def _invoke(self, payload: bytes, request_id: str) -> Invocation:
        config = self.server.config
        try:
            sandbox = self.server.pool.acquire(timeout=config.timeout * 2 + 10)
        except ThrottledError as exc:
            raise TooManyRequestsError(f"Rate Exceeded. ({exc})") from None
        return sandbox.invoke(payload, request_id=request_id)

    def _invoke_in_background(self, payload: bytes, request_id: str) -> None:
        """`Event`: Lambda queues the event and runs it later; here it runs at once, its reply dropped."""
        try:
            invocation = self._invoke(payload, request_id)
        except TooManyRequestsError as exc:
            log.warning("[%s] asynchronous invocation dropped: %s", request_id, exc)
            return
        failure = collect(invocation).failure
        if failure is not None:
            log.info(
                "[%s] asynchronous invocation failed: %s: %s", request_id, failure.error_type, failure.message
            )

    def _send_empty(self, status: int, request_id: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.send_header("X-Amz-Executed-Version", EXECUTED_VERSION)
        self.send_header("x-amzn-RequestId", request_id)
        self.end_headers()


def _json_payload(body: bytes) -> bytes:
    """The event: the body when it is JSON (any JSON value; an empty body is `{}`)."""
    payload = body or b"{}"
    try:
        json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise InvalidRequestContentError(
            f"Could not parse request body into json: the payload is not UTF-8 ({exc.reason})"
        ) from None
    except ValueError as exc:
        raise InvalidRequestContentError(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return payload


def _refuse_constant(name: str) -> object:
    """JSON has no NaN or Infinity (Python's parser would take them; Lambda's does not)."""
    raise ValueError(f"{name} is not JSON")
