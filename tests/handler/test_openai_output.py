"""The OpenAI edge's output (`openai_output`): golden bytes of the `chat.completion.chunk` stream and of the
`chat.completion` object, the finish_reason of every Bedrock stop reason, and error statuses.

The expected strings are written by hand, not produced by the encoder; the same bytes are then parsed with
the openai SDK's own pydantic models (`model_validate` validates every field, unlike the SDK's default
`construct`), so a shape the SDK would reject fails here.
"""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from bedrock_handler import openai_output
from bedrock_handler.errors import (
    DeadlineError,
    HandlerError,
    MethodNotAllowedError,
    ModelStreamError,
    RequestError,
    UpstreamError,
)
from bedrock_handler.reply import Summary
from openai.types.chat import ChatCompletion, ChatCompletionChunk

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
CREATED = 1_700_000_000
REQUEST_ID = "c0ffee00-1111-4222-8333-444455556666"
# The part every chunk starts with, written out once by hand.
HEAD = (
    'data: {"id":"chatcmpl-c0ffee00-1111-4222-8333-444455556666","object":"chat.completion.chunk",'
    '"created":1700000000,"model":"us.anthropic.claude-3-5-haiku-20241022-v1:0","choices":'
)
ROLE = (
    '[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
    '"finish_reason":null,"logprobs":null}]'
)
DONE = "data: [DONE]\n\n"


def chunks(*, include_usage: bool = False) -> openai_output.ChunkEncoder:
    return openai_output.ChunkEncoder(
        completion_id=f"chatcmpl-{REQUEST_ID}",
        created=CREATED,
        model=MODEL,
        include_usage=include_usage,
        request_id=REQUEST_ID,
    )


def completion() -> openai_output.CompletionEncoder:
    return openai_output.CompletionEncoder(
        completion_id=f"chatcmpl-{REQUEST_ID}", created=CREATED, model=MODEL, request_id=REQUEST_ID
    )


def summary(stop_reason: str = "end_turn", input_tokens: int = 3, output_tokens: int = 5) -> Summary:
    return Summary(
        stop_reason=stop_reason,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        first_token_ms=12,
        total_ms=34,
        model_id=MODEL,
    )


def content(text_json: str) -> str:
    """The `choices` of a content chunk whose text is the JSON string literal `text_json`."""
    return '[{"index":0,"delta":{"content":' + text_json + '},"finish_reason":null,"logprobs":null}]'


def finish(reason: str) -> str:
    return '[{"index":0,"delta":{},"finish_reason":"' + reason + '","logprobs":null}]'


def sse(*events: str) -> str:
    """Events framed as SSE: each one line, then a blank line."""
    return "".join(event + "\n\n" for event in events)


def sse_documents(text: str) -> list[Any]:
    """Split SSE text into its `data:` payloads (`[DONE]` kept as a string); every event is exactly one
    `data: ` line followed by a blank line."""
    assert text.endswith("\n\n")
    documents: list[Any] = []
    for event in text[:-2].split("\n\n"):
        assert event.startswith("data: ") and "\n" not in event and "\r" not in event, event
        payload = event[len("data: ") :]
        documents.append(payload if payload == "[DONE]" else json.loads(payload))
    return documents


def validate_chunks(text: str) -> list[ChatCompletionChunk]:
    """Every chunk of `text` parsed by the SDK's model (the trailing `[DONE]` required and dropped)."""
    *documents, done = sse_documents(text)
    assert done == "[DONE]"
    return [ChatCompletionChunk.model_validate(document) for document in documents]


# --- stream: true ---------------------------------------------------------------------------------


def test_headers() -> None:
    assert chunks().headers == {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "x-request-id": REQUEST_ID,
    }
    assert chunks().name == "openai-sse"


