"""The Lambda API end to end with the real function: `serve --lambda-api-port 0` running
`runtime/bootstrap` with `bedrock_handler` against the offline Bedrock stand-in, driven by boto3's own
Lambda client. A direct event streams the model's text with no HTTP prelude; Bedrock's failures reach
the caller in `InvokeComplete` (mid-stream) or as the only event (before the first token)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.emulator.test_lambda_api import lambda_client
from tests.support.emulator_process import REPO, EmulatorProcess
from tests.support.http_client import request

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)

MID_STREAM = "Bedrock modelStreamErrorException: The model failed mid-stream (stub)."


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(["--lambda-api-port", "0", "--timeout", "30"]) as running:  # `make local`, port 0
        yield running


@pytest.fixture(scope="module")
def lam(emulator: EmulatorProcess) -> Any:
    return lambda_client(emulator)


def stream(lam: Any, event: object) -> tuple[str, list[tuple[float, dict[str, Any]]]]:
    response = lam.invoke_with_response_stream(FunctionName="function", Payload=json.dumps(event).encode())
    return response["ResponseStreamContentType"], [(time.monotonic(), e) for e in response["EventStream"]]


def payloads(events: list[tuple[float, dict[str, Any]]]) -> list[bytes]:
    return [event["PayloadChunk"]["Payload"] for _, event in events if "PayloadChunk" in event]


def test_the_issues_example_streams_from_the_emulator(lam: Any) -> None:
    text = ""
    for event in lam.invoke_with_response_stream(FunctionName="function", Payload=b'{"prompt": "hello"}')[
        "EventStream"
    ]:
        text += event.get("PayloadChunk", {}).get("Payload", b"").decode()
    assert len(text.split()) == 12  # the stand-in's default reply: 12 words, no prelude, no JSON


def test_tokens_arrive_as_payload_chunks_one_by_one(lam: Any) -> None:
    content_type, events = stream(lam, {"prompt": "hi @stub:tokens=6 @stub:delay-ms=120"})
    assert content_type == "text/plain; charset=utf-8"
    chunks = payloads(events)
    assert len(chunks) == 6 and len(b"".join(chunks).split()) == 6
    arrivals = [at for at, event in events if "PayloadChunk" in event]
    assert arrivals[-1] - arrivals[0] >= 0.4  # five gaps of 120 ms between the first and the last
    assert events[-1][1] == {"InvokeComplete": {}}


def test_a_mid_stream_bedrock_failure_is_in_invoke_complete(lam: Any) -> None:
    _, events = stream(lam, {"prompt": "hi @stub:tokens=6 @stub:error-after=3"})
    assert len(payloads(events)) == 3
    assert events[-1][1] == {
        "InvokeComplete": {"ErrorCode": "modelStreamErrorException", "ErrorDetails": MID_STREAM}
    }


def test_ndjson_has_its_error_line_in_band_first(lam: Any) -> None:
    content_type, events = stream(
        lam, {"prompt": "hi @stub:tokens=4 @stub:error-after=2", "format": "ndjson"}
    )
    assert content_type.startswith("application/x-ndjson")
    lines = [json.loads(line) for line in b"".join(payloads(events)).splitlines()]
    assert [line["type"] for line in lines] == ["delta", "delta", "error"]
    assert lines[-1]["error"] == {"type": "modelStreamErrorException", "message": MID_STREAM}
    assert events[-1][1]["InvokeComplete"]["ErrorCode"] == "modelStreamErrorException"


@pytest.mark.parametrize(
    ("event", "code", "details"),
    [
        ({"prompt": ""}, "invalid_request", "prompt must not be empty"),
        (
            {"prompt": "hi @stub:throttle"},
            "throttled",
            "Bedrock ThrottlingException: Too many requests, please wait (stub).",
        ),
        (
            "hello",
            "invalid_request",
            "a direct invocation's event must be a JSON object (the request body), not a string",
        ),
    ],
)
def test_a_failure_before_the_first_token_is_the_only_event(
    lam: Any, event: object, code: str, details: str
) -> None:
    content_type, events = stream(lam, event)
    assert content_type == "application/json"
    assert [e for _, e in events] == [{"InvokeComplete": {"ErrorCode": code, "ErrorDetails": details}}]


def test_invoke_buffers_the_text_and_reports_a_refusal_as_a_function_error(lam: Any) -> None:
    response = lam.invoke(FunctionName="function", Payload=b'{"prompt": "hi @stub:tokens=5"}')
    assert "FunctionError" not in response and len(response["Payload"].read().split()) == 5
    refused = lam.invoke(FunctionName="function", Payload=b'{"prompt": ""}')
    assert refused["FunctionError"] == "Unhandled"
    error = json.loads(refused["Payload"].read())
    assert (error["errorType"], error["errorMessage"], error["stackTrace"]) == (
        "invalid_request",
        "prompt must not be empty",
        [],
    )


def test_direct_invocations_are_in_the_metrics(emulator: EmulatorProcess, lam: Any) -> None:
    def total() -> dict[str, Any]:
        snapshot: dict[str, Any] = request(emulator.url, "/_emulator/metrics", method="GET").json()
        return snapshot["total"]

    before = total()
    stream(lam, {"prompt": "hi @stub:tokens=3"})
    lam.invoke(FunctionName="function", Payload=b'{"prompt": ""}')
    deadline = time.monotonic() + 5
    while total()["requests"] < before["requests"] + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    after = total()
    assert after["requests"] == before["requests"] + 2
    assert after["outcomes"].get("ok", 0) == before["outcomes"].get("ok", 0) + 1
    assert after["outcomes"].get("client_error", 0) == before["outcomes"].get("client_error", 0) + 1
    assert after["outputTokens"] == before["outputTokens"] + 3
