"""The smoke test's HTTP side: one bounded, timed exchange per request (each body read stamped with its
arrival), counted against a fixed budget.

Every request has a connect timeout, a read timeout and a total deadline, and its body is read only up
to a limit, so a smoke test ends in bounded time whatever the endpoint does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from stream_client.client import PreparedRequest
from stream_client.error_body import error_fields
from stream_client.smoke_target import Auth, Target

MAX_REQUESTS = 8  # every HTTP request of one smoke test, the emulator's metrics page included
MAX_BODY_BYTES = 256 * 1024  # a smoke reply is a few KB; stop reading a runaway one
CONNECT_TIMEOUT_S = 10.0
_READ_BYTES = 64 * 1024
_POOL_PREAMBLE = re.compile(r"^\W*\w*HTTPS?Connection(?:Pool)?\([^)]*\):\s*")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request as the smoke test saw it: the status (0 when no response came), the headers with
    lower-case names, the body, each read's arrival (ms after sending, bytes), and what cut it short."""

    label: str
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    arrivals: tuple[tuple[float, int], ...] = ()
    error: str | None = None

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amzn-requestid")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def refused_by_door(self) -> bool:
        """Refused in front of the function, which then never ran: the handler never answers 401 or 403,
        and `x-amzn-ErrorType` marks the refusals of Lambda's and API Gateway's own front doors."""
        return self.status in (401, 403) or "x-amzn-errortype" in self.headers

    @property
    def reached_function(self) -> bool:
        return self.status != 0 and not self.refused_by_door

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    def problem(self) -> str:
        """Why this is not the answer hoped for, in one line (never a key or a prompt)."""
        if self.status == 0:
            return f"{self.label}: no response ({self.error})"
        error_type, message = error_fields(self.body)
        said = ": ".join(part for part in (error_type, message) if part)
        return f"{self.label}: HTTP {self.status}" + (f" {said}" if said else "")


class SmokeHttp:
    """Sends the smoke test's requests, at most MAX_REQUESTS in all, and keeps the function's exchanges."""

    def __init__(
        self, target: Target, auth: Auth, *, timeout: float, session: requests.Session | None = None
    ) -> None:
        self.target = target
        self.auth = auth
        self._timeout = timeout
        self._session = session or requests.Session()
        self.function_exchanges: list[Exchange] = []
        self.sent = 0

    @property
    def other_requests(self) -> int:
        """Requests to the emulator's own pages."""
        return self.sent - len(self.function_exchanges)

    @property
    def remaining(self) -> int:
        return MAX_REQUESTS - self.sent

    def send_prepared(self, prepared: PreparedRequest) -> Exchange:
        """A request the stream client built and authorized (the native API's POST)."""
        exchange = self._exchange("POST", prepared.url, prepared.body, prepared.headers)
        return self._function(exchange)

    def send(
        self, method: str, path: str, *, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Exchange:
        """`method` on `path` below the URL under test, authorized as configured."""
        url = self.target.join(path)
        authorized = self.auth.apply(method=method, url=url, body=body, headers=headers or {})
        return self._function(self._exchange(method, url, body, authorized))

    def get_emulator_page(self, path: str) -> Exchange:
        """GET one of the local emulator's own pages (never authorized: they are not the function's)."""
        return self._exchange("GET", self.target.root + path.lstrip("/"), b"", {})

    def _function(self, exchange: Exchange) -> Exchange:
        self.function_exchanges.append(exchange)
        return exchange

    def _exchange(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> Exchange:
        if self.remaining <= 0:
            raise RuntimeError(f"the smoke test would send more than {MAX_REQUESTS} requests")
        self.sent += 1
        label = f"{method} {urlsplit(url).path or '/'}"
        started = time.perf_counter()
        try:
            response = self._session.request(
                method,
                url,
                data=body or None,
                headers=dict(headers),
                stream=True,
                timeout=(min(CONNECT_TIMEOUT_S, self._timeout), self._timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return Exchange(label=label, status=0, error=_reason(exc))
        arrivals: list[tuple[float, int]] = []
        received = bytearray()
        error = None
        try:
            for chunk in _reads(response):
                elapsed_ms = (time.perf_counter() - started) * 1000
                arrivals.append((elapsed_ms, len(chunk)))
                received += chunk
                if len(received) > MAX_BODY_BYTES or elapsed_ms > self._timeout * 1000:
                    error = f"stopped reading after {len(received)} bytes and {elapsed_ms / 1000:.1f} s"
                    break
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            error = f"the connection broke: {_reason(exc)}"
        finally:
            response.close()
        return Exchange(
            label=label,
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=bytes(received),
            arrivals=tuple(arrivals),
            error=error,
        )


def _reads(response: requests.Response) -> Iterator[bytes]:
    """The body as the transport hands it over, one piece per read (as StreamCall reads it)."""
    if response.raw.chunked:
        yield from response.iter_content(chunk_size=None)
        return
    while chunk := response.raw.read1(_READ_BYTES):
        yield chunk


def _reason(exc: BaseException) -> str:
    """The useful part of a transport error, without urllib3's connection-pool preamble."""
    cause: object = exc
    while isinstance(cause, requests.RequestException | urllib3.exceptions.MaxRetryError):
        inner = cause.args[0] if cause.args else None
        if isinstance(cause, urllib3.exceptions.MaxRetryError):
            inner = cause.reason
        if not isinstance(inner, BaseException):
            break
        cause = inner
    text = _POOL_PREAMBLE.sub("", str(cause).splitlines()[0] if str(cause) else "")
    return text.strip("()\"' ") or type(cause).__name__
