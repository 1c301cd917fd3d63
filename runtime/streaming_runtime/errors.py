"""The runtime's typed errors: the error payload Lambda receives, fault classes and transport failures."""

from __future__ import annotations

import os
import traceback

from streaming_runtime.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import Any, ClassVar

# Frames from this package are noise in a handler's stack trace; trim them like the managed runtime does.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class ErrorPayload(Record):
    """The error JSON posted to /error, /init/error and carried by the error-body trailer."""

    __slots__ = ("error_message", "error_type", "request_id", "stack_trace")
    error_type: str
    error_message: str
    stack_trace: tuple[str, ...]
    request_id: str | None

    def __init__(
        self,
        error_type: str,
        error_message: str,
        stack_trace: tuple[str, ...] = (),
        request_id: str | None = None,
    ) -> None:
        self._assign(
            error_type=error_type, error_message=error_message, stack_trace=stack_trace, request_id=request_id
        )

    def to_json(self) -> dict[str, object]:
        """The camelCase document Lambda expects: errorMessage, errorType, stackTrace (+ requestId)."""
        document: dict[str, object] = {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "stackTrace": list(self.stack_trace),
        }
        if self.request_id is not None:
            document["requestId"] = self.request_id
        return document

    @classmethod
    def from_exception(cls, exc: BaseException, *, request_id: str | None = None) -> ErrorPayload:
        """Build the payload from an exception: fault classes give their Lambda error type, others
        their class name; the stack trace keeps only frames outside this package."""
        if isinstance(exc, FunctionError):  # a deliberate report: its own type, no stack trace
            return cls(error_type=exc.error_type, error_message=exc.message, request_id=request_id)
        error_type = exc.error_type if isinstance(exc, RuntimeFault) else type(exc).__name__
        frames = [
            frame
            for frame in traceback.extract_tb(exc.__traceback__)
            if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR + os.sep)
        ]
        return cls(
            error_type=error_type,
            error_message=_message(exc),
            stack_trace=tuple(traceback.format_list(frames)),
            request_id=request_id,
        )


def _message(exc: BaseException) -> str:
    # A handler's exception with a broken __str__ must still be reported, not crash the runtime.
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__}>"


EXIT_OK = 0
EXIT_INIT_ERROR = 1  # the handler could not be loaded; reported to /runtime/init/error
EXIT_CONFIG_ERROR = 2  # the environment is unusable (no Runtime API address); nothing could be reported
EXIT_RUNTIME_API_ERROR = 3  # the Runtime API answered 500 or went away


class StreamingRuntimeError(Exception):
    """Base class of every error this package raises."""


class ConfigError(StreamingRuntimeError):
    """The process environment cannot start a runtime (e.g. no AWS_LAMBDA_RUNTIME_API)."""


class FunctionError(StreamingRuntimeError):
    """A failure a handler reports on purpose, under an error type of its own choosing.

    Raised by the handler (or by its streamed body), it is reported with `errorType` = `error_type`,
    `errorMessage` = `message` and an empty `stackTrace`: to `/error` before the first byte of the
    response, in the error trailers after it. The runtime logs it without a traceback. Callers of
    Lambda's API see the type as the function error (`InvokeComplete.ErrorCode` when streaming).

    :param error_type: the error type, e.g. `"invalid_request"` (one line of text; Lambda's own are
        like `"Runtime.Unknown"`).
    :param message: the error message.
    """

    def __init__(self, error_type: str, message: str) -> None:
        if not isinstance(error_type, str) or not error_type.strip():
            raise ValueError(f"error_type must be a non-empty string, not {error_type!r}")
        super().__init__(message)
        self.error_type = error_type
        self.message = str(message)


class RuntimeFault(StreamingRuntimeError):  # noqa: N818 - the name the design uses
    """A failure reported to Lambda under a fixed error type; the message is `fmt` filled from kwargs."""

    error_type: ClassVar[str] = "Runtime.Unknown"
    fmt: ClassVar[str] = "{message}"

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        super().__init__(self.fmt.format(**kwargs))


class MalformedHandlerName(RuntimeFault):
    """The handler string is not of the form `module.function`."""

    error_type = "Runtime.MalformedHandlerName"
    fmt = "Bad handler '{handler}': expected 'module.function' (module may be dotted)"


class ImportModuleError(RuntimeFault):
    """The handler's module, or something it imports, cannot be found."""

    error_type = "Runtime.ImportModuleError"
    fmt = "Unable to import module '{module}': {reason}"


class UserCodeSyntaxError(RuntimeFault):
    """The handler's module (or a module it imports) does not compile."""

    error_type = "Runtime.UserCodeSyntaxError"
    fmt = "Syntax error in module '{module}': {reason}"


class HandlerNotFound(RuntimeFault):
    """The module has no attribute with the handler's name."""

    error_type = "Runtime.HandlerNotFound"
    fmt = "Handler '{function}' missing on module '{module}'"


class HandlerNotCallable(RuntimeFault):
    """The handler attribute exists but cannot be called."""

    error_type = "Runtime.HandlerNotCallable"
    fmt = "Handler '{function}' on module '{module}' is a {kind}, not a callable"


class InvalidInvocationHeaders(RuntimeFault):
    """A /next response header is missing or garbled (deadline, client context, Cognito identity)."""

    error_type = "Runtime.InvalidInvocationHeaders"
    fmt = "Invalid invocation header {header}: {reason}"


class UnmarshalError(RuntimeFault):
    """The event body is not valid JSON."""

    error_type = "Runtime.UnmarshalError"
    fmt = "Unable to unmarshal input: {reason}"


class MarshalError(RuntimeFault):
    """The handler's return value cannot be serialised to JSON."""

    error_type = "Runtime.MarshalError"
    fmt = "Unable to marshal response: {reason}"


class InvalidStreamItem(RuntimeFault):
    """A streamed handler yielded something that is neither bytes nor str."""

    error_type = "Runtime.InvalidStreamItem"
    fmt = "Streamed items must be bytes or str, got {kind}"


class ResponseSizeTooLarge(RuntimeFault):
    """The streamed response would exceed the configured cap (Lambda's 200 MB)."""

    error_type = "Function.ResponseSizeTooLarge"
    fmt = "Response stream reached the limit of {limit} bytes"


class RuntimeApiError(StreamingRuntimeError):
    """The Runtime API failed in a way the runtime cannot continue from (500, refused, gone)."""

    def __init__(self, endpoint: str, status: int | None, body: str) -> None:
        self.endpoint = endpoint
        self.status = status
        self.body = body
        super().__init__(f"Runtime API {endpoint} failed (status {status}): {body[:200]}")


class StreamInterruptedError(StreamingRuntimeError):
    """The connection carrying a streamed response broke before Lambda acknowledged it."""