def test_first_delta_is_the_role_chunk_then_the_content_chunk_in_one_write() -> None:
    encoder = chunks()
    assert encoder.delta("Hel") == sse(HEAD + ROLE + "}", HEAD + content('"Hel"') + "}")
    assert encoder.delta("lo") == sse(HEAD + content('"lo"') + "}")
    assert encoder.delta(" there") == sse(HEAD + content('" there"') + "}")


def test_done_without_usage() -> None:
    encoder = chunks()
    encoder.delta("Hi")
    assert encoder.done(summary()) == sse(HEAD + finish("stop") + "}", "data: [DONE]")


def test_the_whole_stream_with_usage() -> None:
    encoder = chunks(include_usage=True)
    text = encoder.delta("Hi") + encoder.delta("!") + encoder.done(summary("max_tokens", 3, 2))
    assert text == sse(
        HEAD + ROLE + ',"usage":null}',
        HEAD + content('"Hi"') + ',"usage":null}',
        HEAD + content('"!"') + ',"usage":null}',
        HEAD + finish("length") + ',"usage":null}',
        HEAD + '[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
        "data: [DONE]",
    )
    parsed = validate_chunks(text)
    assert [c.choices[0].delta.content for c in parsed[:3]] == ["", "Hi", "!"]
    assert parsed[0].choices[0].delta.role == "assistant" and parsed[1].choices[0].delta.role is None
    assert parsed[3].choices[0].finish_reason == "length"
    assert parsed[4].choices == [] and parsed[4].usage is not None
    assert (parsed[4].usage.prompt_tokens, parsed[4].usage.total_tokens) == (3, 5)
    assert all(c.usage is None for c in parsed[:4])
    assert {c.id for c in parsed} == {f"chatcmpl-{REQUEST_ID}"} and {c.created for c in parsed} == {CREATED}
    assert {c.model for c in parsed} == {MODEL} and {c.object for c in parsed} == {"chat.completion.chunk"}


def test_without_include_usage_no_chunk_carries_usage() -> None:
    encoder = chunks()
    text = encoder.delta("a") + encoder.delta("b") + encoder.done(summary())
    assert '"usage"' not in text
    assert len(validate_chunks(text)) == 4  # role, a, b, finish


@pytest.mark.parametrize("include_usage", [False, True])
def test_done_before_any_delta_still_sends_the_role_chunk_once(include_usage: bool) -> None:
    encoder = chunks(include_usage=include_usage)
    text = encoder.done(summary("end_turn", 4, 0))
    if include_usage:
        assert text == sse(
            HEAD + ROLE + ',"usage":null}',
            HEAD + finish("stop") + ',"usage":null}',
            HEAD + '[],"usage":{"prompt_tokens":4,"completion_tokens":0,"total_tokens":4}}',
            "data: [DONE]",
        )
    else:
        assert text == sse(HEAD + ROLE + "}", HEAD + finish("stop") + "}", "data: [DONE]")
    assert text.count('"role"') == 1
    assert len(validate_chunks(text)) == (3 if include_usage else 2)


def test_the_role_is_sent_once_even_when_done_follows_deltas() -> None:
    encoder = chunks()
    text = encoder.delta("x") + encoder.done(summary())
    assert text.count('"role":"assistant"') == 1


def test_in_band_error_then_done() -> None:
    encoder = chunks(include_usage=True)
    encoder.delta("partial")
    error = ModelStreamError(
        "Bedrock modelStreamErrorException: boom", error_type="modelStreamErrorException"
    )
    assert encoder.error(error) == (
        'data: {"error":{"message":"Bedrock modelStreamErrorException: boom","type":"server_error",'
        '"param":null,"code":"modelStreamErrorException"}}\n\n' + DONE
    )


def test_in_band_throttle_is_a_rate_limit_error() -> None:
    error = ModelStreamError(
        "Bedrock throttlingException: slow", error_type="throttlingException", status=429
    )
    assert chunks().error(error) == (
        'data: {"error":{"message":"Bedrock throttlingException: slow","type":"rate_limit_error",'
        '"param":null,"code":"throttlingException"}}\n\n' + DONE
    )


