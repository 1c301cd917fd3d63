"""The smoke test's target: the URL under test, the front door it is taken to be, and how requests to it
are authorized (a bearer key or token, a SigV4 signature, or nothing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from botocore.credentials import ReadOnlyCredentials
from botocore.session import Session

from stream_client import signing
from stream_client.errors import UsageError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")

Door = Literal["function-url", "rest-api"]


@dataclass(frozen=True, slots=True)
class Target:
    """The URL under test, with a trailing slash, and the front door it is taken to be: `rest-api` with an
    API key or bearer token or an `*.execute-api.*` host, else `function-url`."""

    url: str
    door: Door

    @classmethod
    def parse(cls, url: str, *, bearer: bool) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"not an http(s) URL: {url!r}")
        if parts.query or parts.fragment:
            raise UsageError("the URL must not carry a query or fragment: give the function's base URL")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        rest = bearer or _EXECUTE_API_HOST.match(parts.hostname.lower()) is not None
        return cls(url=f"{parts.scheme}://{parts.netloc}{path}", door="rest-api" if rest else "function-url")

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def is_local(self) -> bool:
        """A URL on this machine: the local emulator, whose own pages the smoke test may read."""
        return self.host in LOCAL_HOSTS

    @property
    def root(self) -> str:
        """The server's root (`scheme://host:port/`), where the emulator serves `/_emulator/`."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/"

    @property
    def region(self) -> str | None:
        """The region named by a Function URL or execute-api host, else None."""
        match = _EXECUTE_API_HOST.match(self.host)
        return match.group("region") if match else signing.function_url_region(self.url)

    def join(self, path: str) -> str:
        """`path` below the URL under test (a REST API's stage stays in front of it)."""
        return self.url + path.lstrip("/")


@dataclass(frozen=True, slots=True)
class Auth:
    """How requests to the function are authorized: `Authorization: Bearer` with an API key or token, a
    SigV4 signature for service `lambda` with frozen credentials, or nothing."""

    bearer: str | None = field(default=None, repr=False)  # a secret: never in a repr or the report
    credentials: ReadOnlyCredentials | None = field(default=None, repr=False)
    region: str | None = None

    def describe(self) -> str:
        if self.bearer is not None:
            return "Authorization: Bearer"
        if self.credentials is not None:
            return f"SigV4 (service lambda, {self.region})"
        return "none"

    def apply(self, *, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        if self.bearer is not None:
            return {**headers, "Authorization": f"Bearer {self.bearer}"}
        if self.credentials is not None:
            return signing.sign_headers(
                method=method,
                url=url,
                body=body,
                headers=headers,
                credentials=self.credentials,
                region=self.region or signing.DEFAULT_REGION,
            )
        return dict(headers)


def build_auth(
    target: Target, *, bearer: str | None, sign: bool | None, profile: str | None, region: str | None
) -> Auth:
    """The bearer as given (the stream client's prepare_request checks it, and its clash with --sign), or
    frozen credentials when the URL is signed (raises MissingCredentialsError without them), or nothing."""
    if bearer is not None:
        return Auth(bearer=bearer)
    if not signing.should_sign(target.url, sign=sign):
        return Auth()
    session = Session(profile=profile)
    return Auth(
        credentials=signing.frozen_credentials(session),
        region=signing.resolve_region(target.url, region=region, session=session),
    )
