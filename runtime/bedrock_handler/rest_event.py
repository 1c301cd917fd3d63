"""The request inside an API Gateway REST proxy (payload 1.0) event, read as a Function URL's is, and the
caller's principal (API key id, Cognito `sub`, Lambda-authorizer principal or IAM ARN; never a secret)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REST_API = "rest-api"  # the door of a payload 1.0 event (http_event.FUNCTION_URL: payload 2.0)
_PRINCIPAL_MAX = 256


def request_fields(event: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of `http_event.HttpRequest` for a REST event. Never raises: a part that is
    missing or of the wrong type is absent, as for a Function URL event.

    Headers are lower-cased, a repeated header's values joined by commas as a Function URL joins them
    (`multiValueHeaders` wins over `headers`, as API Gateway merges them); a repeated query parameter's
    values are comma-joined too (`multiValueQueryStringParameters` over `queryStringParameters`). The path
    is `path`, the resource path without the stage (else `requestContext.path`, which has it).
    """
    context = _object(event.get("requestContext"))
    method, path = event.get("httpMethod"), event.get("path")
    if not isinstance(method, str):
        method = context.get("httpMethod")
    if not (isinstance(path, str) and path):
        path = context.get("path")
    return {
        "method": method.upper() if isinstance(method, str) else "",
        "path": path if isinstance(path, str) and path else "/",
        "headers": _merged(event.get("headers"), event.get("multiValueHeaders"), lower=True),
        "query": _merged(
            event.get("queryStringParameters"), event.get("multiValueQueryStringParameters"), lower=False
        ),
        "raw_body": event.get("body"),
        "base64_body": bool(event.get("isBase64Encoded")),
        "door": REST_API,
        "principal": _principal(context),
    }


def principal_of(kind: str, value: object) -> str | None:
    """`<kind>:<value>` cut to 256 characters, or None unless `value` is a non-empty string."""
    return f"{kind}:{value}"[:_PRINCIPAL_MAX] if isinstance(value, str) and value else None


def _principal(context: Mapping[str, Any]) -> str | None:
    """Who called: the API key's id (never its value), else the Cognito user's `sub`, else a Lambda
    authorizer's `principalId`, else the IAM caller's ARN; None for an anonymous call."""
    identity, authorizer = _object(context.get("identity")), _object(context.get("authorizer"))
    return (
        principal_of("apikey", identity.get("apiKeyId"))
        or principal_of("cognito", _object(authorizer.get("claims")).get("sub"))
        or principal_of("authorizer", authorizer.get("principalId"))
        or principal_of("iam", identity.get("userArn"))
    )


def _merged(single: object, multi: object, *, lower: bool) -> dict[str, str]:
    """One value per name: each non-empty list of the multi-value map joined with commas, else the
    single-value map's value (API Gateway sends every name in both; only the multi-value map has them all)."""
    single, multi = _object(single), _object(multi)
    merged: dict[str, str] = {}
    for name, values in multi.items():
        key = str(name).lower() if lower else str(name)
        if type(values) is list and values:
            first = values[0]  # nearly always the only value, and text
            merged[key] = first if len(values) == 1 and type(first) is str else ",".join(map(str, values))
        elif name in single:
            merged[key] = str(single[name])
    for name, value in single.items():
        if name not in multi:  # the multi-value map wins, whatever the case of the name there
            merged.setdefault(str(name).lower() if lower else str(name), str(value))
    return merged


def _object(value: object) -> Mapping[str, Any]:
    # `type(...) is dict` first: an event's objects are dicts, and the ABC check alone costs ~0.1 us a call.
    return value if type(value) is dict or isinstance(value, Mapping) else {}