ESCAPES = [
    ("quotes", 'say "hi"', r'"say \"hi\""'),
    ("newlines", "a\nb\r\nc", r'"a\nb\r\nc"'),
    ("backslash and tab", "C:\\dir\tx", r'"C:\\dir\tx"'),
    ("control characters", "\x00\x1f\x7f", '"\\u0000\\u001f\x7f"'),
    ("non-ASCII kept as UTF-8", "héllo 日本 😀", '"héllo 日本 😀"'),
    ("line separators kept", "a\u2028b\u2029c", '"a\u2028b\u2029c"'),
    ("an SSE look-alike stays in the string", "\n\ndata: [DONE]\n\n", r'"\n\ndata: [DONE]\n\n"'),
]


@pytest.mark.parametrize(("text", "literal"), [c[1:] for c in ESCAPES], ids=[c[0] for c in ESCAPES])
def test_delta_text_is_escaped(text: str, literal: str) -> None:
    encoder = chunks()
    encoder.delta("first")
    piece = encoder.delta(text)
    assert piece == sse(HEAD + content(literal) + "}")
    [chunk] = validate_chunks(piece + DONE)
    assert chunk.choices[0].delta.content == text


# --- stream: false --------------------------------------------------------------------------------


def test_completion_object() -> None:
    encoder = completion()
    assert encoder.headers == {"content-type": "application/json", "x-request-id": REQUEST_ID}
    assert encoder.name == "openai-json"
    assert [encoder.delta("Hé"), encoder.delta('llo "\n'), encoder.delta("😀")] == ["", "", ""]
    text = encoder.done(summary("stop_sequence", 7, 3))
    assert text == (
        '{"id":"chatcmpl-c0ffee00-1111-4222-8333-444455556666","object":"chat.completion",'
        '"created":1700000000,"model":"us.anthropic.claude-3-5-haiku-20241022-v1:0",'
        '"choices":[{"index":0,"message":{"role":"assistant","content":"Héllo \\"\\n😀","refusal":null},'
        '"finish_reason":"stop","logprobs":null}],'
        '"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}'
    )
    parsed = ChatCompletion.model_validate(json.loads(text))
    assert parsed.choices[0].message.content == 'Héllo "\n😀'
    assert parsed.choices[0].finish_reason == "stop"
    assert parsed.usage is not None and parsed.usage.total_tokens == 10


def test_empty_completion_object() -> None:
    text = completion().done(summary("max_tokens", 2, 0))
    assert '"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"length"' in text
    assert ChatCompletion.model_validate(json.loads(text)).choices[0].message.content == ""


def test_completion_error_is_the_bare_error_object() -> None:
    error = ModelStreamError("Bedrock stream interrupted", error_type="bedrock_stream_interrupted")
    assert completion().error(error) == (
        '{"error":{"message":"Bedrock stream interrupted","type":"server_error","param":null,'
        '"code":"bedrock_stream_interrupted"}}'
    )


# --- finish reasons -------------------------------------------------------------------------------

ERROR = "error"
# Every Bedrock StopReason, by hand: a stop reason botocore adds fails test_every_bedrock_stop_reason_...
# until it is listed here (and mapped in openai_output, not left to the "stop" fallback).
EXPECTED_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": ERROR,
    "malformed_tool_use": ERROR,
}
BEDROCK_STOP_REASONS = (
    botocore.session.get_session().get_service_model("bedrock-runtime").shape_for("StopReason").enum
)


