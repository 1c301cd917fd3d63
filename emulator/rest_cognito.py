"""Cognito user-pool authorization for the emulated REST API: an ID token checked with PyJWT (RS256
signature against a JWKS file, `iss`, `aud`, `exp`, `token_use`) and its claims as API Gateway passes
them on (every value a string)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from jwt.api_jwk import PyJWK

from emulator import rest_responses
from emulator.rest_keys import Refused

ALGORITHM = "RS256"  # what Cognito signs ID tokens with; anything else is refused
MAX_TOKEN_CHARS = 16 * 1024  # longer is malformed: refused before any parsing
_BEARER = "bearer "
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "token_use"]
_DATE_CLAIMS = frozenset({"exp", "iat"})  # API Gateway renders these as Java dates


class CognitoConfigError(ValueError):
    """The JWKS file or the Cognito options cannot be used (one line, for the command line)."""


class TokenRejected(Refused):
    """The token does not authorize the request (401). `reason` says why and never quotes the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(rest_responses.UNAUTHORIZED, reason=reason)


@dataclass(frozen=True, slots=True)
class CognitoSettings:
    """The user pool as the authorizer knows it: its signing keys by `kid`, app client id and issuer."""

    client_id: str
    issuer: str | None
    keys: Mapping[str, Any] = field(repr=False)  # kid -> public key (cryptography RSA key)


def load_settings(jwks_path: str | Path, *, client_id: str, issuer: str | None) -> CognitoSettings:
    """Read the JWKS file (`{"keys": [...]}`, RSA keys for RS256 with a `kid` each); raises
    CognitoConfigError."""
    if not client_id:
        raise CognitoConfigError("--cognito-client-id is empty")
    try:
        document = json.loads(Path(jwks_path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CognitoConfigError(f"cannot read {jwks_path}: {exc.__class__.__name__}") from None
    except ValueError as exc:
        raise CognitoConfigError(f"{jwks_path} is not JSON: {exc}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CognitoConfigError(f'{jwks_path} must be a JWKS: {{"keys": [...]}} with at least one key')
    keys: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        kid, key = _public_key(entry, f"{jwks_path}: key {index}")
        if kid in keys:
            raise CognitoConfigError(f"{jwks_path}: two keys have kid {kid!r}")
        keys[kid] = key
    return CognitoSettings(client_id=client_id, issuer=issuer or None, keys=keys)


def _public_key(entry: Any, where: str) -> tuple[str, Any]:
    if not isinstance(entry, dict):
        raise CognitoConfigError(f"{where} must be an object")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise CognitoConfigError(f'{where} needs a "kid"')
    if (
        entry.get("kty") != "RSA"
        or entry.get("alg", ALGORITHM) != ALGORITHM
        or entry.get("use", "sig") != "sig"
    ):
        raise CognitoConfigError(f"{where} ({kid!r}) must be an RSA signing key for {ALGORITHM}")
    if "d" in entry:
        raise CognitoConfigError(f"{where} ({kid!r}) is a private key: a JWKS holds public keys only")
    try:
        return kid, PyJWK(entry, algorithm=ALGORITHM).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
        raise CognitoConfigError(
            f"{where} ({kid!r}) is not a usable RSA key: {exc.__class__.__name__}"
        ) from None


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization` value, bare or after a case-insensitive "Bearer "."""
    token = (authorization or "").strip()
    return token[len(_BEARER) :].strip() if token[: len(_BEARER)].lower() == _BEARER else token


class CognitoVerifier:
    """Checks ID tokens as a COGNITO_USER_POOLS authorizer without scopes does."""

    def __init__(self, settings: CognitoSettings) -> None:
        self.settings = settings

    def claims(self, authorization: str | None) -> dict[str, str]:
        """The token's claims as strings, or TokenRejected: no token, not a JWT, not RS256 (`none`,
        HS256, ...), an unknown `kid`, a bad signature, another issuer or app client, expired or not
        yet valid, or not an ID token."""
        token = bearer_token(authorization)
        if not token:
            raise TokenRejected("no token")
        if len(token) > MAX_TOKEN_CHARS or not token.isascii():
            raise TokenRejected("malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise TokenRejected(f"not a JWT ({exc.__class__.__name__})") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("algorithm is not RS256")
        kid = header.get("kid")
        key = self.settings.keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRejected("unknown kid")
        try:
            payload = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options={"require": _REQUIRED_CLAIMS, "verify_iss": self.settings.issuer is not None},
                leeway=0,
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            # The class name only: PyJWT's messages may quote parts of the token.
            raise TokenRejected(exc.__class__.__name__) from None
        if payload.get("token_use") != "id":
            raise TokenRejected("not an ID token")
        return {str(name): claim_string(name, value) for name, value in payload.items()}


def claim_string(name: str, value: Any) -> str:
    """A claim as API Gateway hands it to the function: `exp`/`iat` as Java dates ("Fri Jul 29 18:52:53
    UTC 2016"), booleans "true"/"false", lists comma-joined, objects as JSON, numbers as written."""
    if name in _DATE_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(claim_string("", item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
