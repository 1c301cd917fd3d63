"""Builds the API Gateway REST proxy event (payload format 1.0, PROTOCOL.md §11.2) for a request to the
emulated REST API's `ANY /` and `ANY /{proxy+}` methods."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from emulator.url_event import HttpRequest, format_time

ACCOUNT_ID = "000000000000"  # the local account (as emulator.sigv4 uses)
API_ID = "emulator"
PROXY_RESOURCE = "/{proxy+}"
ROOT_RESOURCE = "/"
_RESOURCE_IDS = {ROOT_RESOURCE: "root00", PROXY_RESOURCE: "proxy0"}
_IDENTITY_FIELDS = (
    "cognitoIdentityPoolId",
    "accountId",
    "cognitoIdentityId",
    "caller",
    "apiKey",
    "apiKeyId",
    "accessKey",
    "sourceIp",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
    "userArn",
    "userAgent",
    "user",
    "principalOrgId",
    "clientCert",
)


@dataclass(frozen=True, slots=True)
class StagePath:
    """A request target split at the stage: `path` is what follows `/<stage>` (at least "/"), still
    percent-encoded as sent (as API Gateway passes it); `full_path` is the whole path as sent, with the
    stage; `query` is the raw query string."""

    stage: str
    path: str
    full_path: str
    query: str

    @property
    def resource(self) -> str:
        """The method's resource: `/` for the stage root, `/{proxy+}` for everything below it."""
        return ROOT_RESOURCE if self.path == "/" else PROXY_RESOURCE


def split_stage(target: str, stage: str) -> StagePath | None:
    """`/<stage>` or `/<stage>/...` split into the stage and the rest; None for any other path (API
    Gateway answers those 403 Missing Authentication Token)."""
    raw_path, _, query = target.partition("?")
    prefix = f"/{stage}"
    if raw_path == prefix:
        return StagePath(stage, "/", raw_path, query)
    if raw_path.startswith(prefix + "/"):
        return StagePath(stage, raw_path[len(prefix) :], raw_path, query)
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """What the authorization step learnt about the caller: the API key (value and id), and the
    authorizer's output (`{"principalId", ..., "integrationLatency"}` or `{"claims": {...}}`)."""

    api_key: str | None = None
    api_key_id: str | None = None
    authorizer: Mapping[str, Any] | None = None


def new_extended_request_id() -> str:
    """An id shaped like API Gateway's extendedRequestId (16 base64 characters then "=")."""
    return base64.b64encode(secrets.token_bytes(12)).decode("ascii")[:15] + "A="


def build_event(
    request: HttpRequest,
    where: StagePath,
    *,
    request_id: str,
    extended_request_id: str,
    epoch_ms: int,
    caller: Caller | None = None,
) -> dict[str, Any]:
    """The payload 1.0 event API Gateway sends a REST proxy integration for this request."""
    caller = caller or Caller()
    headers, multi_headers = _headers(request)
    query, multi_query = _query(where.query)
    host = next((v for k, v in multi_headers.items() if k.lower() == "host"), [""])[-1] or "localhost"
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # keep IPv6 literals whole
    resource = where.resource
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_FIELDS)
    identity.update(
        sourceIp=request.source_ip,
        userAgent=headers.get(_original_name(headers, "user-agent")),
        apiKey=caller.api_key,
        apiKeyId=caller.api_key_id,
    )
    context: dict[str, Any] = {
        "resourceId": _RESOURCE_IDS[resource],
        "resourcePath": resource,
        "httpMethod": request.method,
        "extendedRequestId": extended_request_id,
        "requestTime": format_time(epoch_ms),
        "path": where.full_path,
        "accountId": ACCOUNT_ID,
        "protocol": request.protocol,
        "stage": where.stage,
        "domainPrefix": domain.split(".", 1)[0],
        "requestTimeEpoch": epoch_ms,
        "requestId": request_id,
        "identity": identity,
        "domainName": domain,
        "apiId": API_ID,
    }
    if caller.authorizer is not None:
        context["authorizer"] = dict(caller.authorizer)
    body, is_base64 = _body(request.body)
    return {
        "resource": resource,
        "path": where.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": None if resource == ROOT_RESOURCE else {"proxy": unquote(where.path[1:])},
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _headers(request: HttpRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Names as sent (the first spelling of a repeated name); `headers` keeps a repeated header's last
    value, `multiValueHeaders` all of them. The X-Forwarded-* headers API Gateway adds are added."""
    pairs: list[tuple[str, str]] = list(request.headers)
    present = {name.lower() for name, _ in pairs}
    for name, value in (
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(request.server_port)),
        ("X-Forwarded-Proto", "http"),
    ):
        if name.lower() not in present:
            pairs.append((name, value))
    spelling: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        key = spelling.setdefault(name.lower(), name)
        multi.setdefault(key, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _original_name(headers: Mapping[str, str], lower: str) -> str:
    return next((name for name in headers if name.lower() == lower), lower)


def _query(raw: str) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Decoded parameters (null without any): the last value of each, and all of them."""
    if not raw:
        return None, None
    multi: dict[str, list[str]] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        multi.setdefault(key, []).append(value)
    if not multi:
        return None, None
    return {key: values[-1] for key, values in multi.items()}, multi


def _body(body: bytes) -> tuple[str | None, bool]:
    """The body as text when it is UTF-8 (whatever its type: a REST API without binary media types),
    else base64 with isBase64Encoded; null when empty."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True