@pytest.mark.parametrize("stop_reason", BEDROCK_STOP_REASONS)
def test_every_bedrock_stop_reason_is_mapped(stop_reason: str) -> None:
    assert stop_reason in EXPECTED_FINISH, f"new Bedrock stop reason {stop_reason!r}: map it"
    expected = EXPECTED_FINISH[stop_reason]
    mapped = stop_reason in openai_output.FINISH_REASONS or stop_reason in openai_output.MALFORMED
    assert mapped, f"{stop_reason!r} falls through to the default"
    if expected == ERROR:
        with pytest.raises(ModelStreamError) as caught:
            openai_output.finish_reason(stop_reason)
        assert (caught.value.error_type, caught.value.status) == (stop_reason, 502)
        assert caught.value.message == f"the model stopped with {stop_reason}"
    else:
        assert openai_output.finish_reason(stop_reason) == expected


def test_the_table_covers_the_current_botocore_model() -> None:
    assert set(BEDROCK_STOP_REASONS) == set(EXPECTED_FINISH)


@pytest.mark.parametrize(
    ("stop_reason", "expected"), [("deadline", "length"), ("something_new", "stop"), ("", "stop")]
)
def test_our_own_and_unknown_stop_reasons(stop_reason: str, expected: str) -> None:
    assert openai_output.finish_reason(stop_reason) == expected


@pytest.mark.parametrize("stop_reason", [r for r, f in EXPECTED_FINISH.items() if f != ERROR] + ["deadline"])
def test_every_finish_reason_passes_the_sdk(stop_reason: str) -> None:
    encoder = chunks()
    [chunk] = validate_chunks(encoder.done(summary(stop_reason)))[1:]
    assert chunk.choices[0].finish_reason == openai_output.finish_reason(stop_reason)
    whole = completion().done(summary(stop_reason))
    assert (
        ChatCompletion.model_validate(json.loads(whole)).choices[0].finish_reason
        == chunk.choices[0].finish_reason
    )


@pytest.mark.parametrize("stop_reason", ["malformed_model_output", "malformed_tool_use"])
def test_malformed_stops_raise_from_both_encoders(stop_reason: str) -> None:
    encoder = chunks()
    encoder.delta("x")
    with pytest.raises(ModelStreamError, match=stop_reason):
        encoder.done(summary(stop_reason))
    whole = completion()
    whole.delta("x")
    with pytest.raises(ModelStreamError, match=stop_reason):
        whole.done(summary(stop_reason))


# --- errors before the first byte -----------------------------------------------------------------


def error_reply(exc: HandlerError) -> tuple[int, dict[str, str], Any]:
    response = openai_output.error_response(exc, request_id=REQUEST_ID)
    return response.status_code, dict(response.headers), json.loads("".join(response.body))


