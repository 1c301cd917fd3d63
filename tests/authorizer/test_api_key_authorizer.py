"""The API-key TOKEN authorizer: Bearer stripping, refusals, the stage-wide policy, what it never reveals."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authorizer.api_key_authorizer import UnauthorizedError, handler

KEY = "Abc123def456Ghi789jkl012Mno345pqr678Stu9"  # 40 characters, like a generated key
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/v1/chat/completions"
STAGE_WILDCARD = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"
SOURCE = Path(__file__).resolve().parents[2] / "authorizer" / "api_key_authorizer.py"


def _event(token: object = None, method_arn: object = METHOD_ARN, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "TOKEN", "methodArn": method_arn, **extra}
    if token is not None:
        event["authorizationToken"] = token
    return event


@pytest.mark.parametrize("token", [f"Bearer {KEY}", f"bearer {KEY}", f"BEARER {KEY}", f"bEaReR {KEY}", KEY])
def test_bearer_prefix_is_stripped_case_insensitively_and_a_bare_value_is_the_key(token: str) -> None:
    result = handler(_event(token), None)
    assert result["usageIdentifierKey"] == KEY


@pytest.mark.parametrize(
    "event",
    [
        _event(),  # no authorizationToken at all
        _event(""),
        _event("Bearer "),
        _event("Bearer"),
        _event(f"Bearer  {KEY}"),  # two spaces: the key would begin with one
        _event(f"Basic {KEY}"),
        _event(f"Bearer {KEY} extra"),
        _event(f"Bearer {KEY}\n"),
        _event(f"Bearer {KEY[:-1]}é"),
        _event(f"Bearer {KEY[:19]}"),  # 19 characters: shorter than any API Gateway key
        _event("Bearer " + "k" * 129),  # longer than any API Gateway key
        _event(12345678901234567890123),
        _event(["Bearer", KEY]),
        _event(f"Bearer {KEY}", method_arn=None),
        _event(f"Bearer {KEY}", method_arn="arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"),
        _event(f"Bearer {KEY}", method_arn="not an arn"),
    ],
    ids=lambda event: repr(event.get("authorizationToken"))[:30] + "|" + repr(event.get("methodArn"))[-12:],
)
def test_missing_empty_or_malformed_is_unauthorized(event: dict[str, Any]) -> None:
    with pytest.raises(UnauthorizedError) as raised:
        handler(event, None)
    # API Gateway answers 401 only for this exact message; anything else becomes a 500.
    assert str(raised.value) == "Unauthorized"
    assert isinstance(raised.value, Exception)


def test_the_policy_allows_every_method_and_path_of_the_stage() -> None:
    result = handler(_event(f"Bearer {KEY}"), None)
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_WILDCARD}],
    }
    # A cached answer is reused for other paths: the same token on GET /v1/models yields the same policy.
    other = handler(
        _event(KEY, method_arn=METHOD_ARN.replace("POST/v1/chat/completions", "GET/v1/models")), None
    )
    assert other["policyDocument"] == result["policyDocument"]


@pytest.mark.parametrize(
    ("method_arn", "wildcard"),
    [
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/dev/GET/",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/dev/*/*",
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/v1_beta/ANY/a/b/c",
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:abc123/v1_beta/*/*",
        ),
    ],
)
def test_the_wildcard_keeps_partition_region_account_api_and_stage(method_arn: str, wildcard: str) -> None:
    assert handler(_event(KEY, method_arn=method_arn), None)["policyDocument"]["Statement"][0][
        "Resource"
    ] == (wildcard)


def test_principal_is_a_digest_never_the_key_and_context_holds_scalars_only() -> None:
    result = handler(_event(f"Bearer {KEY}"), None)
    assert result["principalId"] == "apikey-" + hashlib.sha256(KEY.encode()).hexdigest()[:16]
    assert KEY not in result["principalId"]
    assert KEY not in json.dumps(result["context"])
    assert result["context"] and all(
        isinstance(value, str | int | float | bool) for value in result["context"].values()
    )
    # Everything API Gateway reads is JSON; the key leaves only as usageIdentifierKey.
    encoded = json.dumps(result)
    assert encoded.count(KEY) == 1 and set(result) == {
        "principalId",
        "policyDocument",
        "context",
        "usageIdentifierKey",
    }


def test_two_keys_get_two_principals_and_one_key_always_the_same() -> None:
    other = KEY[::-1]
    first, again, second = (
        handler(_event(token), None)["principalId"] for token in (KEY, f"Bearer {KEY}", other)
    )
    assert first == again != second


@settings(max_examples=300, deadline=None)
@given(token=st.one_of(st.text(max_size=200), st.binary(max_size=60).map(lambda b: b.decode("latin-1"))))
def test_any_token_is_a_key_in_range_or_unauthorized_and_never_echoed_elsewhere(token: str) -> None:
    try:
        result = handler(_event(token), None)
    except UnauthorizedError as error:
        assert str(error) == "Unauthorized"
        return
    key = result["usageIdentifierKey"]
    assert 20 <= len(key) <= 128 and key.isascii() and key.isprintable() and " " not in key
    assert token == key or (token[:7].lower() == "bearer " and token[7:] == key)
    assert key not in result["principalId"] and key not in json.dumps(result["context"])


def test_the_authorizer_needs_nothing_beyond_the_standard_library() -> None:
    """The zip holds only authorizer/: any third-party import would fail at the first invocation."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    roots = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert roots and roots <= set(sys.stdlib_module_names)
