"""SigV4 signing of Function URL requests with botocore's signer and the standard AWS credential chain."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.session import Session

from stream_client.errors import MissingCredentialsError

SERVICE = "lambda"
DEFAULT_REGION = "us-east-1"

_FUNCTION_URL_HOST = re.compile(r"^[a-z0-9]+\.lambda-url\.(?P<region>[a-z0-9-]+)\.on\.aws$")


def function_url_region(url: str) -> str | None:
    """The region of a `<id>.lambda-url.<region>.on.aws` URL, or None for any other host."""
    match = _FUNCTION_URL_HOST.match((urlsplit(url).hostname or "").lower())
    return match.group("region") if match else None


def should_sign(url: str, *, sign: bool | None) -> bool:
    """Explicit --sign/--no-sign wins; otherwise sign exactly the Function URL hosts."""
    return sign if sign is not None else function_url_region(url) is not None


def resolve_region(url: str, *, region: str | None, session: Session | None = None) -> str:
    """--region, else the URL host's region, else the configured default region, else us-east-1."""
    return (
        region
        or function_url_region(url)
        or (session and session.get_config_variable("region"))
        or (DEFAULT_REGION)
    )


def resolve_credentials(*, profile: str | None = None) -> ReadOnlyCredentials:
    """Frozen credentials from botocore's standard chain (env, profile, SSO, container, instance role)."""
    return frozen_credentials(Session(profile=profile))


def frozen_credentials(session: Session) -> ReadOnlyCredentials:
    """The session's credentials as of now; botocore refreshes expiring (role, SSO) credentials first.

    A long-lived caller keeps one session and calls this per request: the chain is resolved once and
    cached by the session, and rotating credentials stay current.
    """
    credentials = session.get_credentials()
    if credentials is None:
        raise MissingCredentialsError()
    return credentials.get_frozen_credentials()


def sign_headers(
    *,
    method: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    credentials: ReadOnlyCredentials | Credentials,
    region: str,
    signed_at: dt.datetime | None = None,
) -> dict[str, str]:
    """The headers to send: `headers` plus X-Amz-Date, Authorization (and the session token) for `body`.

    `signed_at` pins the signing time (tests use it to produce an expired signature); by default
    botocore stamps the current time.
    """
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer: SigV4Auth = (
        _PinnedClockSigV4Auth(credentials, SERVICE, region, signed_at=signed_at)
        if signed_at is not None
        else SigV4Auth(credentials, SERVICE, region)
    )
    signer.add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


class _PinnedClockSigV4Auth(SigV4Auth):  # type: ignore[misc]
    """botocore's SigV4 signer with the timestamp fixed instead of read from the clock."""

    def __init__(
        self, credentials: Any, service_name: str, region_name: str, *, signed_at: dt.datetime
    ) -> None:
        super().__init__(credentials, service_name, region_name)
        self._timestamp = signed_at.astimezone(dt.UTC).strftime(SIGV4_TIMESTAMP)

    def add_auth(self, request: AWSRequest) -> None:
        # Same steps as SigV4Auth.add_auth, which would overwrite the timestamp with the current time.
        request.context["timestamp"] = self._timestamp
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))