JSON_HEADERS = {"content-type": "application/json", "x-request-id": REQUEST_ID}
NO_RETRY = {**JSON_HEADERS, "x-should-retry": "false"}
ERRORS = [
    (
        "bad field",
        RequestError("temperature must be between 0 and 1", param="temperature"),
        400,
        JSON_HEADERS,
        ("temperature must be between 0 and 1", "invalid_request_error", "temperature", "invalid_request"),
    ),
    (
        "wrong method",
        MethodNotAllowedError("GET", allow="POST"),
        405,
        {**JSON_HEADERS, "allow": "POST"},
        ("method GET not allowed; use POST", "invalid_request_error", None, "method_not_allowed"),
    ),
    (
        "unknown model",
        RequestError("model is not available here", status=404, error_type="model_not_found", param="model"),
        404,
        JSON_HEADERS,
        ("model is not available here", "invalid_request_error", "model", "model_not_found"),
    ),
    (
        "too large",
        RequestError("request body exceeds 10 bytes", status=413, error_type="payload_too_large"),
        413,
        JSON_HEADERS,
        ("request body exceeds 10 bytes", "invalid_request_error", None, "payload_too_large"),
    ),
    (
        "media type",
        RequestError("unsupported content type", status=415, error_type="unsupported_media_type"),
        415,
        JSON_HEADERS,
        ("unsupported content type", "invalid_request_error", None, "unsupported_media_type"),
    ),
    (
        "throttled",
        UpstreamError("Bedrock ThrottlingException: slow down", status=429, error_type="throttled"),
        429,
        {**NO_RETRY, "retry-after": "2"},
        ("Bedrock ThrottlingException: slow down", "rate_limit_error", None, "throttled"),
    ),
    (
        "access denied",
        UpstreamError("Bedrock AccessDeniedException: no", status=502, error_type="bedrock_access_denied"),
        502,
        NO_RETRY,
        ("Bedrock AccessDeniedException: no", "server_error", None, "bedrock_access_denied"),
    ),
    (
        "stream failed before text",
        UpstreamError("Bedrock modelStreamErrorException: m", error_type="modelStreamErrorException"),
        502,
        NO_RETRY,
        ("Bedrock modelStreamErrorException: m", "server_error", None, "modelStreamErrorException"),
    ),
    (
        "unavailable",
        UpstreamError("Bedrock endpoint unreachable", status=503, error_type="bedrock_unavailable"),
        503,
        NO_RETRY,
        ("Bedrock endpoint unreachable", "server_error", None, "bedrock_unavailable"),
    ),
    (
        "deadline",
        DeadlineError("not enough invocation time left to call the model"),
        504,
        NO_RETRY,
        ("not enough invocation time left to call the model", "server_error", None, "deadline_exceeded"),
    ),
    (
        "internal",
        HandlerError("boom"),
        500,
        NO_RETRY,
        ("boom", "server_error", None, "internal_error"),
    ),
]


@pytest.mark.parametrize(
    ("exc", "status", "headers", "detail"), [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS]
)
def test_error_response(
    exc: HandlerError, status: int, headers: dict[str, str], detail: tuple[Any, ...]
) -> None:
    message, error_type, param, code = detail
    assert error_reply(exc) == (
        status,
        headers,
        {"error": {"message": message, "type": error_type, "param": param, "code": code}},
    )


def test_error_body_golden_bytes() -> None:
    response = openai_output.error_response(RequestError("n is not supported", param="n"), request_id="r")
    assert "".join(response.body) == (
        '{"error":{"message":"n is not supported","type":"invalid_request_error","param":"n",'
        '"code":"invalid_request"}}'
    )


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (404, "invalid_request_error"),
        (428, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "server_error"),
        (599, "server_error"),
    ],
)
def test_error_type_by_status(status: int, error_type: str) -> None:
    assert openai_output.error_type(status) == error_type


def test_usage() -> None:
    assert openai_output.usage(summary(input_tokens=11, output_tokens=31)) == {
        "prompt_tokens": 11,
        "completion_tokens": 31,
        "total_tokens": 42,
    }


@pytest.mark.parametrize("name", ["\ud800", "a\udfffb", "ключ"])
def test_an_error_naming_any_field_encodes_as_utf8(name: str) -> None:
    """A field name the client sent is named in the message and `param`; one holding a lone surrogate (a
    `"\\ud800"` key) must still encode (it made the runtime fail the invocation: a 502, not the 400)."""
    exc = RequestError(f"unrecognized request argument: {name}", param=name)
    body = "".join(openai_output.error_response(exc, request_id="r").body)
    assert body.isascii()
    body.encode("utf-8")
    assert json.loads(body)["error"] == {
        "message": f"unrecognized request argument: {name}",
        "type": "invalid_request_error",
        "param": name,
        "code": "invalid_request",
    }


def test_an_in_band_error_quoting_a_lone_surrogate_encodes_as_utf8() -> None:
    error = ModelStreamError("Bedrock said \ud800", error_type="modelStreamErrorException")
    for text in (
        chunks().error(error),
        openai_output.CompletionEncoder(completion_id="c", created=1, model="m", request_id="r").error(error),
    ):
        text.encode("utf-8")  # what the runtime does with every piece; would raise UnicodeEncodeError
        assert "Bedrock said \\ud800" in text
