"""One streaming call to a Function URL: build and sign the request, then yield text pieces as they arrive."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from botocore.credentials import ReadOnlyCredentials
from botocore.session import Session

from stream_client import signing
from stream_client.error_body import http_error
from stream_client.errors import (
    InBandError,
    RequestFailedError,
    StreamClientError,
    TruncatedStreamError,
    UsageError,
)
from stream_client.formats import ACCEPT_HEADERS, FORMATS, Format, StreamEvent, parser_for
from stream_client.stats import StatsRecorder, StreamStats

_RAW_READ_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """Everything about a call except URL and prompt. `sign=None` signs only Function URL hosts;
    `bearer` (an API key or a Cognito ID token) is sent as `Authorization: Bearer <bearer>` instead of
    any signature, for the REST API front door."""

    model: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    format: Format = "sse"
    region: str | None = None
    sign: bool | None = None
    profile: str | None = None
    credentials: ReadOnlyCredentials | None = None
    timeout: float = 300.0
    connect_timeout: float = 10.0
    bearer: str | None = field(default=None, repr=False)  # a secret: never in a repr or a log


@dataclass(frozen=True, slots=True)
class StreamResult:
    """The outcome: full text, stats, whether the `done` event arrived, and that event's data."""

    text: str
    stats: StreamStats
    complete: bool
    done: Mapping[str, Any] | None = None

    @property
    def stop_reason(self) -> str | None:
        value = (self.done or {}).get("stopReason")
        return value if isinstance(value, str) else None

    @property
    def model_id(self) -> str | None:
        value = (self.done or {}).get("modelId")
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """The exact bytes and headers to POST (signed when required)."""

    url: str
    body: bytes
    headers: Mapping[str, str]


def prepare_request(url: str, prompt: str, options: StreamOptions) -> PreparedRequest:
    """Validate the call, encode the JSON body and sign exactly those bytes when the URL needs it."""
    _validate(url, prompt, options)
    payload: dict[str, Any] = {"prompt": prompt}
    optional = {
        "modelId": options.model,
        "system": options.system,
        "maxTokens": options.max_tokens,
        "temperature": options.temperature,
    }
    payload.update({key: value for key, value in optional.items() if value is not None})
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Accept": ACCEPT_HEADERS[options.format],
        # Compression would make the transport hold bytes back until a block fills.
        "Accept-Encoding": "identity",
    }
    if options.bearer is not None:
        headers["Authorization"] = f"Bearer {options.bearer}"
    elif signing.should_sign(url, sign=options.sign):
        session = Session(profile=options.profile)
        credentials = options.credentials or signing.frozen_credentials(session)
        region = signing.resolve_region(url, region=options.region, session=session)
        headers = signing.sign_headers(
            method="POST", url=url, body=body, headers=headers, credentials=credentials, region=region
        )
    return PreparedRequest(url=url, body=body, headers=headers)


def _validate(url: str, prompt: str, options: StreamOptions) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {url!r}")
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    if options.format not in FORMATS:
        raise UsageError(f"unknown format {options.format!r} (choose from {', '.join(FORMATS)})")
    if options.max_tokens is not None and options.max_tokens < 1:
        raise UsageError("max tokens must be a positive integer")
    if options.timeout <= 0 or options.connect_timeout <= 0:
        raise UsageError("timeouts must be positive")
    if options.bearer is not None:
        _validate_bearer(options)


def _validate_bearer(options: StreamOptions) -> None:
    """A bearer credential replaces signing, and must fit in one header line (the message never
    quotes it)."""
    if options.sign:
        raise UsageError("an API key or bearer token and SigV4 signing (--sign) exclude each other")
    bearer = options.bearer or ""
    if not bearer.strip():
        raise UsageError("the API key or bearer token is empty")
    if bearer != bearer.strip() or not all(" " <= char <= "~" for char in bearer):
        raise UsageError(
            "the API key or bearer token must be printable ASCII without surrounding spaces or line breaks"
        )


