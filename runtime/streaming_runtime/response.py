"""`StreamingResponse`: what a handler returns to stream a body with an HTTP status, headers and cookies."""

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
