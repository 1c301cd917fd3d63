"""The Lambda Runtime API wire format: paths, header names, chunked framing, prelude and error trailers.

This is the only module that spells these out. It holds pure functions and no sockets: the runtime
uses the encoders, the emulator and the tests use the decoders.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence

from streaming_runtime.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import BinaryIO

API_VERSION = "2018-06-01"
PATH_PREFIX = f"/{API_VERSION}/runtime"
PATH_NEXT = f"{PATH_PREFIX}/invocation/next"
PATH_INIT_ERROR = f"{PATH_PREFIX}/init/error"

# Headers Lambda sends with GET /next.
HEADER_REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
HEADER_DEADLINE_MS = "Lambda-Runtime-Deadline-Ms"
HEADER_FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn"
HEADER_TRACE_ID = "Lambda-Runtime-Trace-Id"
HEADER_CLIENT_CONTEXT = "Lambda-Runtime-Client-Context"
HEADER_COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity"
HEADER_TENANT_ID = "Lambda-Runtime-Aws-Tenant-Id"
HEADER_INVOCATION_ID = "Lambda-Runtime-Invocation-Id"

# Headers and trailers the runtime sends.
HEADER_RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"
RESPONSE_MODE_STREAMING = "streaming"
HEADER_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
HEADER_XRAY_ERROR_CAUSE = "Lambda-Runtime-Function-XRay-Error-Cause"
TRAILER_ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
TRAILER_ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
TRAILER_DECLARATION = f"{TRAILER_ERROR_TYPE}, {TRAILER_ERROR_BODY}"

# Content types.
CONTENT_TYPE_HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
CONTENT_TYPE_OCTET_STREAM = "application/octet-stream"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_ERROR = "application/vnd.aws.lambda.error+json"

PRELUDE_DELIMITER = b"\x00" * 8

# Limits (PROTOCOL.md §1.3, §2.5). The emulator accepts 100 bytes of slack over 6 MiB, as the RIE does.
MAX_BUFFERED_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
MAX_STREAMED_RESPONSE_BYTES = 200 * 1024 * 1024

# Guards for the decoders so a garbled peer cannot make us buffer without bound.
_MAX_LINE_BYTES = 64 * 1024
_MAX_TRAILER_LINES = 64


def response_path(request_id: str) -> str:
    """The path of POST .../response for one invocation."""
    return f"{PATH_PREFIX}/invocation/{request_id}/response"


def error_path(request_id: str) -> str:
    """The path of POST .../error for one invocation."""
    return f"{PATH_PREFIX}/invocation/{request_id}/error"


# --- chunked transfer coding (RFC 9112 §7.1) ------------------------------------------------------


class ChunkedEncodingError(ValueError):
    """A chunked body that is malformed or ends before its last chunk."""


def encode_chunk(data: bytes) -> bytes:
    """One chunk: lowercase hex size, CRLF, the bytes, CRLF. An empty chunk would end the body."""
    if not data:
        raise ValueError("an empty chunk would terminate the chunked body")
    return b"%x\r\n%b\r\n" % (len(data), data)


def encode_last_chunk(trailers: Mapping[str, str] | None = None) -> bytes:
    """The terminating chunk, with optional trailer fields, and the final CRLF."""
    lines = [b"0\r\n"]
    for name, value in (trailers or {}).items():
        lines.append(f"{name}: {_single_line(value)}\r\n".encode("ascii"))
    lines.append(b"\r\n")
    return b"".join(lines)


class ChunkedBody:
    """Iterates over the chunks of a chunked body; `trailers` is filled once iteration has ended.

    Trailer names are lower-cased (HTTP field names are case-insensitive).
    """

    def __init__(self, reader: BinaryIO) -> None:
        self.reader = reader
        self.trailers: dict[str, str] = {}
        self.complete = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            size = _parse_chunk_size(self._readline())
            if size == 0:
                break
            data = self._read_exactly(size)
            if self._readline() != b"\r\n":
                raise ChunkedEncodingError("chunk data not followed by CRLF")
            yield data
        self.trailers = self._read_trailers()
        self.complete = True

    def _readline(self) -> bytes:
        line = self.reader.readline(_MAX_LINE_BYTES + 1)
        if not line:
            raise ChunkedEncodingError("body ended before the last chunk")
        if len(line) > _MAX_LINE_BYTES or not line.endswith(b"\n"):
            raise ChunkedEncodingError("chunk line too long or cut off")
        return line

    def _read_exactly(self, size: int) -> bytes:
        data = self.reader.read(size)
        if len(data) != size:
            raise ChunkedEncodingError(f"chunk cut off after {len(data)} of {size} bytes")
        return data

    def _read_trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        for _ in range(_MAX_TRAILER_LINES):
            line = self._readline()
            if line in (b"\r\n", b"\n"):
                return trailers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or not name.strip():
                raise ChunkedEncodingError(f"malformed trailer line {line[:80]!r}")
            trailers[name.strip().lower()] = value.strip()
        raise ChunkedEncodingError("too many trailer lines")


def iter_chunked(reader: BinaryIO) -> ChunkedBody:
    """Decode a chunked body from a buffered binary reader (e.g. `socket.makefile("rb")`)."""
    return ChunkedBody(reader)


def _parse_chunk_size(line: bytes) -> int:
    size_text = line.split(b";", 1)[0].strip()  # chunk extensions carry no meaning here
    try:
        size = int(size_text, 16)
    except ValueError:
        raise ChunkedEncodingError(f"invalid chunk size line {line[:40]!r}") from None
    if size < 0 or not size_text.isalnum():
        raise ChunkedEncodingError(f"invalid chunk size line {line[:40]!r}")
    return size


def _single_line(value: str) -> str:
    """Header and trailer values must be one line of ASCII; anything else is replaced."""
    cleaned = value.replace("\r", " ").replace("\n", " ")
    return cleaned.encode("ascii", "replace").decode("ascii")


# --- error trailers (PROTOCOL.md §2.3) ------------------------------------------------------------


class StreamError(Record):
    """A mid-stream error as carried by the two trailers: its type and the decoded error JSON."""

    __slots__ = ("body", "error_type")
    error_type: str
    body: Mapping[str, object]

    def __init__(self, error_type: str, body: Mapping[str, object]) -> None:
        self._assign(error_type=error_type, body=body)


def error_trailers(payload: Mapping[str, object]) -> dict[str, str]:
    """The two error trailers for an error payload `{"errorMessage","errorType","stackTrace",...}`.

    The body is standard base64 (with padding) of the UTF-8 JSON, so it is one line of ASCII.
    """
    error_type = str(payload.get("errorType") or "Runtime.Unknown")
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return {
        TRAILER_ERROR_TYPE: _single_line(error_type),
        TRAILER_ERROR_BODY: base64.b64encode(body).decode("ascii"),
    }


def decode_error_trailers(trailers: Mapping[str, str]) -> StreamError | None:
    """The error carried by received trailers (lower-cased names), or None for a clean end.

    A body that is not valid base64 JSON object is kept as `{"raw": <value>}` rather than dropped.
    """
    lowered = {name.lower(): value for name, value in trailers.items()}
    error_type = lowered.get(TRAILER_ERROR_TYPE.lower(), "")
    raw_body = lowered.get(TRAILER_ERROR_BODY.lower(), "")
    if not error_type and not raw_body:
        return None
    body: Mapping[str, object]
    try:
        decoded = json.loads(base64.b64decode(raw_body, validate=True))
        body = decoded if isinstance(decoded, dict) else {"raw": raw_body}
    except (binascii.Error, ValueError):
        body = {"raw": raw_body}
    return StreamError(error_type=error_type or "Runtime.Unknown", body=body)


# --- http-integration-response prelude (PROTOCOL.md §3.3) -----------------------------------------


class Prelude(Record):
    """Status, headers and cookies a streaming function sets for its Function URL response."""

    __slots__ = ("cookies", "headers", "status_code")
    status_code: int
    headers: Mapping[str, str]
    cookies: Sequence[str]

    def __init__(
        self, status_code: int = 200, headers: Mapping[str, str] | None = None, cookies: Sequence[str] = ()
    ) -> None:
        self._assign(status_code=status_code, headers={} if headers is None else headers, cookies=cookies)


class PreludeError(ValueError):
    """A prelude that is not a JSON object of the documented shape."""


def encode_prelude(
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    cookies: Sequence[str] | None = None,
) -> bytes:
    """The prelude bytes: compact JSON `{"statusCode","headers","cookies"}` then 8 NUL bytes."""
    document = {
        "statusCode": int(status_code),
        "headers": {str(name): str(value) for name, value in (headers or {}).items()},
        "cookies": [str(cookie) for cookie in (cookies or ())],
    }
    # json.dumps escapes control characters, so the JSON can never contain a NUL byte.
    return json.dumps(document, separators=(",", ":")).encode("utf-8") + PRELUDE_DELIMITER


def split_prelude(buffer: bytes) -> tuple[Prelude, bytes] | None:
    """Split a prelude off the start of a body: (prelude, remaining body bytes), or None if the
    delimiter has not arrived yet. Raises PreludeError when the prelude is not valid."""
    end = buffer.find(PRELUDE_DELIMITER)
    if end < 0:
        return None
    return decode_prelude_json(buffer[:end]), buffer[end + len(PRELUDE_DELIMITER) :]


def decode_prelude_json(data: bytes) -> Prelude:
    """Parse the JSON part of a prelude; a missing statusCode means 200."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PreludeError(f"prelude is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PreludeError("prelude is not a JSON object")
    status = document.get("statusCode", 200)
    headers = document.get("headers") or {}
    cookies = document.get("cookies") or []
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise PreludeError(f"prelude statusCode {status!r} is not an HTTP status")
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise PreludeError("prelude headers must be an object of strings")
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise PreludeError("prelude cookies must be a list of strings")
    return Prelude(status_code=status, headers=headers, cookies=tuple(cookies))


def header_value(value: str) -> str:
    """A value made safe for one header or trailer line: one line of ASCII."""
    return _single_line(value)
