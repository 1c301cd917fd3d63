"""API Gateway TOKEN authorizer: maps `Authorization: Bearer <key>` to the usage-plan API key it names.

API Gateway (key source AUTHORIZER) then checks the returned ``usageIdentifierKey`` against the stage's
usage plans itself: an unknown or disabled key is refused there (403 INVALID_API_KEY), and a known one is
throttled and metered. This function only reads the header, so it needs no AWS permission; it logs nothing,
and the key value leaves it only as ``usageIdentifierKey``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

# API Gateway key values are 20-128 characters; anything else (whitespace, control or non-ASCII
# characters, another scheme such as "Basic x") can never name a key, so it is refused before lookup.
_KEY = re.compile(r"[\x21-\x7e]{20,128}")
_BEARER = "bearer "
# arn:<partition>:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path...>
_METHOD_ARN = re.compile(r"(arn:[a-z-]+:execute-api:[a-z0-9-]+:\d{12}:[A-Za-z0-9]+/[^/]+)/.+")


class UnauthorizedError(Exception):
    """A missing, empty or malformed token; API Gateway answers 401 for exactly the message "Unauthorized"."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def key_from_token(token: object) -> str:
    """The API key in an Authorization header value: after a case-insensitive ``Bearer `` or bare."""
    if not isinstance(token, str):
        raise UnauthorizedError
    key = token[len(_BEARER) :] if token[: len(_BEARER)].lower() == _BEARER else token
    if not well_formed(key):
        raise UnauthorizedError
    return key


def well_formed(key: str) -> bool:
    """20 to 128 visible ASCII characters: what an API Gateway key value can be."""
    return _KEY.fullmatch(key) is not None


def principal_id(key: str) -> str:
    """A stable, non-secret name for the caller: a short digest of the key, never the key itself."""
    return "apikey-" + hashlib.sha256(key.encode("ascii")).hexdigest()[:16]


def stage_wildcard(method_arn: object) -> str:
    """``arn:...:<api-id>/<stage>/*/*``: the cached policy then allows every method and path."""
    match = _METHOD_ARN.fullmatch(method_arn) if isinstance(method_arn, str) else None
    if match is None:
        raise UnauthorizedError
    return f"{match.group(1)}/*/*"


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The TOKEN authorizer entry point (``api_key_authorizer.handler``)."""
    key = key_from_token(event.get("authorizationToken"))
    principal = principal_id(key)
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": stage_wildcard(event.get("methodArn")),
                }
            ],
        },
        # Scalars only (API Gateway refuses objects and arrays); reaches the function as
        # requestContext.authorizer.authMethod.
        "context": {"authMethod": "api-key"},
        "usageIdentifierKey": key,
    }
