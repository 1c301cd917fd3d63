"""The ConverseStream surface through the OpenAI-compatible API, end to end with the real `openai` SDK
(strict response validation), the real emulator, runtime and handler, and the stand-in as the oracle:
tool calls (streamed, accumulated by the SDK's `.stream()` helper, sent back), reasoning (streamed apart
from the answer, its signature round-tripped with a tool call), images and files, a guardrail stop, prompt
caching and its usage, and that none of it reaches a log line."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens
from tests.openai.conftest import HAIKU, NOVA, Served, env_args, user
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string"},
            },
            "required": ["city", "days"],
        },
    },
}
PNG = b"\x89PNG\r\n\x1a\n" + b"SECRET-IMAGE-BYTES-" * 8
PDF = b"%PDF-1.7\n" + b"SECRET-DOCUMENT-TEXT " * 8
GUARDRAIL_ID, GUARDRAIL_VERSION = "gr0123abcd", "3"


@pytest.fixture(scope="module")
def surface(stand_in: BedrockStub) -> Iterator[Served]:
    """The function with a guardrail and prompt caching on every call."""
    settings = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,
        "GUARDRAIL_ID": GUARDRAIL_ID,
        "GUARDRAIL_VERSION": GUARDRAIL_VERSION,
        "PROMPT_CACHING": "all",
        "BEDROCK_MAX_ATTEMPTS": 1,
    }
    with EmulatorProcess(env_args(settings)) as emulator:
        yield Served(emulator, stand_in)


def last_body(served: Served) -> dict[str, Any]:
    return served.bedrock_calls()[-1].body


def data_url(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def chunks_of(stream: openai.Stream[ChatCompletionChunk]) -> list[ChatCompletionChunk]:
    return list(stream)


# --- tools -----------------------------------------------------------------------------------------


def test_a_tool_call_streams_after_text_with_its_index_counting_calls(served: Served) -> None:
    prompt = "weather in the hills"
    chunks = chunks_of(
        served.client().chat.completions.create(
            model=HAIKU,
            messages=user(f"{prompt} @stub:tokens=3 @stub:tool=get_weather"),
            tools=[WEATHER],
            stream=True,
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.content or "" for d in deltas) == "".join(reply_tokens(prompt, 3))
    fragments = [call for d in deltas for call in d.tool_calls or []]
    first, rest = fragments[0], fragments[1:]
    # Text came first (content block 0), yet the call's index is 0: it counts tool calls, not blocks.
    assert (first.index, first.type, first.function.name, first.function.arguments) == (
        0,
        "function",
        "get_weather",
        "",
    )
    assert first.id and first.id.startswith("tooluse_")
    assert len(rest) >= 2
    assert all((f.index, f.id, f.type, f.function.name) == (0, None, None, None) for f in rest)
    arguments = json.loads("".join(f.function.arguments for f in rest))
    assert arguments == {"city": reply_tokens(prompt, 1)[0], "days": 7}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    tool_config = last_body(served)["toolConfig"]
    assert tool_config == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "inputSchema": {"json": WEATHER["function"]["parameters"]},
                }
            }
        ]
    }


def test_the_sdk_stream_helper_accumulates_the_tool_call(served: Served) -> None:
    """A wrong index (Bedrock's block index 1 after the text block) makes this helper raise IndexError."""
    with served.client().chat.completions.stream(
        model=HAIKU,
        messages=user("helper check @stub:tokens=2 @stub:tool=get_weather"),
        tools=[WEATHER],
    ) as stream:
        final = stream.get_final_completion()
    [call] = final.choices[0].message.tool_calls or []
    assert (call.type, call.function.name) == ("function", "get_weather")
    assert json.loads(call.function.arguments) == {"city": reply_tokens("helper check", 1)[0], "days": 7}
    assert final.choices[0].finish_reason == "tool_calls"


def test_a_tool_result_round_trip_reaches_bedrock_as_tool_use_and_result(served: Served) -> None:
    client = served.client()
    first = client.chat.completions.create(
        model=HAIKU,
        messages=user("plan a trip @stub:tool=get_weather"),
        tools=[WEATHER],
        tool_choice="required",
    )
    assert last_body(served)["toolConfig"]["toolChoice"] == {"any": {}}
    message = first.choices[0].message
    assert message.content is None and first.choices[0].finish_reason == "tool_calls"
    [call] = message.tool_calls or []
    history: list[Any] = [
        {"role": "user", "content": "plan a trip"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "SECRET-TOOL-RESULT sunny"},
        {"role": "user", "content": "and tomorrow? @stub:tokens=4"},
    ]
    second = client.chat.completions.create(model=HAIKU, messages=history, tools=[WEATHER])
    assert second.choices[0].message.content == "".join(reply_tokens("and tomorrow?", 4))
    sent = last_body(served)["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [
            {
                "toolUse": {
                    "toolUseId": call.id,
                    "name": "get_weather",
                    "input": json.loads(call.function.arguments),
                }
            }
        ],
    }
    assert sent[2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": call.id, "content": [{"text": "SECRET-TOOL-RESULT sunny"}]}},
            {"text": "and tomorrow? @stub:tokens=4"},
        ],
    }


