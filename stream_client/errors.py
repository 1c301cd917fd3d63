"""The stream client's exception hierarchy; each class carries what a caller needs and its CLI exit code."""

from __future__ import annotations


class StreamClientError(Exception):
    """Base class: anything that stops a streaming call. `exit_code` is what the CLI exits with."""

    exit_code = 1


class UsageError(StreamClientError):
    """The call itself is wrong (bad URL, empty prompt, bad option); nothing was sent."""

    exit_code = 2


class MissingCredentialsError(UsageError):
    """The URL must be signed but the standard AWS credential chain found no credentials."""

    def __init__(self) -> None:
        super().__init__(
            "no AWS credentials found to sign the request (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or pass --no-sign for an auth NONE URL)"
        )


class RequestFailedError(StreamClientError):
    """No HTTP response arrived (connection refused, DNS failure, timeout before the headers)."""

    exit_code = 1


class HttpStatusError(StreamClientError):
    """The server answered with an HTTP error status before streaming; `message` is its error.message."""

    exit_code = 1

    def __init__(self, *, status: int, error_type: str, message: str) -> None:
        super().__init__(f"HTTP {status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message


class TruncatedStreamError(StreamClientError):
    """The stream ended (or broke) without the final `done` event, so the answer may be incomplete."""

    exit_code = 3


class InBandError(TruncatedStreamError):
    """The server reported a failure inside the stream (an SSE `error` event or NDJSON error record)."""

    def __init__(self, *, error_type: str, message: str) -> None:
        super().__init__(f"stream failed: {error_type}: {message}")
        self.error_type = error_type
        self.message = message


class StreamProtocolError(TruncatedStreamError):
    """The body did not follow the announced format (garbled SSE event or NDJSON line)."""
