"""The metrics document (CloudWatch EMF) the handler prints once per invocation: its golden shape, the
outcome of every way an invocation ends, its settings, and the values real boto3 calls to the real
stand-in produce (the stand-in's `@stub:` replies fix the token counts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from bedrock_handler import metrics
from bedrock_handler.config import ConfigError, HandlerConfig
from bedrock_handler.invocation import respond
from handler_support import FakeContext, base_env, load_event

from emulator.emf import problems

Build = Callable[..., Any]
CLAUDE, MISTRAL = base_env()["MODEL_IDS"].split(",")
TRACE = "Root=1-5f84c3a8-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"


# --- the document itself ----------------------------------------------------------------------------


def values(**changes: Any) -> dict[str, int | None]:
    """`metrics.invocation_values` of a plain answered request, with `changes`."""
    settings: dict[str, Any] = {
        "outcome_name": "ok",
        "stop_reason": "end_turn",
        "duration_ms": 181,
        "first_token_ms": 42,
        "model_called": True,
        "input_tokens": 12,
        "output_tokens": 7,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_deltas": 0,
    }
    return metrics.invocation_values(**{**settings, **changes})


def test_the_document_is_the_golden_line() -> None:
    emf = metrics.document(
        namespace="BedrockStreaming",
        function_name="bedrock-streaming",
        timestamp_ms=1765017600123,
        api="openai",
        model_id="amazon.nova-lite-v1:0",
        values=values(),
        properties={"RequestId": "r-1", "Outcome": "ok", "Status": 200, "ErrorType": None, "Caller": None},
    )
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            lines.append("<flush>")

    metrics.write(emf, Sink())  # type: ignore[arg-type]
    assert lines == [
        '{"_aws":{"Timestamp":1765017600123,"CloudWatchMetrics":[{"Namespace":"BedrockStreaming",'
        '"Dimensions":[["FunctionName","Api","ModelId"],["FunctionName"]],"Metrics":['
        '{"Name":"Requests","Unit":"Count"},{"Name":"Succeeded","Unit":"Count"},'
        '{"Name":"Duration","Unit":"Milliseconds"},{"Name":"TimeToFirstToken","Unit":"Milliseconds"},'
        '{"Name":"InputTokens","Unit":"Count"},{"Name":"OutputTokens","Unit":"Count"},'
        '{"Name":"EndTurnStops","Unit":"Count"}]}]},'
        '"FunctionName":"bedrock-streaming","Api":"openai","ModelId":"amazon.nova-lite-v1:0",'
        '"Requests":1,"Succeeded":1,"Duration":181,"TimeToFirstToken":42,"InputTokens":12,'
        '"OutputTokens":7,"EndTurnStops":1,"RequestId":"r-1","Outcome":"ok","Status":200}\n',
        "<flush>",
    ]
    assert problems(json.loads(lines[0])) == []


def test_a_refused_request_has_no_model_and_no_token_metrics() -> None:
    refused = values(
        outcome_name="client_error", stop_reason=None, duration_ms=1, first_token_ms=None, model_called=False
    )
    emf = metrics.document(
        namespace="N",
        function_name="f",
        timestamp_ms=1,
        api="native",
        model_id=None,
        values=refused,
        properties={},
    )
    assert (emf["ModelId"], emf["ClientErrors"]) == ("none", 1)
    assert set(emf) == {"_aws", "FunctionName", "Api", "ModelId", "Requests", "ClientErrors", "Duration"}


@pytest.mark.parametrize(
    ("stop_reason", "metric"),
    [
        ("end_turn", "EndTurnStops"),
        ("max_tokens", "MaxTokensStops"),
        ("stop_sequence", "StopSequenceStops"),
        ("tool_use", "ToolUseStops"),
        ("guardrail_intervened", "GuardrailStops"),
        ("content_filtered", "GuardrailStops"),
        ("model_context_window_exceeded", "ContextWindowStops"),
        ("length", "OtherStops"),
        ("deadline", None),
        ("cancelled", None),
        ("error", None),
        (None, None),
    ],
)
def test_each_stop_reason_has_one_metric(stop_reason: str | None, metric: str | None) -> None:
    stops = set(values(stop_reason=stop_reason)) - {
        "Requests",
        "Succeeded",
        "Duration",
        "TimeToFirstToken",
        "InputTokens",
        "OutputTokens",
    }
    assert stops == ({metric} if metric else set())


@pytest.mark.parametrize(
    ("status", "stop_reason", "error_type", "expected"),
    [
        (200, "end_turn", None, "ok"),
        (200, "guardrail_intervened", None, "ok"),
        (400, None, "invalid_request", "client_error"),
        (404, None, "model_not_found", "client_error"),
        (413, None, "payload_too_large", "client_error"),
        (429, None, "throttled", "bedrock_throttled"),
        (429, "error", "throttlingException", "bedrock_throttled"),
        (200, "error", "throttlingException", "bedrock_throttled"),
        (502, None, "bedrock_access_denied", "bedrock_error"),
        (503, "error", "bedrock_unavailable", "bedrock_error"),
        (504, "deadline", "deadline_exceeded", "deadline_stop"),
        (200, "deadline", None, "deadline_stop"),
        (200, "error", "modelStreamErrorException", "mid_stream_failure"),
        (200, "cancelled", None, "cancelled"),
        (500, None, "internal_error", "function_error"),
    ],
)
def test_outcomes(status: int, stop_reason: str | None, error_type: str | None, expected: str) -> None:
    assert metrics.outcome(status, stop_reason, error_type) == expected


@pytest.mark.parametrize(
    ("header", "root"),
    [
        (TRACE, "1-5f84c3a8-0123456789abcdef01234567"),
        ("Parent=1;Root=1-2-3", "1-2-3"),
        ("Sampled=0", None),
        ("Root=", None),
        ("", None),
        (None, None),
    ],
)
def test_trace_root(header: str | None, root: str | None) -> None:
    assert metrics.trace_root(header) == root


def test_every_metric_has_a_cloudwatch_unit_and_the_names_are_unique() -> None:
    assert set(metrics.METRIC_UNITS.values()) == {"Count", "Milliseconds"}
    assert len(set(metrics.OUTCOME_METRICS.values())) == len(metrics.OUTCOME_METRICS)
    assert not set(metrics.OUTCOME_METRICS.values()) & set(metrics.STOP_METRICS.values())


# --- settings -------------------------------------------------------------------------------------


def test_settings_defaults_and_overrides() -> None:
    default = HandlerConfig.from_env(base_env())
    assert (default.metrics, default.metrics_namespace, default.function_name) == (
        "emf",
        "BedrockStreaming",
        "local",
    )
    custom = HandlerConfig.from_env(
        base_env(METRICS="OFF", METRICS_NAMESPACE="Team/Chat", AWS_LAMBDA_FUNCTION_NAME="fn-1")
    )
    assert (custom.metrics, custom.metrics_namespace, custom.function_name) == ("off", "Team/Chat", "fn-1")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"METRICS": "prometheus"}, "METRICS must be one of emf, off, not 'prometheus'"),
        ({"METRICS_NAMESPACE": "AWS/Lambda"}, "METRICS_NAMESPACE must be"),
        ({"METRICS_NAMESPACE": ":x"}, "METRICS_NAMESPACE must be"),
        ({"METRICS_NAMESPACE": "a" * 256}, "METRICS_NAMESPACE must be"),
        ({"METRICS_NAMESPACE": "tab\there"}, "METRICS_NAMESPACE must be"),
    ],
)
def test_bad_settings_fail_init(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HandlerConfig.from_env(base_env(**env))


# --- through the handler, with real boto3 and the stand-in ----------------------------------------


def invoke(
    make_model: Build,
    body: Any,
    *,
    path: str = "/",
    context: FakeContext | None = None,
    read: int | None = None,
    **env: str,
) -> tuple[Any, str]:
    """Invoke the handler, read `read` body pieces (all when None), close the body, return the response
    and the body read."""
    config, model = make_model(**env)
    event = load_event(body=body, rawPath=path)
    response = respond(event, context or FakeContext(), config=config, model=model)
    pieces = []
    body_iter = iter(response.body)
    for piece in body_iter:
        pieces.append(piece)
        if read is not None and len(pieces) >= read:
            break
    close = getattr(body_iter, "close", None)
    if close is not None:
        close()
    return response, "".join(pieces)


def documents(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    found = [json.loads(line) for line in out.splitlines() if line.startswith(metrics.EMF_PREFIX)]
    for emf in found:
        assert problems(emf) == [], emf
    return found


@dataclass
class TracedContext(FakeContext):
    """The runtime's context with the invocation's X-Ray header (`Lambda-Runtime-Trace-Id`)."""

    xray_trace_id: str = TRACE


def test_a_native_stream(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    response, _ = invoke(
        make_model, {"prompt": "seven @stub:tokens=7"}, context=TracedContext(), AWS_LAMBDA_FUNCTION_NAME="fn"
    )
    assert response.status_code == 200
    [emf] = documents(capsys)
    assert (emf["FunctionName"], emf["Api"], emf["ModelId"]) == ("fn", "native", CLAUDE)
    assert (emf["Requests"], emf["Succeeded"], emf["OutputTokens"], emf["EndTurnStops"]) == (1, 1, 7, 1)
    assert emf["InputTokens"] > 0 and 0 <= emf["TimeToFirstToken"] <= emf["Duration"]
    assert (emf["Outcome"], emf["Status"], emf["StopReason"]) == ("ok", 200, "end_turn")
    assert emf["TraceId"] == "1-5f84c3a8-0123456789abcdef01234567"
    assert emf["RequestId"] == FakeContext().aws_request_id
    assert "seven" not in json.dumps(emf)


def test_an_openai_stream_at_max_tokens(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    body = {
        "model": MISTRAL,
        "messages": [{"role": "user", "content": "long @stub:tokens=9"}],
        "max_tokens": 4,
        "stream": True,
        "user": "team-a",
    }
    response, _ = invoke(make_model, body, path="/v1/chat/completions")
    assert response.status_code == 200
    [emf] = documents(capsys)
    assert (emf["Api"], emf["ModelId"], emf["OutputTokens"], emf["MaxTokensStops"]) == (
        "openai",
        MISTRAL,
        4,
        1,
    )
    assert (emf["Caller"], emf["Format"]) == ("team-a", "openai-sse")


@pytest.mark.parametrize(
    "case",
    [
        ("{not json", "/", "ClientErrors", "client_error", 400),
        ({"prompt": "hi", "model": "attacker-chosen-model"}, "/", "ClientErrors", "client_error", 400),
        (
            {"model": "attacker-chosen-model", "messages": [{"role": "user", "content": "hi"}]},
            "/v1/chat/completions",
            "ClientErrors",
            "client_error",
            404,
        ),
        ({"prompt": "busy @stub:throttle"}, "/", "BedrockThrottles", "bedrock_throttled", 429),
        ({"prompt": "no @stub:access-denied"}, "/", "BedrockErrors", "bedrock_error", 502),
    ],
)
def test_refusals(
    make_model: Build, capsys: pytest.CaptureFixture[str], case: tuple[Any, str, str, str, int]
) -> None:
    body, path, metric, outcome, status = case
    response, _ = invoke(make_model, body, path=path)
    assert response.status_code == status
    [emf] = documents(capsys)
    assert (emf[metric], emf["Outcome"], emf["Status"]) == (1, outcome, status)
    assert "TimeToFirstToken" not in emf and "attacker" not in json.dumps(emf)
    assert emf["ModelId"] in (CLAUDE, metrics.NO_MODEL)


def test_a_failure_after_text_is_a_mid_stream_failure(
    make_model: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(Exception, match="modelStreamErrorException"):
        invoke(make_model, {"prompt": "x @stub:tokens=5 @stub:error-after=2"})
    [emf] = documents(capsys)
    assert (emf["MidStreamFailures"], emf["Status"], emf["ErrorType"]) == (
        1,
        200,
        "modelStreamErrorException",
    )
    assert "TimeToFirstToken" in emf


def test_a_client_going_away_is_a_disconnect(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    invoke(make_model, {"prompt": "x @stub:tokens=50"}, read=1)
    [emf] = documents(capsys)
    assert (emf["ClientDisconnects"], emf["Outcome"]) == (1, "cancelled")


def test_the_deadline(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    response, _ = invoke(make_model, {"prompt": "x"}, context=FakeContext(remaining_ms=[1000]))
    assert response.status_code == 504
    [emf] = documents(capsys)
    assert (emf["DeadlineStops"], emf["Outcome"]) == (1, "deadline_stop")


def test_metrics_off_writes_nothing(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    response, _ = invoke(make_model, {"prompt": "x @stub:tokens=2"}, METRICS="off")
    assert response.status_code == 200
    assert documents(capsys) == []


def test_the_namespace_setting(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    invoke(make_model, {"prompt": "x @stub:tokens=2"}, METRICS_NAMESPACE="Team/Chat")
    [emf] = documents(capsys)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Team/Chat"


def test_the_completion_notice_has_no_document(make_model: Build, capsys: pytest.CaptureFixture[str]) -> None:
    config, model = make_model()
    respond({"invokeCompletionStatus": "Success"}, FakeContext(), config=config, model=model)
    assert documents(capsys) == []
