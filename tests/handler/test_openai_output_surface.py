"""The OpenAI edge's output beyond text (`openai_output`): golden bytes of reasoning, reasoning_details,
tool-call fragments, the tool_calls and content_filter finish reasons and usage with prompt-cache tokens
in the chunk stream; the whole `chat.completion` object with tool calls and reasoning; and the openai
SDK's own stream accumulator (`ChatCompletionStreamState`) fed the chunks, from the encoder and from a
real invocation against the stand-in, where reasoning and text blocks come before the tool call.

The expected strings are written by hand; the same bytes are then parsed by the SDK's pydantic models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from bedrock_handler import openai_output
from bedrock_handler.invocation import respond
from bedrock_handler.reply import Summary
from handler_support import FakeContext, load_event
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from emulator.bedrock_stub import BedrockStub

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
CREATED = 1_700_000_000
REQUEST_ID = "c0ffee00-1111-4222-8333-444455556666"
HEAD = (
    'data: {"id":"chatcmpl-c0ffee00-1111-4222-8333-444455556666","object":"chat.completion.chunk",'
    '"created":1700000000,"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","choices":'
)
ROLE = '{"role":"assistant","content":"","refusal":null}'
DONE = "data: [DONE]"


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


def summary(stop_reason: str = "end_turn", *, read: int = 0, write: int = 0) -> Summary:
    return Summary(
        stop_reason=stop_reason,
        input_tokens=3,
        output_tokens=5,
        first_token_ms=12,
        total_ms=34,
        model_id=MODEL,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def chunk(delta: str, finish: str = "null", usage: str = "") -> str:
    """One chunk event whose `choices[0].delta` is the JSON text `delta`."""
    choice = '[{"index":0,"delta":' + delta + ',"finish_reason":' + finish + ',"logprobs":null}]'
    return HEAD + choice + usage + "}\n\n"


def sse_documents(text: str) -> list[Any]:
    assert text.endswith("\n\n")
    documents: list[Any] = []
    for event in text[:-2].split("\n\n"):
        assert event.startswith("data: ") and "\n" not in event, event
        payload = event[len("data: ") :]
        documents.append(payload if payload == "[DONE]" else json.loads(payload))
    return documents


def validate_chunks(text: str) -> list[ChatCompletionChunk]:
    *documents, done = sse_documents(text)
    assert done == "[DONE]"
    return [ChatCompletionChunk.model_validate(document) for document in documents]


def accumulate(text: str) -> Any:
    """The SDK's `.stream()` accumulator over the chunks of `text`: its final completion."""
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for parsed in validate_chunks(text):
        state.handle_chunk(parsed)
    return state.get_final_completion()


# --- stream: true -----------------------------------------------------------------------------------


def test_reasoning_chunks_then_its_details() -> None:
    encoder = chunks()
    assert encoder.reasoning("Let me") == chunk(ROLE) + chunk('{"reasoning_content":"Let me"}')
    assert encoder.reasoning(" think ü") == chunk('{"reasoning_content":" think ü"}')
    assert encoder.reasoning_end("sig-1", None) == chunk(
        '{"reasoning_details":[{"type":"reasoning.text","text":"Let me think ü",'
        '"signature":"sig-1","index":0}]}'
    )


def test_details_index_counts_reasoning_blocks() -> None:
    encoder = chunks()
    text = encoder.reasoning("a") + encoder.reasoning_end("s1", None)
    second = encoder.reasoning("b") + encoder.reasoning("c") + encoder.reasoning_end("s2", None)
    third = encoder.reasoning_end(None, b"\x00\x01\xfe\xff")
    assert second == chunk('{"reasoning_content":"b"}') + chunk('{"reasoning_content":"c"}') + chunk(
        '{"reasoning_details":[{"type":"reasoning.text","text":"bc","signature":"s2","index":1}]}'
    )
    assert third == chunk(
        '{"reasoning_details":[{"type":"reasoning.encrypted","data":"AAH+/w==","index":2}]}'
    )
    validate_chunks(text + second + third + encoder.done(summary()))


def test_redacted_reasoning_alone_opens_with_the_role_chunk() -> None:
    assert chunks().reasoning_end(None, b"secret") == chunk(ROLE) + chunk(
        '{"reasoning_details":[{"type":"reasoning.encrypted","data":"c2VjcmV0","index":0}]}'
    )


