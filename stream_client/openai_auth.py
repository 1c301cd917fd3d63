"""SigV4 signing for the openai SDK's HTTP clients, so the SDK can call an AWS_IAM Function URL."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

import anyio.to_thread
import httpx2
from botocore.session import Session
from openai import DefaultAsyncHttpxClient, DefaultHttpxClient

from stream_client import signing

# Besides host and the body's type, only x-amz-* headers are signed. Whatever a proxy or the transport
# may rewrite (connection, accept-encoding, content-length) or what changes per attempt
# (x-stainless-retry-count, user-agent) stays out of the signature, so it cannot break it.
_SIGNED_HEADERS = frozenset({"host", "content-type"})


class FunctionUrlSigV4Auth(httpx2.Auth):
    """Signs each request for service `lambda`, replacing the SDK's `Authorization: Bearer ...`.

    Credentials come from botocore's standard chain, resolved once per auth object and re-read (and
    refreshed when they expire) for every request. The region is `region`, else the Function URL
    host's, else the configured default, else us-east-1.
    """

    requires_request_body = True

    def __init__(self, *, region: str | None = None, profile: str | None = None) -> None:
        self._region = region
        self._session = Session(profile=profile)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        self._sign(request)
        yield request

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        # Resolving or refreshing credentials may block on the network (STS, SSO, instance metadata),
        # and reading the config files on disk.
        await anyio.to_thread.run_sync(self._sign, request)
        yield request

    def _sign(self, request: httpx2.Request) -> None:
        credentials = signing.frozen_credentials(self._session)
        request.headers.pop("authorization", None)
        url = str(request.url)
        to_sign = {
            name: value
            for name, value in request.headers.items()
            if name in _SIGNED_HEADERS or name.startswith("x-amz-")
        }
        signed = signing.sign_headers(
            method=request.method,
            url=url,
            body=request.content,
            headers=to_sign,
            credentials=credentials,
            region=signing.resolve_region(url, region=self._region, session=self._session),
        )
        request.headers.update(signed)


def iam_http_client(
    *, region: str | None = None, profile: str | None = None, **client_kwargs: Any
) -> httpx2.Client:
    """The SDK's default client (its timeouts and connection limits) with every request SigV4-signed.

    `client_kwargs` go to the client. Redirects are not followed unless asked for: httpx2 sends a
    redirect hop without re-running the auth, with the first request's signature and session token.
    """
    client_kwargs.setdefault("follow_redirects", False)
    return DefaultHttpxClient(auth=FunctionUrlSigV4Auth(region=region, profile=profile), **client_kwargs)


def async_iam_http_client(
    *, region: str | None = None, profile: str | None = None, **client_kwargs: Any
) -> httpx2.AsyncClient:
    """`iam_http_client` for `AsyncOpenAI`: the SDK's default async client, every request SigV4-signed."""
    client_kwargs.setdefault("follow_redirects", False)
    return DefaultAsyncHttpxClient(auth=FunctionUrlSigV4Auth(region=region, profile=profile), **client_kwargs)