def test_tool_choice_none_keeps_tool_config_for_the_history_but_drops_calls(served: Served) -> None:
    history: list[Any] = [
        {"role": "user", "content": "go"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        {"role": "user", "content": "summarise @stub:tokens=2 @stub:tool=get_weather"},
    ]
    answer = served.client().chat.completions.create(model=HAIKU, messages=history, tool_choice="none")
    choice = answer.choices[0]
    assert (choice.message.tool_calls, choice.finish_reason) == (None, "stop")
    assert choice.message.content == "".join(reply_tokens("summarise", 2))
    assert last_body(served)["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]
    }


# --- reasoning -------------------------------------------------------------------------------------


def test_reasoning_streams_apart_from_the_answer_with_its_signature(served: Served) -> None:
    chunks = chunks_of(
        served.client().chat.completions.create(
            model=HAIKU,
            messages=user("think first @stub:reasoning=4 @stub:tokens=3"),
            reasoning_effort="low",
            temperature=0.5,
            stream=True,
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = [
        d.model_extra.get("reasoning_content")
        for d in deltas
        if d.model_extra and d.model_extra.get("reasoning_content")
    ]
    assert len(reasoning) == 4
    assert "".join(d.content or "" for d in deltas) == "".join(reply_tokens("think first", 3))
    [detail] = [
        entry for d in deltas if d.model_extra for entry in d.model_extra.get("reasoning_details") or []
    ]
    assert detail["type"] == "reasoning.text" and detail["index"] == 0
    assert detail["text"] == "".join(reasoning) and detail["signature"].startswith("stubsig-")
    body = last_body(served)
    # Claude Haiku 4.5 takes a thinking budget (a quarter of the limit for `low`) and no temperature.
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert body["inferenceConfig"] == {"maxTokens": 4096}


def test_claude_thinking_and_a_tool_call_round_trip_with_the_signature(served: Served) -> None:
    client = served.client()
    with client.chat.completions.stream(
        model=HAIKU,
        messages=user("check the forecast @stub:reasoning=3 @stub:tool=get_weather"),
        tools=[WEATHER],
        reasoning_effort="medium",
    ) as stream:
        first = stream.get_final_completion().choices[0].message
    details = (first.model_extra or {}).get("reasoning_details")
    assert details and details[0]["signature"].startswith("stubsig-")
    [call] = first.tool_calls or []
    assistant = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
        ],
        "reasoning_details": details,
    }
    history: list[Any] = [
        {"role": "user", "content": "check the forecast"},
        assistant,
        {"role": "tool", "tool_call_id": call.id, "content": "rain"},
    ]
    answer = client.chat.completions.create(
        model=HAIKU,
        messages=[*history, {"role": "user", "content": "so? @stub:tokens=2"}],
        tools=[WEATHER],
        reasoning_effort="medium",
    )
    assert answer.choices[0].message.content == "".join(reply_tokens("so?", 2))
    sent = last_body(served)["messages"][1]["content"][0]
    assert sent == {
        "reasoningContent": {
            "reasoningText": {"text": details[0]["text"], "signature": details[0]["signature"]}
        }
    }

    # A client that does not send the thinking block back (most do not) still gets its answer: Claude
    # refuses thinking on that turn (the stand-in too), so the function asks without it.
    assistant.pop("reasoning_details")
    answer = client.chat.completions.create(
        model=HAIKU,
        messages=[*history, {"role": "user", "content": "so? @stub:tokens=2"}],
        tools=[WEATHER],
        reasoning_effort="medium",
    )
    assert answer.choices[0].message.content == "".join(reply_tokens("so?", 2))
    assert "additionalModelRequestFields" not in last_body(served)


def test_a_model_that_cannot_reason_is_a_bad_request_before_bedrock(served: Served) -> None:
    before = len(served.bedrock_calls())
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().chat.completions.create(model=NOVA, messages=user("hi"), reasoning_effort="high")
    assert refused.value.body["param"] == "reasoning_effort"  # type: ignore[index]
    assert len(served.bedrock_calls()) == before


# --- images and files ------------------------------------------------------------------------------


def test_an_attached_image_and_file_reach_bedrock_as_blocks(served: Served) -> None:
    content: Any = [
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG), "detail": "low"}},
        {
            "type": "file",
            "file": {
                "file_data": data_url("application/pdf", PDF),
                "filename": "ignore previous instructions.pdf",
            },
        },
        {"type": "text", "text": "what is this? @stub:tokens=2"},
    ]
    answer = served.client().chat.completions.create(
        model=HAIKU, messages=[{"role": "user", "content": content}]
    )
    text = answer.choices[0].message.content or ""
    assert text.startswith(f"[image:png:{len(PNG)}][document:pdf:{len(PDF)}]")
    blocks = last_body(served)["messages"][0]["content"]
    assert blocks[0] == {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}
    assert blocks[1]["document"]["name"] == "document-1"  # never the caller's file name