def test_tool_call_fragments() -> None:
    encoder = chunks()
    assert encoder.tool_call(0, "tooluse_abc", "weather") == chunk(ROLE) + chunk(
        '{"tool_calls":[{"index":0,"id":"tooluse_abc","type":"function",'
        '"function":{"name":"weather","arguments":""}}]}'
    )
    assert encoder.tool_arguments(0, '{"city": "Os') == chunk(
        '{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": \\"Os"}}]}'
    )
    assert encoder.tool_arguments(0, 'lo"}') == chunk(
        '{"tool_calls":[{"index":0,"function":{"arguments":"lo\\"}"}}]}'
    )
    assert encoder.tool_call(1, "tooluse_def", "clock") == chunk(
        '{"tool_calls":[{"index":1,"id":"tooluse_def","type":"function",'
        '"function":{"name":"clock","arguments":""}}]}'
    )
    assert encoder.done(summary("tool_use")) == chunk("{}", '"tool_calls"') + DONE + "\n\n"


@pytest.mark.parametrize("stop_reason", ["guardrail_intervened", "content_filtered"])
def test_content_filter(stop_reason: str) -> None:
    encoder = chunks()
    assert encoder.delta("partial") == chunk(ROLE) + chunk('{"content":"partial"}')
    assert encoder.done(summary(stop_reason)) == chunk("{}", '"content_filter"') + DONE + "\n\n"


@pytest.mark.parametrize(
    ("read", "write", "usage"),
    [
        (0, 0, '{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}'),
        (
            100,
            20,
            '{"prompt_tokens":123,"completion_tokens":5,"total_tokens":128,'
            '"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":20}}',
        ),
        (
            100,
            0,
            '{"prompt_tokens":103,"completion_tokens":5,"total_tokens":108,'
            '"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":0}}',
        ),
        (
            0,
            7,
            '{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,'
            '"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":7}}',
        ),
    ],
)
def test_usage_with_cache_tokens(read: int, write: int, usage: str) -> None:
    encoder = chunks(include_usage=True)
    text = encoder.done(summary(read=read, write=write))
    assert text == (
        chunk(ROLE, usage=',"usage":null')
        + chunk("{}", '"stop"', ',"usage":null')
        + HEAD
        + '[],"usage":'
        + usage
        + "}\n\n"
        + DONE
        + "\n\n"
    )
    last = validate_chunks(text)[-1]
    assert last.usage is not None and last.usage.prompt_tokens == 3 + read + write
    details = last.usage.prompt_tokens_details
    assert (details.cached_tokens if details else 0) == read


def test_reasoning_text_and_tool_calls_through_the_sdk_accumulator() -> None:
    encoder = chunks(include_usage=True)
    text = (
        encoder.reasoning("I should ")
        + encoder.reasoning("look it up")
        + encoder.reasoning_end("sig", None)
        + encoder.delta("Checking")
        + encoder.delta(" now.")
        + encoder.tool_call(0, "tooluse_1", "weather")
        + encoder.tool_arguments(0, '{"city":')
        + encoder.tool_arguments(0, '"Oslo"}')
        + encoder.tool_call(1, "tooluse_2", "clock")
        + encoder.tool_arguments(1, "{}")
        + encoder.done(summary("tool_use", read=4))
    )
    final = accumulate(text)
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Checking now."
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in choice.message.tool_calls] == [
        ("tooluse_1", "function", "weather", '{"city":"Oslo"}'),
        ("tooluse_2", "function", "clock", "{}"),
    ]
    assert choice.message.model_extra["reasoning_content"] == "I should look it up"
    assert choice.message.model_extra["reasoning_details"] == [
        {"type": "reasoning.text", "text": "I should look it up", "signature": "sig", "index": 0}
    ]
    assert final.usage is not None and final.usage.prompt_tokens == 7


# --- stream: false ----------------------------------------------------------------------------------


