"""The handler at unit level: real boto3 against the real stand-in, a fake context, the real formats."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
from bedrock_handler.errors import StreamInterruptedError
from bedrock_handler.invocation import respond
from handler_support import FakeContext, load_event

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens

MARKER = "quokka-marker-prompt"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
Build = Callable[..., Any]


def call(
    make_model: Build, body: Any, *, fmt: str = "ndjson", context: FakeContext | None = None, **env: str
):
    config, model = make_model(**env)
    event = load_event(body=body, queryStringParameters={"format": fmt})
    return respond(event, context or FakeContext(), config=config, model=model)


def collect(response: Any) -> str:
    return "".join(response.body)


def ndjson(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_ndjson_stream_matches_the_stand_in_reply(make_model: Build) -> None:
    response = call(make_model, {"prompt": "hello world @stub:tokens=4"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    events = ndjson(collect(response))
    assert [e["text"] for e in events[:-1]] == reply_tokens("hello world", 4)
    done = events[-1]
    assert done["type"] == "done" and done["stopReason"] == "end_turn"
    assert done["usage"] == {"inputTokens": 2, "outputTokens": 4, "totalTokens": 6}
    assert done["modelId"] == "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    assert isinstance(done["metrics"]["firstTokenMs"], int) and done["metrics"]["totalMs"] >= 0


def test_text_stream_is_the_raw_reply(make_model: Build) -> None:
    response = call(make_model, {"prompt": "plain @stub:tokens=6"}, fmt="text")
    assert response.headers == {"content-type": "text/plain; charset=utf-8"}
    assert collect(response) == "".join(reply_tokens("plain", 6))


def test_sse_stream(make_model: Build) -> None:
    response = call(make_model, {"prompt": "sse @stub:tokens=2"}, fmt="sse")
    assert response.headers["x-accel-buffering"] == "no"
    text = collect(response)
    first, second = reply_tokens("sse", 2)
    assert text.startswith(
        f'event: delta\ndata: {{"text":"{first}"}}\n\nevent: delta\ndata: {{"text":"{second}"}}\n\n'
    )
    assert text.split("\n\n")[2].startswith('event: done\ndata: {"stopReason":"end_turn"')


def test_request_parameters_reach_converse(make_model: Build, stub: BedrockStub) -> None:
    body = {
        "prompt": "p",
        "system": "sys",
        "maxTokens": 7,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["X"],
    }
    collect(call(make_model, body))
    sent = stub.requests[-1]
    assert sent.operation == "converse-stream"
    assert sent.body["system"] == [{"text": "sys"}]
    assert sent.body["inferenceConfig"] == {
        "maxTokens": 7,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["X"],
    }


def test_max_tokens_stop_reason(make_model: Build) -> None:
    events = ndjson(collect(call(make_model, {"prompt": "m @stub:tokens=9", "maxTokens": 3})))
    assert len(events) == 4 and events[-1]["stopReason"] == "max_tokens"


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.meta.llama3-1-8b-instruct-v1:0",
        "cohere.command-text-v14",
        "cohere.command-r-v1:0",
        "amazon.titan-text-express-v1",
        "us.amazon.nova-lite-v1:0",
        MISTRAL,
    ],
)
def test_invoke_mode_for_every_family(make_model: Build, stub: BedrockStub, model_id: str) -> None:
    body = {"prompt": "family test @stub:tokens=5", "modelId": model_id}
    response = call(make_model, body, MODEL_IDS=model_id, BEDROCK_API="invoke")
    events = ndjson(collect(response))
    assert "".join(e["text"] for e in events[:-1]) == "".join(reply_tokens("family test", 5))
    assert events[-1]["stopReason"] == "end_turn"
    assert events[-1]["usage"]["outputTokens"] == 5 and events[-1]["usage"]["inputTokens"] == 2
    assert stub.requests[-1].operation == "invoke-with-response-stream"


def test_invoke_model_ids_override_is_per_model(make_model: Build, stub: BedrockStub) -> None:
    env = {"MODEL_IDS": f"us.anthropic.claude-3-5-haiku-20241022-v1:0,{MISTRAL}", "INVOKE_MODEL_IDS": MISTRAL}
    events = ndjson(
        collect(call(make_model, {"prompt": "x @stub:tokens=3", "maxTokens": 2, "modelId": MISTRAL}, **env))
    )
    assert stub.requests[-1].operation == "invoke-with-response-stream"
    assert events[-1]["stopReason"] == "max_tokens"
    collect(call(make_model, {"prompt": "x"}, **env))
    assert stub.requests[-1].operation == "converse-stream"


def test_invoke_mode_carries_the_guardrail_in_its_headers(make_model: Build, stub: BedrockStub) -> None:
    env = {
        "MODEL_IDS": MISTRAL,
        "BEDROCK_API": "invoke",
        "GUARDRAIL_ID": "gr0abc",
        "GUARDRAIL_VERSION": "DRAFT",
    }
    events = ndjson(collect(call(make_model, {"prompt": "x @stub:tokens=2"}, **env)))
    assert events[-1]["stopReason"] == "end_turn"
    headers = {name.lower(): value for name, value in stub.requests[-1].headers.items()}
    assert (
        headers["x-amzn-bedrock-guardrailidentifier"],
        headers["x-amzn-bedrock-guardrailversion"],
        headers["x-amzn-bedrock-trace"],
    ) == ("gr0abc", "DRAFT", "ENABLED")


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": "x", "reasoning": "low"},
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}],
                }
            ]
        },
    ],
    ids=["reasoning", "image"],
)
def test_invoke_mode_refuses_what_only_converse_takes(
    make_model: Build, stub: BedrockStub, body: Any
) -> None:
    before = len(stub.requests)
    model_id = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
    response = call(make_model, {**body, "maxTokens": 4096}, MODEL_IDS=model_id, BEDROCK_API="invoke")
    assert response.status_code == 400
    assert "takes plain text only" in collect(response)
    assert len(stub.requests) == before


@pytest.mark.parametrize(
    ("directive", "status", "error_type"),
    [
        ("@stub:throttle", 429, "throttled"),
        ("@stub:access-denied", 502, "bedrock_access_denied"),
        ("@stub:not-found", 502, "bedrock_model_not_found"),
        ("@stub:unavailable", 503, "bedrock_unavailable"),
        ("@stub:model-timeout", 504, "bedrock_timeout"),
        ("@stub:tokens=oops", 502, "bedrock_rejected"),
    ],
)
def test_pre_stream_errors_become_statuses(
    make_model: Build, directive: str, status: int, error_type: str
) -> None:
    response = call(make_model, {"prompt": f"x {directive}"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert json.loads(collect(response))["error"]["type"] == error_type


def test_read_timeout_before_the_stream_is_504(make_model: Build) -> None:
    response = call(make_model, {"prompt": "x @stub:hang-ms=2000"}, BEDROCK_READ_TIMEOUT_S="0.3")
    assert response.status_code == 504
    assert json.loads(collect(response))["error"]["type"] == "bedrock_timeout"


def test_no_time_left_is_504_before_calling(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    response = call(
        make_model, {"prompt": "x"}, context=FakeContext(remaining_ms=[1000]), DEADLINE_MARGIN_MS="2000"
    )
    assert response.status_code == 504
    assert json.loads(collect(response))["error"]["type"] == "deadline_exceeded"
    assert len(stub.requests) == before


def test_bad_input_gives_json_error(make_model: Build) -> None:
    response = call(make_model, {"prompt": ""})
    assert response.status_code == 400
    assert json.loads(collect(response)) == {
        "error": {"type": "invalid_request", "message": "prompt must not be empty"}
    }


def test_wrong_method_is_405_with_allow_header(make_model: Build) -> None:
    config, model = make_model()
    event = load_event()
    event["requestContext"]["http"]["method"] = "GET"
    response = respond(event, FakeContext(), config=config, model=model)
    assert response.status_code == 405
    assert response.headers == {"content-type": "application/json", "allow": "POST"}
    assert json.loads(collect(response))["error"]["type"] == "method_not_allowed"


def test_mid_stream_error_is_in_band_then_raises(make_model: Build) -> None:
    pieces = []
    with pytest.raises(StreamInterruptedError, match="modelStreamErrorException"):
        for piece in call(make_model, {"prompt": "e @stub:error-after=2"}, fmt="sse").body:
            pieces.append(piece)
    assert len(pieces) == 3
    assert pieces[-1].startswith('event: error\ndata: {"type":"modelStreamErrorException","message":')


def test_dropped_connection_is_in_band_then_raises(make_model: Build) -> None:
    pieces = []
    with pytest.raises(StreamInterruptedError, match="bedrock_stream_interrupted"):
        for piece in call(make_model, {"prompt": "d @stub:drop-after=1"}).body:
            pieces.append(piece)
    assert [json.loads(p)["type"] for p in pieces] == ["delta", "error"]
    assert json.loads(pieces[-1])["error"]["type"] == "bedrock_stream_interrupted"


def test_text_format_has_no_in_band_error(make_model: Build) -> None:
    pieces = []
    with pytest.raises(StreamInterruptedError):
        for piece in call(make_model, {"prompt": "t @stub:error-after=2"}, fmt="text").body:
            pieces.append(piece)
    assert "".join(pieces) == "".join(reply_tokens("t", 2))


def test_deadline_stops_generation_cleanly(make_model: Build) -> None:
    context = FakeContext(remaining_ms=[60_000, 60_000, 60_000, 500])  # drops under the margin after 3 deltas
    response = call(
        make_model, {"prompt": "long @stub:tokens=50"}, context=context, DEADLINE_MARGIN_MS="1000"
    )
    events = ndjson(collect(response))
    assert [e["type"] for e in events] == ["delta"] * 3 + ["done"]
    assert events[-1]["stopReason"] == "deadline"


def test_one_log_line_per_invocation_without_content(
    make_model: Build, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bedrock_handler")
    text = collect(call(make_model, {"prompt": f"{MARKER} @stub:tokens=3"}, fmt="text"))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["requestId"] == FakeContext().aws_request_id
    assert (record["status"], record["stopReason"], record["format"]) == (200, "end_turn", "text")
    assert (record["inputTokens"], record["outputTokens"]) == (1, 3)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert MARKER not in everything
    assert text not in everything and reply_tokens(MARKER, 3)[1] not in everything


def test_error_log_line_has_status_and_no_prompt(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    collect(call(make_model, {"prompt": MARKER, "maxTokens": -5}))
    [line] = [json.loads(r.getMessage()) for r in caplog.records]
    assert (line["status"], line["errorType"]) == (400, "invalid_request")
    assert MARKER not in caplog.text


def test_deadline_stops_a_model_stalled_between_deltas(make_model: Build) -> None:
    # 5 s of time left, a 4.5 s margin: the watchdog fires after ~0.5 s, while the stand-in waits 3 s
    # before its second delta; without it the stream would wait for that delta (or the read timeout).
    context = FakeContext(remaining_ms=[5_000])
    started = time.monotonic()
    response = call(
        make_model,
        {"prompt": "stall @stub:tokens=3 @stub:delay-ms=3000"},
        context=context,
        DEADLINE_MARGIN_MS="4500",
    )
    events = ndjson(collect(response))
    assert [e["type"] for e in events] == ["delta", "done"]
    assert events[-1]["stopReason"] == "deadline"
    assert time.monotonic() - started < 2.5  # stopped at the deadline, not after the stalled delta


def test_watchdog_does_not_fire_once_the_stream_is_done(make_model: Build) -> None:
    context = FakeContext(remaining_ms=[2_100])  # the watchdog's deadline is 0.1 s away
    response = call(
        make_model, {"prompt": "quick @stub:tokens=2"}, context=context, DEADLINE_MARGIN_MS="2000"
    )
    events = ndjson(collect(response))
    assert events[-1]["stopReason"] == "end_turn"
    time.sleep(0.3)  # past the deadline: the cancelled watchdog must not touch the pooled connection
    again = ndjson(collect(call(make_model, {"prompt": "next @stub:tokens=2"})))
    assert [e["text"] for e in again[:-1]] == reply_tokens("next", 2)