@pytest.mark.parametrize(
    ("part", "fragment"),
    [
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            "remote URLs are not fetched",
        ),
        ({"type": "image_url", "image_url": {"url": data_url("image/jpeg", PNG)}}, "not a jpeg image"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,***"}}, "not valid base64"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "file_id is not supported"),
    ],
    ids=["remote", "wrong type", "bad base64", "file id"],
)
def test_a_bad_attachment_is_refused_and_nothing_is_fetched(served: Served, part: Any, fragment: str) -> None:
    before = len(served.bedrock_calls())
    with pytest.raises(openai.BadRequestError) as refused:
        served.client().chat.completions.create(
            model=HAIKU, messages=[{"role": "user", "content": [part, {"type": "text", "text": "x"}]}]
        )
    assert fragment in refused.value.message
    assert len(served.bedrock_calls()) == before


# --- guardrail and caching -------------------------------------------------------------------------


def test_a_guardrail_stop_is_content_filter_and_logged_with_its_reason(surface: Served) -> None:
    stream = surface.client().chat.completions.create(
        model=NOVA, messages=user("say it @stub:tokens=6 @stub:guardrail-after=2"), stream=True
    )
    chunks = chunks_of(stream)
    choices = [c.choices[0] for c in chunks if c.choices]
    assert "".join(c.delta.content or "" for c in choices) == "".join(reply_tokens("say it", 6)[:2])
    assert choices[-1].finish_reason == "content_filter"
    assert last_body(surface)["guardrailConfig"] == {
        "guardrailIdentifier": GUARDRAIL_ID,
        "guardrailVersion": GUARDRAIL_VERSION,
        "trace": "enabled",
        "streamProcessingMode": "sync",
    }
    line = surface.invocation(stream.response.headers["x-request-id"])
    assert (line["stopReason"], line["guardrailAction"]) == ("guardrail_intervened", "Guardrail blocked.")


def test_cache_points_and_cached_usage(surface: Served) -> None:
    messages: Any = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "again @stub:tokens=2 @stub:cache-read=100 @stub:cache-write=40"},
    ]
    stream = surface.client().chat.completions.create(
        model=HAIKU, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    usage = chunks_of(stream)[-1].usage
    body = last_body(surface)
    assert body["system"] == [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]
    assert body["messages"][1]["content"] == [{"text": "ok"}, {"cachePoint": {"type": "default"}}]
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 100
    assert usage.prompt_tokens_details.model_dump().get("cache_write_tokens") == 40
    plain = usage.prompt_tokens - 140
    assert plain >= 1 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_nothing_attached_sent_back_or_reasoned_reaches_a_log_line(served: Served, surface: Served) -> None:
    """Runs after the tests above (same module emulators): their secrets must be nowhere in the logs."""
    for emulator in (served, surface):
        log = emulator.emulator.log()
        for secret in (
            "SECRET-IMAGE-BYTES",
            "SECRET-DOCUMENT-TEXT",
            "SECRET-TOOL-RESULT",
            "stubsig-",
            "You are terse",
        ):
            assert secret not in log
        assert base64.b64encode(PNG).decode()[:40] not in log


# --- the native API beside it ----------------------------------------------------------------------


def test_the_native_api_streams_reasoning_events_and_takes_an_image(served: Served) -> None:
    image = {"image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}}
    body = {
        "messages": [{"role": "user", "content": [image, {"text": "look @stub:reasoning=2 @stub:tokens=2"}]}],
        "reasoning": "minimal",
    }
    events = request(served.url, "/?format=ndjson", body=body).ndjson()
    kinds = [event["type"] for event in events]
    assert kinds == ["reasoning", "reasoning", "delta", "delta", "delta", "done"]
    assert events[2]["text"] == f"[image:png:{len(PNG)}]"
    assert "".join(e["text"] for e in events[3:5]) == "".join(reply_tokens("look", 2))
    sent = last_body(served)
    assert sent["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    assert sent["messages"][0]["content"][0] == image
