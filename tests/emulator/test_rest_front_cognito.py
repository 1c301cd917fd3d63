"""Cognito ID-token checks of the emulated REST API (PyJWT against a JWKS made here): what a
COGNITO_USER_POOLS authorizer accepts and refuses, and the claims as strings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from emulator.rest_cognito import (
    CognitoConfigError,
    CognitoVerifier,
    TokenRejected,
    claim_string,
    load_settings,
)
from tests.support.emulator_process import run_emulator
from tests.support.rest_api import CLIENT_ID, ISSUER, UserPool


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> UserPool:
    return UserPool(tmp_path_factory.mktemp("pool"))


@pytest.fixture(scope="module")
def verifier(pool: UserPool) -> CognitoVerifier:
    return CognitoVerifier(load_settings(pool.jwks_path, client_id=CLIENT_ID, issuer=ISSUER))


def _b64(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def unsigned(pool: UserPool, alg: str = "none") -> str:
    """A token with `alg: none` (or any alg) and no signature, claims otherwise valid."""
    return f"{_b64({'alg': alg, 'typ': 'JWT', 'kid': pool.kid})}.{_b64(pool.claims())}."


def rejected(verifier: CognitoVerifier, authorization: str | None) -> str:
    with pytest.raises(TokenRejected) as caught:
        verifier.claims(authorization)
    assert caught.value.response.status == 401 and caught.value.response.error_type == "unauthorized"
    return caught.value.reason


def test_a_valid_id_token_bare_or_bearer(pool: UserPool, verifier: CognitoVerifier) -> None:
    token = pool.token(sub="user-123")
    for authorization in (token, f"Bearer {token}", f"bearer {token}", f"  Bearer {token} "):
        claims = verifier.claims(authorization)
        assert claims["sub"] == "user-123" and claims["aud"] == CLIENT_ID and claims["token_use"] == "id"


def test_claims_arrive_as_strings_as_api_gateway_passes_them(
    pool: UserPool, verifier: CognitoVerifier
) -> None:
    claims = verifier.claims(pool.token(iat=1469814773, exp=4102444800, auth_time=1469814773))
    assert all(isinstance(value, str) for value in claims.values())
    assert claims["exp"] == "Fri Jan 01 00:00:00 UTC 2100"  # a Java date, as in AWS's own examples
    assert claims["iat"] == "Fri Jul 29 17:52:53 UTC 2016"
    assert claims["auth_time"] == "1469814773"
    assert (claims["email_verified"], claims["cognito:groups"]) == ("true", "readers,writers")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (1.5, "1.5"),
        (["a"], "a"),
        ({"k": 1}, '{"k":1}'),
        ("s", "s"),
    ],
)
def test_claim_string(value: Any, expected: str) -> None:
    assert claim_string("custom:x", value) == expected


def test_refusals(pool: UserPool, verifier: CognitoVerifier, tmp_path: Path) -> None:
    now = int(time.time())
    stranger = UserPool(tmp_path, kid=pool.kid)  # the same kid, another key: a foreign token
    cases = {
        "missing": None,
        "empty": "",
        "bearer only": "Bearer ",
        "not a jwt": "Bearer not-a-jwt",
        "expired": pool.token(exp=now - 1, iat=now - 3600),
        "not yet valid": pool.token(iat=now + 600),
        "foreign": stranger.token(),
        "unknown kid": pool.token(kid="another-kid"),
        "no kid": jwt.encode(pool.claims(), pool.private_key, algorithm="RS256"),
        "alg none": unsigned(pool),
        "alg none, signed part kept": unsigned(pool) + "c2ln",
        "RS512": jwt.encode(pool.claims(), pool.private_key, algorithm="RS512", headers={"kid": pool.kid}),
        "wrong audience": pool.token(aud="another-client"),
        "wrong issuer": pool.token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_OTHER"),
        "access token": pool.token(token_use="access"),
        "no token_use": pool.token(token_use=None),
        "no exp": pool.token(exp=None),
        "tampered": _tamper(pool.token()),
        "huge": "Bearer " + "a" * 20000,
        "non-ascii": "Bearer é" + pool.token(),
    }
    reasons = {name: rejected(verifier, value) for name, value in cases.items()}
    assert reasons["alg none"] == reasons["RS512"] == "algorithm is not RS256"
    assert reasons["unknown kid"] == reasons["no kid"] == "unknown kid"
    assert reasons["expired"] == "ExpiredSignatureError"
    assert reasons["foreign"] == reasons["tampered"] == "InvalidSignatureError"
    assert reasons["access token"] == "not an ID token"
    for name, reason in reasons.items():  # a reason is our own words, never a piece of the token
        assert "eyJ" not in reason and len(reason) < 60, (name, reason)


def test_hs256_signed_with_the_public_key_is_refused(pool: UserPool, verifier: CognitoVerifier) -> None:
    """The classic key-confusion attack: HS256 with the RSA public key (as PEM) as the HMAC secret."""
    public_jwk = pool.jwks["keys"][0]
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": pool.kid})
    body = _b64(pool.claims())
    secret = json.dumps(public_jwk).encode()
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    assert rejected(verifier, f"Bearer {token}") == "algorithm is not RS256"


def test_the_issuer_is_checked_only_when_given(pool: UserPool) -> None:
    anyone = CognitoVerifier(load_settings(pool.jwks_path, client_id=CLIENT_ID, issuer=None))
    assert anyone.claims(pool.token(iss="https://elsewhere.example"))["iss"] == "https://elsewhere.example"
    assert rejected(anyone, pool.token(iss=None)) == "MissingRequiredClaimError"  # iss must be there


def _tamper(token: str) -> str:
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{_b64(claims)}.{signature}"


@pytest.mark.parametrize(
    ("jwks", "message"),
    [
        ("not json", "is not JSON"),
        ({"keys": []}, "at least one key"),
        ({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}, 'needs a "kid"'),
        ({"keys": [{"kty": "EC", "kid": "k", "crv": "P-256"}]}, "must be an RSA signing key"),
        ({"keys": [{"kty": "RSA", "kid": "k", "alg": "RS512", "n": "x", "e": "AQAB"}]}, "RSA signing key"),
        ({"keys": [{"kty": "RSA", "kid": "k", "n": "!!", "e": "AQAB"}]}, "not a usable RSA key"),
    ],
)
def test_bad_jwks_files(tmp_path: Path, jwks: Any, message: str) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(jwks if isinstance(jwks, str) else json.dumps(jwks), encoding="utf-8")
    with pytest.raises(CognitoConfigError, match=message):
        load_settings(path, client_id=CLIENT_ID, issuer=None)


def test_a_private_key_in_the_jwks_is_refused(tmp_path: Path) -> None:
    pool = UserPool(tmp_path)
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(pool.private_key))
    private.update(kid="k")
    path = tmp_path / "private.json"
    path.write_text(json.dumps({"keys": [private]}), encoding="utf-8")
    with pytest.raises(CognitoConfigError, match="private key"):
        load_settings(path, client_id=CLIENT_ID, issuer=None)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cognito-client-id", "c"], "--cognito-client-id and --cognito-issuer need --cognito-jwks"),
        (["--cognito-jwks", "JWKS"], "--cognito-jwks needs --cognito-client-id"),
        (["--cognito-jwks", "JWKS", "--cognito-client-id", "c", "--api-keys", "x"], "exclude each other"),
        (["--cognito-jwks", "/nope.json", "--cognito-client-id", "c"], "--cognito-jwks: cannot read"),
    ],
)
def test_serve_option_errors_are_one_line(pool: UserPool, extra: list[str], message: str) -> None:
    args = [str(pool.jwks_path) if arg == "JWKS" else arg for arg in extra]
    result = run_emulator("serve", "--front", "rest", *args)
    assert result.returncode == 2
    assert message in result.stderr.strip().splitlines()[-1]