class StreamCall:
    """A sent request whose response headers arrived with a 2xx status; iterate it once for text pieces.

    After iteration (complete, broken or abandoned) `result` holds the text and stats.
    Raises HttpStatusError/RequestFailedError on construction, TruncatedStreamError while iterating.
    """

    def __init__(
        self, prepared: PreparedRequest, *, options: StreamOptions, session: requests.Session
    ) -> None:
        self._stats = StatsRecorder()
        self._pieces: list[str] = []
        self._done: Mapping[str, Any] | None = None
        self._result: StreamResult | None = None
        try:
            self._response = session.post(
                prepared.url,
                data=prepared.body,
                headers=dict(prepared.headers),
                stream=True,
                timeout=(options.connect_timeout, options.timeout),
            )
        except requests.RequestException as exc:
            raise RequestFailedError(f"request to {prepared.url} failed: {_reason(exc)}") from exc
        self._stats.status = self._response.status_code
        if self._response.status_code >= 400:
            raise http_error(self._response)

    @property
    def result(self) -> StreamResult:
        if self._result is None:
            raise StreamClientError("the stream has not been read yet")
        return self._result

    def __iter__(self) -> Iterator[str]:
        parser = parser_for(self._response.headers.get("Content-Type", ""))
        try:
            try:
                for chunk in self._body_chunks():
                    self._stats.body_bytes(len(chunk))
                    for event in parser.feed(chunk):
                        yield from self._handle(event)
                for event in parser.close():
                    yield from self._handle(event)
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                raise TruncatedStreamError(f"the connection broke mid-stream: {_reason(exc)}") from exc
            if parser.expects_done and self._done is None:
                raise TruncatedStreamError("the stream ended without the final done event (truncated)")
        finally:
            self._finish(complete=self._done is not None or not parser.expects_done)

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> StreamCall:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _body_chunks(self) -> Iterator[bytes]:
        if self._response.raw.chunked:
            # chunk_size=None yields each transfer chunk as soon as it is read, not after a buffer fills.
            yield from self._response.iter_content(chunk_size=None)
            return
        # Without chunked framing, iter_content(None) would read to EOF; read1 returns what has arrived.
        while chunk := self._response.raw.read1(_RAW_READ_BYTES):
            yield chunk

    def _handle(self, event: StreamEvent) -> Iterator[str]:
        if self._done is not None:
            return
        if event.kind == "delta" and event.text:
            self._stats.text()
            self._pieces.append(event.text)
            yield event.text
        elif event.kind == "done":
            self._done = event.data
            usage = event.data.get("usage")
            self._stats.usage(usage if isinstance(usage, Mapping) else {})
        elif event.kind == "error":
            raise InBandError(
                error_type=str(event.data.get("type", "Error")),
                message=str(event.data.get("message", "the server reported an error")),
            )

    def _finish(self, *, complete: bool) -> None:
        if self._result is not None:
            return
        self._stats.finish()
        self._response.close()
        self._result = StreamResult(
            text="".join(self._pieces), stats=self._stats.snapshot(), complete=complete, done=self._done
        )


def _reason(exc: BaseException) -> str:
    """The innermost cause's message: urllib3 wraps the useful part several levels deep."""
    while exc.__context__ is not None and not str(exc):
        exc = exc.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def open_stream(
    url: str, prompt: str, *, options: StreamOptions | None = None, session: requests.Session | None = None
) -> StreamCall:
    """Send the prompt and return the call once the response headers are in (raises on HTTP errors)."""
    options = options or StreamOptions()
    return StreamCall(
        prepare_request(url, prompt, options), options=options, session=session or requests.Session()
    )


def stream(url: str, prompt: str, **options: Any) -> Iterator[str]:
    """Yield the answer's text pieces as they arrive; keyword options are StreamOptions fields.

    Raises HttpStatusError, TruncatedStreamError (incl. InBandError), RequestFailedError or UsageError.
    """
    try:
        stream_options = StreamOptions(**options)
    except TypeError as exc:
        raise UsageError(str(exc)) from exc
    with open_stream(url, prompt, options=stream_options) as call:
        yield from call
