"""Builds the Function URL request event (payload format 2.0, PROTOCOL.md §3.2) from an HTTP request."""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

# Bodies of these media types are passed as text; everything else is base64 (HTTP API v2 behaviour).
_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What the front received, before any interpretation."""

    method: str
    target: str  # the request-target as sent: raw path plus optional ?query
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    server_port: int
    protocol: str = "HTTP/1.1"


def is_text_body(content_type: str | None) -> bool:
    """Whether a body of this Content-Type goes into the event as text (else base64)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.startswith("text/") or media_type in _TEXT_MEDIA_TYPES


def format_time(epoch_ms: int) -> str:
    """requestContext.time: dd/Mon/yyyy:HH:MM:SS +0000 (English month names whatever the locale)."""
    t = time.gmtime(epoch_ms / 1000)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


def build_event(
    request: HttpRequest,
    *,
    request_id: str,
    epoch_ms: int,
    iam: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event; `iam` is requestContext.authorizer.iam for AWS_IAM URLs."""
    raw_path, _, raw_query = request.target.partition("?")
    headers = joined_headers(request.headers)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", str(request.server_port))
    host = headers.get("host", "localhost")
    domain = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # keep IPv6 literals whole
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
    }
    cookies = _cookies(request.headers)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if raw_query:
        event["queryStringParameters"] = _query_parameters(raw_query)
    context: dict[str, Any] = {
        "accountId": iam["accountId"] if iam else "anonymous",
        "apiId": "emulator",
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": unquote(raw_path),
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": format_time(epoch_ms),
        "timeEpoch": epoch_ms,
    }
    if iam is not None:
        context["authorizer"] = {"iam": dict(iam)}
    event["requestContext"] = context
    if request.body:
        text = _as_text(request.body, headers.get("content-type"))
        if text is None:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


def joined_headers(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Header names lower-cased, repeated headers joined with commas (as both the event and SigV4 want)."""
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return headers


def _cookies(pairs: Sequence[tuple[str, str]]) -> list[str]:
    cookies: list[str] = []
    for name, value in pairs:
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
    return cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def _as_text(body: bytes, content_type: str | None) -> str | None:
    if not is_text_body(content_type):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None  # not representable as JSON text: fall back to base64
