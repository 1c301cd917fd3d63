"""The handler's exception hierarchy and the one table mapping Bedrock failures to HTTP statuses."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EventStreamError,
    HTTPClientError,
    ReadTimeoutError,
)


class HandlerError(Exception):
    """A failure before the first body byte, answered with `status` and an error body in the API's shape."""

    status = 500
    error_type = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        param: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param  # the request field at fault, when there is one
        self.headers = headers  # response headers the status calls for
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type


class RequestError(HandlerError):
    """The client's request is unacceptable (4xx); the message names the problem, never the prompt."""

    status = 400
    error_type = "invalid_request"


class MethodNotAllowedError(RequestError):
    """The request used a method the endpoint does not answer (POST for chat, GET for model listings)."""

    status = 405
    error_type = "method_not_allowed"

    def __init__(self, method: str, *, allow: str) -> None:
        super().__init__(f"method {method or '(none)'} not allowed; use {allow}", headers=(("allow", allow),))


class UnsupportedMediaTypeError(RequestError):
    """The request body's Content-Type is not one the endpoint reads."""

    status = 415
    error_type = "unsupported_media_type"

    def __init__(self, media_type: str, *, accepted: str) -> None:
        super().__init__(f"unsupported content type {media_type!r}; send {accepted}")


class UpstreamError(HandlerError):
    """Bedrock refused or failed the call before any event (429, 502, 503, 504)."""

    status = 502
    error_type = "bedrock_error"


class DeadlineError(HandlerError):
    """Too little invocation time is left to start a model call."""

    status = 504
    error_type = "deadline_exceeded"


class ModelStreamError(Exception):
    """The model stream failed after it started: reported in-band and as error trailers once text was
    sent, or as `status` (see `before_first_text`) when it failed before the first text delta."""

    def __init__(self, message: str, *, error_type: str, status: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.status = status


class StreamInterruptedError(Exception):
    """Raised out of the body generator so the runtime ends the response with error trailers; it carries
    the model stream's `error_type` and `message` (its text is `<error_type>: <message>`)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


# Bedrock error code -> (HTTP status, our error type). Anything Bedrock still rejects after our own
# validation is a deployment problem (model not enabled, wrong id, parameter beyond the model's range),
# which the client cannot fix, hence 502 rather than 400 for ValidationException.
_PRE_STREAM = {
    "ThrottlingException": (429, "throttled"),
    "ServiceQuotaExceededException": (429, "throttled"),
    "TooManyRequestsException": (429, "throttled"),
    "AccessDeniedException": (502, "bedrock_access_denied"),
    "ResourceNotFoundException": (502, "bedrock_model_not_found"),
    "ValidationException": (502, "bedrock_rejected"),
    "ModelErrorException": (502, "bedrock_model_error"),
    "ModelNotReadyException": (503, "bedrock_unavailable"),
    "ServiceUnavailableException": (503, "bedrock_unavailable"),
    "InternalServerException": (503, "bedrock_unavailable"),
    "ModelTimeoutException": (504, "bedrock_timeout"),
}


def upstream_error(exc: Exception) -> UpstreamError:
    """The HTTP-facing error for an exception raised by the pre-stream Bedrock call.

    botocore's network errors name the endpoint URL; the client gets a fixed message instead (the
    detail goes to the log, see `log_detail`).
    """
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status, error_type = _PRE_STREAM.get(code, (502, "bedrock_error"))
        message = str(exc.response.get("Error", {}).get("Message") or code or "Bedrock call failed")
        return UpstreamError(f"Bedrock {code or 'error'}: {message}", status=status, error_type=error_type)
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return UpstreamError("Bedrock did not answer in time", status=504, error_type="bedrock_timeout")
    if isinstance(exc, ConnectionError):  # EndpointConnectionError, SSLError, ProxyConnectionError
        return UpstreamError("Bedrock endpoint unreachable", status=503, error_type="bedrock_unavailable")
    if isinstance(exc, HTTPClientError):  # ConnectionClosedError, ResponseStreamingError
        return UpstreamError(
            "Bedrock closed the connection before answering",
            status=502,
            error_type="bedrock_stream_interrupted",
        )
    return UpstreamError(
        f"Bedrock call failed ({type(exc).__name__})", status=502, error_type="bedrock_error"
    )


def stream_error(exc: Exception) -> ModelStreamError:
    """The in-band error for an exception raised while reading an already-started model stream."""
    if isinstance(exc, EventStreamError):
        code = str(exc.response.get("Error", {}).get("Code", "")) or "modelStreamError"
        message = str(exc.response.get("Error", {}).get("Message") or "model stream failed")
        # In-stream codes are the pre-stream ones with a lower-case first letter (throttlingException).
        status, _ = _PRE_STREAM.get(code[:1].upper() + code[1:], (502, ""))
        return ModelStreamError(f"Bedrock {code}: {message}", error_type=code, status=status)
    # urllib3's timeout and protocol errors surface unwrapped from the event-stream iterator, so they are
    # recognised by class name rather than imported (this package depends on boto3/botocore only).
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "ReadTimeoutError" in names or isinstance(exc, TimeoutError):
        return ModelStreamError(
            "Bedrock stream stalled past the read timeout", error_type="bedrock_timeout", status=504
        )
    return ModelStreamError("Bedrock stream interrupted", error_type="bedrock_stream_interrupted")


def before_first_text(exc: ModelStreamError) -> UpstreamError:
    """The error status for a model stream that failed before its first text delta (nothing was sent):
    the same `type` and message its in-band `error` event would carry."""
    return UpstreamError(exc.message, status=exc.status, error_type=exc.error_type)


def log_detail(exc: BaseException) -> str:
    """What to log about a Bedrock failure, without prompt content: the class, the text of network
    errors (the endpoint URL), the code of service errors. Service messages and other errors' text can
    quote the request (a ValidationException, a ParamValidationError), so they are left out."""
    name = type(exc).__name__
    if isinstance(exc, ClientError):  # EventStreamError included
        return f"{name} {exc.response.get('Error', {}).get('Code', '')}".rstrip()
    if isinstance(exc, HTTPClientError | ConnectionError | OSError):
        return f"{name}: {exc}"
    if {cls.__name__ for cls in type(exc).__mro__} & {"ReadTimeoutError", "ProtocolError"}:
        return f"{name}: {exc}"  # urllib3's, raised out of the event stream
    return name
