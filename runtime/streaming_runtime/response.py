"""What a handler returns to stream: `StreamingResponse` (a body with an HTTP status, headers and cookies)
or `RawStreamingResponse` (a body under a Content-Type, without the HTTP prelude)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping, Sequence

from streaming_runtime import wire
from streaming_runtime.record import Record

Body = Iterable[bytes | str] | AsyncIterable[bytes | str]


class StreamingResponse(Record):
    """A streamed Function URL response.

    Status, headers and cookies are fixed when the object is built, and the runtime writes them as
    the http-integration-response prelude before it pulls the first piece of `body`, so a prelude
    after the first body byte cannot happen.

    :param body: an iterable or async iterable of `bytes` or `str` (UTF-8) pieces.
    :param status_code: the HTTP status the client sees. Default: 200.
    :param headers: response headers (use `content-type` here). Default: none.
    :param cookies: full `Set-Cookie` values, one per cookie. Default: none.
    """

    __slots__ = ("body", "cookies", "headers", "status_code")
    body: Body
    status_code: int
    headers: Mapping[str, str]
    cookies: Sequence[str]

    def __init__(
        self,
        body: Body,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        cookies: Sequence[str] | None = None,
    ) -> None:
        if not 100 <= int(status_code) <= 599:
            raise ValueError(f"status_code {status_code!r} is not an HTTP status")
        if cookies is not None and isinstance(cookies, str):
            raise TypeError("cookies must be a sequence of Set-Cookie strings, not one string")
        self._assign(
            body=body, status_code=int(status_code), headers=dict(headers or {}), cookies=tuple(cookies or ())
        )

    def prelude(self) -> bytes:
        """The prelude bytes (JSON and the 8-NUL delimiter) for this response."""
        return wire.encode_prelude(self.status_code, self.headers, self.cookies)


class RawStreamingResponse(Record):
    """A streamed response without the HTTP prelude: the body's bytes as they are, under `content_type`.

    This is what a caller of Lambda's own API (`InvokeWithResponseStream`) reads as its payload chunks,
    with `content_type` as the response's Content-Type; a plain generator streams the same way as
    `application/octet-stream`. Through a Function URL or API Gateway, which expect the prelude, the
    bytes would be read as a malformed response: those doors want `StreamingResponse`.

    :param body: an iterable or async iterable of `bytes` or `str` (UTF-8) pieces.
    :param content_type: the Content-Type the runtime posts the stream with: one line of printable
        ASCII, e.g. `"application/x-ndjson"`. Default: `application/octet-stream`.
    """

    __slots__ = ("body", "content_type")
    body: Body
    content_type: str

    def __init__(self, body: Body, *, content_type: str = wire.CONTENT_TYPE_OCTET_STREAM) -> None:
        # Checked here, in the handler's call, so a bad value is the handler's error (/error), not a
        # broken header line on the Runtime API connection.
        if not isinstance(content_type, str):
            raise TypeError(f"content_type must be a string, not {type(content_type).__name__}")
        if not (content_type.strip() and content_type.isascii() and content_type.isprintable()):
            raise ValueError(f"content_type {content_type!r} is not one line of printable ASCII")
        self._assign(body=body, content_type=content_type)
