"""The emulated REST API for tests: `serve --front rest` as a subprocess (its stage URL from the
`API URL:` ready line), key files, and a test Cognito user pool (an RSA key, its JWKS, signed ID tokens)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.emulator_process import READY_TIMEOUT_S, EmulatorProcess
from tests.support.http_client import request

_API_URL_LINE = re.compile(r"^API URL: (http://127\.0\.0\.1:\d+/)([A-Za-z0-9_-]+/)$", re.MULTILINE)
CLIENT_ID = "test-app-client-0123456789"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TESTPOOL"


class RestApiProcess(EmulatorProcess):
    """`python -m emulator serve --port 0 --front rest ARGS`: `.url` is the stage URL
    (`http://127.0.0.1:PORT/prod/`), `.root` the server's root (for /_emulator/)."""

    root: str

    def __init__(self, args: Sequence[str] = (), *, env: Mapping[str, str] | None = None) -> None:
        super().__init__(["--front", "rest", *args], env=env)

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if match := _API_URL_LINE.search(self.log()):
                self.root = match.group(1)
                return match.group(1) + match.group(2)
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the readers take in the last lines
                raise AssertionError(f"emulator exited before it was ready:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"emulator not ready after {READY_TIMEOUT_S}s:\n{self.log()}")

    def invocations(self) -> int:
        """Invocations the runtimes were handed so far (the health page's count)."""
        health = request(self.root, "/_emulator/health", method="GET").json()
        return sum(int(sandbox["invocations"]) for sandbox in health["sandboxes"])


def write_key_file(directory: Path, keys: Sequence[Mapping[str, Any]], name: str = "keys.json") -> Path:
    path = directory / name
    path.write_text(json.dumps(list(keys)), encoding="utf-8")
    return path


class UserPool:
    """A stand-in for a Cognito user pool: an RSA signing key (`kid`), its JWKS file, ID tokens."""

    def __init__(self, directory: Path, *, kid: str = "test-kid-1") -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=kid, alg="RS256", use="sig")
        self.jwks = {"keys": [jwk]}
        self.jwks_path = directory / f"jwks-{kid}.json"
        self.jwks_path.write_text(json.dumps(self.jwks), encoding="utf-8")

    def args(self, *, issuer: str | None = ISSUER) -> list[str]:
        """The serve options that trust this pool."""
        extra = ["--cognito-issuer", issuer] if issuer else []
        return ["--cognito-jwks", str(self.jwks_path), "--cognito-client-id", CLIENT_ID, *extra]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(uuid.uuid4()),
            "aud": CLIENT_ID,
            "iss": ISSUER,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "email": "user@example.com",
            "email_verified": True,
            "cognito:username": "test-user",
            "cognito:groups": ["readers", "writers"],
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(
        self, *, kid: str | None = None, headers: Mapping[str, Any] | None = None, **claims: Any
    ) -> str:
        """An RS256 ID token signed by this pool (claims overridden by keyword; None drops one)."""
        return jwt.encode(
            self.claims(**claims),
            self.private_key,
            algorithm="RS256",
            headers={"kid": kid or self.kid, **(headers or {})},
        )