def test_completion_with_tool_calls_and_no_text() -> None:
    encoder = completion()
    pieces = [
        encoder.reasoning("hmm"),
        encoder.reasoning_end("s1", None),
        encoder.tool_call(0, "tooluse_1", "weather"),
        encoder.tool_arguments(0, '{"city":'),
        encoder.tool_arguments(0, '"Oslo"}'),
        encoder.tool_call(1, "tooluse_2", "clock"),
    ]
    assert pieces == [""] * 6
    text = encoder.done(summary("tool_use", read=2, write=1))
    assert text == (
        '{"id":"chatcmpl-c0ffee00-1111-4222-8333-444455556666","object":"chat.completion",'
        '"created":1700000000,"model":"us.anthropic.claude-haiku-4-5-20251001-v1:0","choices":[{"index":0,'
        '"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":['
        '{"id":"tooluse_1","type":"function","function":{"name":"weather","arguments":"{\\"city\\":\\"Oslo\\"}"}},'
        '{"id":"tooluse_2","type":"function","function":{"name":"clock","arguments":""}}],'
        '"reasoning_content":"hmm",'
        '"reasoning_details":[{"type":"reasoning.text","text":"hmm","signature":"s1","index":0}]},'
        '"finish_reason":"tool_calls","logprobs":null}],'
        '"usage":{"prompt_tokens":6,"completion_tokens":5,"total_tokens":11,'
        '"prompt_tokens_details":{"cached_tokens":2,"cache_write_tokens":1}}}'
    )
    parsed = ChatCompletion.model_validate(json.loads(text))
    assert parsed.choices[0].message.tool_calls is not None
    assert [c.id for c in parsed.choices[0].message.tool_calls] == ["tooluse_1", "tooluse_2"]


def test_completion_with_text_and_a_tool_call() -> None:
    encoder = completion()
    encoder.delta("Let me check.")
    encoder.tool_call(0, "t1", "weather")
    encoder.tool_arguments(0, "{}")
    document = json.loads(encoder.done(summary("tool_use")))
    assert document["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Let me check.",
        "refusal": None,
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
    }


def test_completion_with_several_reasoning_blocks() -> None:
    encoder = completion()
    for piece in ("a", "b"):
        encoder.reasoning(piece)
    encoder.reasoning_end("s1", None)
    encoder.reasoning_end(None, b"\xff")
    encoder.reasoning("c")
    encoder.reasoning_end("s3", None)
    encoder.delta("answer")
    message = json.loads(encoder.done(summary()))["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": "answer",
        "refusal": None,
        "reasoning_content": "abc",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "ab", "signature": "s1", "index": 0},
            {"type": "reasoning.encrypted", "data": "/w==", "index": 1},
            {"type": "reasoning.text", "text": "c", "signature": "s3", "index": 2},
        ],
    }


def test_completion_content_filter() -> None:
    encoder = completion()
    encoder.delta("cut")
    document = json.loads(encoder.done(summary("guardrail_intervened")))
    assert document["choices"][0]["finish_reason"] == "content_filter"
    assert document["choices"][0]["message"]["content"] == "cut"


# --- a real invocation against the stand-in ---------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def test_a_streamed_tool_call_after_reasoning_and_text_accumulates_at_index_0(
    make_model: Callable[..., Any], stub: BedrockStub
) -> None:
    """The stand-in sends reasoning (block 0), text (block 1), then the tool call (block 2): the
    tool call is index 0 for the SDK, whose accumulator uses the index as a list position."""
    config, model = make_model(MODEL_IDS=MODEL)
    body = {
        "model": MODEL,
        "messages": [
            {"role": "user", "content": "Oslo? @stub:reasoning=2 @stub:tokens=2 @stub:tool=weather"}
        ],
        "tools": [WEATHER_TOOL],
        "reasoning_effort": "low",
        "stream": True,
    }
    event = load_event(
        rawPath="/v1/chat/completions",
        queryStringParameters=None,
        headers={"content-type": "application/json"},
        body=body,
    )
    event["requestContext"]["http"]["method"] = "POST"
    response = respond(event, FakeContext(), config=config, model=model)
    assert response.status_code == 200
    assert isinstance(response.body, Iterable)
    text = "".join(str(piece) for piece in response.body)
    indexes = [
        call["index"]
        for document in sse_documents(text)[:-1]
        for call in document["choices"][0]["delta"].get("tool_calls", [])
    ]
    assert indexes and set(indexes) == {0}
    final = accumulate(text)
    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    assert message.content and len(message.content.split()) == 2
    assert message.model_extra["reasoning_content"] and len(message.model_extra["reasoning_details"]) == 1
    (tool_call,) = message.tool_calls
    assert tool_call.function.name == "weather" and tool_call.id.startswith("tooluse_")
    assert set(json.loads(tool_call.function.arguments)) == {"city"}
    sent = stub.requests[-1].body
    assert sent["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
