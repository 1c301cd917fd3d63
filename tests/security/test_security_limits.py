"""Request body and `maxTokens` limits hold end to end: over MAX_REQUEST_BYTES is 413, over MAX_TOKENS_LIMIT
is 400 and never reaches Bedrock, and what is sent to Bedrock (seen at a stand-in in this process) and
streamed back never exceeds the cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.bedrock_stub import BedrockStub
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

MAX_REQUEST_BYTES = 2048
MAX_TOKENS_LIMIT = 5
DEFAULT_MAX_TOKENS = 3


@pytest.fixture(scope="module")
def stand_in() -> Iterator[BedrockStub]:
    """The stand-in runs here, so the test can read the exact request the function sent to 'Bedrock'."""
    with BedrockStub.start() as stub:
        yield stub


@pytest.fixture(scope="module")
def emulator(stand_in: BedrockStub) -> Iterator[EmulatorProcess]:
    settings = {
        "MAX_REQUEST_BYTES": MAX_REQUEST_BYTES,
        "MAX_TOKENS_LIMIT": MAX_TOKENS_LIMIT,
        "DEFAULT_MAX_TOKENS": DEFAULT_MAX_TOKENS,
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,  # --env wins over the emulator's own stand-in
    }
    args = [arg for name, value in settings.items() for arg in ("--env", f"{name}={value}")]
    with EmulatorProcess(args) as running:
        yield running


def _post(emulator: EmulatorProcess, document: dict[str, Any] | bytes) -> Response:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return request(emulator.url, "/?format=ndjson", body=body, headers={"Content-Type": "application/json"})


def _padded(size: int) -> bytes:
    """A valid JSON request body of exactly `size` bytes."""
    skeleton = json.dumps({"prompt": "pad @stub:tokens=1 "}).encode()
    filler = size - len(skeleton)
    return json.dumps({"prompt": "pad @stub:tokens=1 " + "x" * filler}).encode()


def _error(response: Response) -> dict[str, str]:
    assert response.header("content-type") == "application/json"
    error: dict[str, str] = response.json()["error"]
    return error


def test_body_at_the_limit_passes_and_one_byte_more_is_413(emulator: EmulatorProcess) -> None:
    at_limit, over = _padded(MAX_REQUEST_BYTES), _padded(MAX_REQUEST_BYTES + 1)
    assert (len(at_limit), len(over)) == (MAX_REQUEST_BYTES, MAX_REQUEST_BYTES + 1)
    assert _post(emulator, at_limit).status == 200
    response = _post(emulator, over)
    assert response.status == 413
    assert _error(response) == {
        "type": "payload_too_large",
        "message": f"request body exceeds {MAX_REQUEST_BYTES} bytes",
    }


def _sent_max_tokens(stand_in: BedrockStub, before: int) -> list[int]:
    return [r.body["inferenceConfig"]["maxTokens"] for r in stand_in.requests[before:]]


@pytest.mark.parametrize(("asked", "expected"), [(None, DEFAULT_MAX_TOKENS), (1, 1), (MAX_TOKENS_LIMIT, 5)])
def test_what_bedrock_gets_and_the_client_sees_stays_within_the_cap(
    emulator: EmulatorProcess, stand_in: BedrockStub, asked: int | None, expected: int
) -> None:
    document: dict[str, Any] = {"prompt": "count @stub:tokens=50"}
    if asked is not None:
        document["maxTokens"] = asked
    before = len(stand_in.requests)
    response = _post(emulator, document)
    assert response.status == 200, response.body
    assert _sent_max_tokens(stand_in, before) == [expected]
    records = response.ndjson()
    deltas = [r for r in records if r["type"] == "delta"]
    assert len(deltas) == expected
    assert records[-1]["type"] == "done"
    assert records[-1]["stopReason"] == "max_tokens"
    assert records[-1]["usage"]["outputTokens"] == expected


@pytest.mark.parametrize(
    "value", [MAX_TOKENS_LIMIT + 1, 10**9, 0, -1, 2.5, 5.0, "5", True, [5], {"n": 5}, float("inf")]
)
def test_max_tokens_out_of_range_or_of_the_wrong_type_is_400_and_never_sent(
    emulator: EmulatorProcess, stand_in: BedrockStub, value: object
) -> None:
    before = len(stand_in.requests)
    body = json.dumps({"prompt": "count @stub:tokens=50", "maxTokens": value}).encode()
    response = _post(emulator, body)
    assert response.status == 400, response.body
    error = _error(response)
    assert error["type"] == "invalid_request"
    assert "maxTokens must be" in error["message"]
    assert len(stand_in.requests) == before  # rejected before any Bedrock call
