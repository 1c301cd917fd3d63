"""The OpenAI edge inside one invocation (`invocation.respond`): real botocore against the real stand-in
(a scripted `ModelStream` only for stop reasons the stand-in never sends), the SDK's pydantic models as
the judge of every chunk and object, and what reaches the client when the model fails or time runs out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bedrock_handler.chat import ChatRequest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import StreamInterruptedError
from bedrock_handler.invocation import respond
from bedrock_handler.model import ModelEvent, StreamEnd, TextDelta
from handler_support import FakeContext, base_env, load_event
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens

HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
REQUEST_ID = FakeContext().aws_request_id
MARKER = "pangolin-marker-prompt"
Build = Callable[..., Any]


def openai_event(body: dict[str, Any], *, method: str = "POST", path: str = "/v1/chat/completions") -> Any:
    event = load_event(
        rawPath=path, queryStringParameters=None, headers={"content-type": "application/json"}, body=body
    )
    event["requestContext"]["http"]["method"] = method
    return event


def chat(prompt: str, **fields: Any) -> dict[str, Any]:
    return {"model": HAIKU, "messages": [{"role": "user", "content": prompt}], **fields}


def call(make_model: Build, body: dict[str, Any], *, context: FakeContext | None = None, **env: str) -> Any:
    config, model = make_model(**env)
    return respond(openai_event(body), context or FakeContext(), config=config, model=model)


def sse(text: str) -> list[Any]:
    """The `data:` payloads of an SSE body (`[DONE]` as a string); each event exactly one data line."""
    assert text.endswith("\n\n"), text[-200:]
    payloads = []
    for event in text[:-2].split("\n\n"):
        assert event.startswith("data: ") and "\n" not in event, event
        payload = event[len("data: ") :]
        payloads.append(payload if payload == "[DONE]" else json.loads(payload))
    return payloads


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The `error` object of an OpenAI error status, its headers checked."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == REQUEST_ID
    document = json.loads("".join(response.body))
    assert set(document) == {"error"} and set(document["error"]) == {"message", "type", "param", "code"}
    error: dict[str, Any] = document["error"]
    return error


# --- successful replies ---------------------------------------------------------------------------


def test_streamed_reply_with_usage(make_model: Build) -> None:
    body = chat("hello world @stub:tokens=4", stream=True, stream_options={"include_usage": True})
    response = call(make_model, body)
    assert response.status_code == 200
    assert response.headers == {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "x-request-id": REQUEST_ID,
    }
    *chunks, done = sse("".join(response.body))
    assert done == "[DONE]"
    parsed = [ChatCompletionChunk.model_validate(chunk) for chunk in chunks]
    texts = [c.choices[0].delta.content for c in parsed if c.choices and c.choices[0].finish_reason is None]
    assert texts == ["", *reply_tokens("hello world", 4)]
    assert [c.choices[0].finish_reason for c in parsed if c.choices][-1] == "stop"
    assert parsed[-1].choices == [] and parsed[-1].usage is not None
    assert parsed[-1].usage.model_dump(exclude_none=True) == {
        "prompt_tokens": 2,
        "completion_tokens": 4,
        "total_tokens": 6,
    }
    assert {c.id for c in parsed} == {f"chatcmpl-{REQUEST_ID}"} and {c.model for c in parsed} == {HAIKU}
    assert len({c.created for c in parsed}) == 1


def test_whole_reply(make_model: Build) -> None:
    response = call(
        make_model, chat("whole reply @stub:tokens=5", model="fast"), MODEL_ALIASES=f"fast={MISTRAL}"
    )
    assert response.status_code == 200
    assert response.headers == {"content-type": "application/json", "x-request-id": REQUEST_ID}
    pieces = list(response.body)
    assert len(pieces) == 1  # one object, sent at the end
    completion = ChatCompletion.model_validate(json.loads(pieces[0]))
    assert completion.model == MISTRAL  # the alias resolved to the model id that answered
    assert completion.choices[0].message.content == "".join(reply_tokens("whole reply", 5))
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 5


@pytest.mark.parametrize("stream", [True, False])
def test_max_tokens_is_length(make_model: Build, stream: bool) -> None:
    body = chat("cut @stub:tokens=9", stream=stream, max_tokens=50, max_completion_tokens=3)
    text = "".join(call(make_model, body).body)
    if stream:
        *chunks, _ = sse(text)
        assert chunks[-1]["choices"][0]["finish_reason"] == "length"
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "".join(
            reply_tokens("cut", 3)
        )
    else:
        assert json.loads(text)["choices"][0]["finish_reason"] == "length"


def test_request_fields_reach_converse(make_model: Build, stub: BedrockStub) -> None:
    body = {
        "model": HAIKU,
        "messages": [
            {"role": "developer", "content": "dev"},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "three"}]},
            {"role": "assistant", "content": "answer"},
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "last @stub:tokens=1"},
        ],
        "max_completion_tokens": 9,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": "END",
        "n": 1,
        "store": False,
    }
    "".join(call(make_model, body).body)
    sent = stub.requests[-1]
    assert sent.operation == "converse-stream"
    assert sent.body["system"] == [{"text": "dev\n\nsys"}]
    assert sent.body["messages"] == [
        {"role": "user", "content": [{"text": "one\n\ntwo\nthree"}]},
        {"role": "assistant", "content": [{"text": "answer"}]},
        {"role": "user", "content": [{"text": "last @stub:tokens=1"}]},
    ]
    assert sent.body["inferenceConfig"] == {
        "maxTokens": 9,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }


@pytest.mark.parametrize("stream", [True, False])
def test_an_empty_completion_is_200(make_model: Build, stream: bool) -> None:
    response = call(make_model, chat("nothing @stub:tokens=0", stream=stream))
    assert response.status_code == 200
    text = "".join(response.body)
    if stream:
        *chunks, done = sse(text)
        assert done == "[DONE]" and len(chunks) == 2  # the role chunk, then the finish chunk
        assert [ChatCompletionChunk.model_validate(c).choices[0].finish_reason for c in chunks] == [
            None,
            "stop",
        ]
    else:
        assert ChatCompletion.model_validate(json.loads(text)).choices[0].message.content == ""


# --- failures -------------------------------------------------------------------------------------


def test_whole_reply_failing_after_two_deltas_is_an_error_status(make_model: Build) -> None:
    response = call(make_model, chat("late @stub:error-after=2 @stub:tokens=5"))
    error = error_of(response, 502)
    assert (error["type"], error["param"], error["code"]) == (
        "server_error",
        None,
        "modelStreamErrorException",
    )
    assert error["message"].startswith("Bedrock modelStreamErrorException")
    assert response.headers["x-should-retry"] == "false" and "retry-after" not in response.headers


def test_stream_failing_after_the_first_delta_is_in_band_then_interrupted(make_model: Build) -> None:
    response = call(make_model, chat("late @stub:error-after=1 @stub:tokens=5", stream=True))
    assert response.status_code == 200
    pieces: list[str] = []
    with pytest.raises(StreamInterruptedError, match="modelStreamErrorException"):
        pieces.extend(response.body)
    assert len(pieces) == 2
    role, first = sse(pieces[0])  # the role chunk and the first delta in one write
    assert role["choices"][0]["delta"]["role"] == "assistant"
    assert first["choices"][0]["delta"] == {"content": reply_tokens("late", 1)[0]}
    error, done = sse(pieces[1])
    assert done == "[DONE]"
    assert set(error) == {"error"}
    assert (error["error"]["type"], error["error"]["param"], error["error"]["code"]) == (
        "server_error",
        None,
        "modelStreamErrorException",
    )


@pytest.mark.parametrize("stream", [True, False])
def test_stream_failing_before_the_first_delta_is_an_error_status(make_model: Build, stream: bool) -> None:
    error = error_of(call(make_model, chat("early @stub:drop-after=0", stream=stream)), 502)
    assert (error["type"], error["code"]) == ("server_error", "bedrock_stream_interrupted")


@pytest.mark.parametrize(
    ("directive", "status", "error_type", "code"),
    [
        ("@stub:throttle", 429, "rate_limit_error", "throttled"),
        ("@stub:access-denied", 502, "server_error", "bedrock_access_denied"),
        ("@stub:unavailable", 503, "server_error", "bedrock_unavailable"),
        ("@stub:model-timeout", 504, "server_error", "bedrock_timeout"),
    ],
)
def test_pre_stream_failures(
    make_model: Build, directive: str, status: int, error_type: str, code: str
) -> None:
    response = call(make_model, chat(f"x {directive}", stream=True))
    error = error_of(response, status)
    assert (error["type"], error["code"]) == (error_type, code)
    assert response.headers["x-should-retry"] == "false"
    assert response.headers.get("retry-after") == ("2" if status == 429 else None)


@pytest.mark.parametrize("stream", [True, False])
def test_deadline_stop_is_length(make_model: Build, stream: bool) -> None:
    context = FakeContext(remaining_ms=[60_000, 60_000, 60_000, 500])  # under the margin after 3 deltas
    response = call(
        make_model, chat("long @stub:tokens=50", stream=stream), context=context, DEADLINE_MARGIN_MS="1000"
    )
    text = "".join(response.body)
    expected = "".join(reply_tokens("long", 3))
    if stream:
        *chunks, done = sse(text)
        parsed = [ChatCompletionChunk.model_validate(c) for c in chunks]
        assert done == "[DONE]" and parsed[-1].choices[0].finish_reason == "length"
        assert "".join(c.choices[0].delta.content or "" for c in parsed) == expected
    else:
        completion = ChatCompletion.model_validate(json.loads(text))
        assert completion.choices[0].finish_reason == "length"
        assert completion.choices[0].message.content == expected


def test_no_time_left_is_504(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    response = call(
        make_model, chat("x"), context=FakeContext(remaining_ms=[1000]), DEADLINE_MARGIN_MS="2000"
    )
    assert error_of(response, 504)["code"] == "deadline_exceeded"
    assert len(stub.requests) == before


class ScriptedStream:
    """A started model stream that yields fixed events (for stop reasons the stand-in never sends)."""

    def __init__(self, events: list[ModelEvent]) -> None:
        self.events, self.closed = events, False

    def __iter__(self) -> Iterator[ModelEvent]:
        yield from self.events

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class ScriptedModel:
    def __init__(self, events: list[ModelEvent]) -> None:
        self.stream_opened = ScriptedStream(events)
        self.requests: list[ChatRequest] = []

    def stream(self, request: ChatRequest) -> ScriptedStream:
        self.requests.append(request)
        return self.stream_opened


CONFIG = HandlerConfig.from_env(base_env())


@pytest.mark.parametrize("stop_reason", ["malformed_model_output", "malformed_tool_use"])
def test_malformed_stop_when_streaming_is_an_in_band_error(stop_reason: str) -> None:
    model = ScriptedModel([TextDelta("a"), TextDelta("b"), StreamEnd(stop_reason, 1, 2)])
    response = respond(openai_event(chat("q", stream=True)), FakeContext(), config=CONFIG, model=model)
    assert response.status_code == 200
    pieces: list[str] = []
    with pytest.raises(StreamInterruptedError, match=stop_reason):
        pieces.extend(response.body)
    payloads = sse("".join(pieces))
    assert [p["choices"][0]["delta"].get("content") for p in payloads[:3]] == ["", "a", "b"]
    assert payloads[3] == {
        "error": {
            "message": f"the model stopped with {stop_reason}",
            "type": "server_error",
            "param": None,
            "code": stop_reason,
        }
    }
    assert payloads[4:] == ["[DONE]"]
    assert model.stream_opened.closed


@pytest.mark.parametrize(
    ("stream", "events"),
    [
        (False, [TextDelta("a"), TextDelta("b"), StreamEnd("malformed_model_output", 1, 2)]),
        (True, [StreamEnd("malformed_model_output", 1, 0)]),  # nothing sent yet when streaming, either
    ],
    ids=["whole reply", "stream without text"],
)
def test_malformed_stop_before_anything_was_sent_is_an_error_status(
    stream: bool, events: list[ModelEvent]
) -> None:
    model = ScriptedModel(events)
    response = respond(openai_event(chat("q", stream=stream)), FakeContext(), config=CONFIG, model=model)
    error = error_of(response, 502)
    assert (error["type"], error["code"]) == ("server_error", "malformed_model_output")
    assert model.stream_opened.closed


# --- refusals and the log line --------------------------------------------------------------------


def test_bad_request_is_an_openai_400_without_a_model_call(make_model: Build, stub: BedrockStub) -> None:
    before = len(stub.requests)
    response = call(make_model, chat(MARKER, temperature=1.5))
    error = error_of(response, 400)
    assert (error["type"], error["param"], error["code"]) == (
        "invalid_request_error",
        "temperature",
        "invalid_request",
    )
    assert "x-should-retry" not in response.headers
    assert len(stub.requests) == before


def test_wrong_method_is_405_with_allow(make_model: Build) -> None:
    config, model = make_model()
    response = respond(openai_event(chat("x"), method="GET"), FakeContext(), config=config, model=model)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["allow"] == "POST"


def invocation_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"event"')]


def test_log_line_has_the_caller_and_no_prompt(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    caller = "c" * 200
    "".join(call(make_model, chat(f"{MARKER} @stub:tokens=3", user=caller, stream=True)).body)
    [line] = invocation_lines(caplog)
    assert (line["status"], line["format"], line["stopReason"], line["modelId"]) == (
        200,
        "openai-sse",
        "end_turn",
        HAIKU,
    )
    assert line["caller"] == "c" * 128
    assert MARKER not in caplog.text and reply_tokens(MARKER, 3)[1] not in caplog.text


def test_log_line_of_a_refusal(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    call(make_model, chat(MARKER, seed=5))
    [line] = invocation_lines(caplog)
    assert (line["status"], line["errorType"], line["caller"]) == (400, "invalid_request", None)
    assert MARKER not in caplog.text


def test_models_through_respond(make_model: Build, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bedrock_handler")
    config, model = make_model(MODEL_ALIASES=f"fast={MISTRAL}")
    event = openai_event({}, method="GET", path="/prod/v1/models/")
    response = respond(event, FakeContext(), config=config, model=model)
    assert response.status_code == 200
    assert [m["id"] for m in json.loads("".join(response.body))["data"]] == [HAIKU, MISTRAL, "fast"]
    [line] = invocation_lines(caplog)
    assert (line["status"], line["format"]) == (200, "openai-models")
