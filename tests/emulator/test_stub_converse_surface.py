"""The stand-in's ConverseStream directives (tools, reasoning, guardrails, caching, attachments) via boto3."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from botocore.exceptions import EventStreamError

from emulator.bedrock_stub import BedrockStub
from emulator.stub_replies import reply_tokens
from tests.support.bedrock_client import bedrock_client

Json = dict[str, Any]

SONNET_45 = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS_47 = "us.anthropic.claude-opus-4-7"
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
NOVA_2 = "amazon.nova-2-lite-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
DEEPSEEK = "us.deepseek.r1-v1:0"
THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            }
        },
    }
}
TOOLS = {"tools": [WEATHER]}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
PDF = b"%PDF-1.7 stub document"


@pytest.fixture(scope="module")
def client(stub: BedrockStub) -> Any:
    return bedrock_client(stub.url)


def stream(client: Any, *content: Json, model: str = HAIKU_35, **kwargs: Any) -> list[Json]:
    """Events of one single-turn call, with metadata's latency (the one varying field) removed."""
    messages = kwargs.pop("messages", [{"role": "user", "content": list(content)}])
    events = list(client.converse_stream(modelId=model, messages=messages, **kwargs)["stream"])
    for event in events:
        if "metadata" in event:
            assert isinstance(event["metadata"].pop("metrics")["latencyMs"], int)
    return events


def text(value: str) -> Json:
    return {"text": value}


def delta(index: int, value: Json) -> Json:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": value}}


def stop(index: int) -> Json:
    return {"contentBlockStop": {"contentBlockIndex": index}}


def texts(index: int, words: list[str]) -> list[Json]:
    return [delta(index, {"text": word}) for word in words]


def usage(inputs: int, outputs: int, **cache: int) -> Json:
    return {
        "metadata": {
            "usage": {
                "inputTokens": inputs,
                "outputTokens": outputs,
                "totalTokens": inputs + outputs + sum(cache.values()),
                **cache,
            }
        }
    }


def tool_fragments(events: list[Json]) -> list[str]:
    return [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    ]


def sig(value: str) -> str:
    return "stubsig-" + hashlib.sha256(value.encode()).hexdigest()[:40]


START = {"messageStart": {"role": "assistant"}}


# --- @stub:tool ----------------------------------------------------------------------------------


def test_tool_call_without_tokens_is_only_the_tool_block(client: Any) -> None:
    events = stream(client, text("weather in Paris @stub:tool=get_weather"), toolConfig=TOOLS)
    fragments = tool_fragments(events)
    tool_id = "tooluse_" + hashlib.sha256(b"weather in Paris\x00get_weather").hexdigest()[:24]
    assert events == [
        START,
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": tool_id, "name": "get_weather"}},
            }
        },
        *[delta(0, {"toolUse": {"input": f}}) for f in fragments],
        stop(0),
        {"messageStop": {"stopReason": "tool_use"}},
        usage(3, len(fragments)),
    ]
    assert len(fragments) >= 2
    joined = "".join(fragments)
    assert json.loads(joined) == {"city": reply_tokens("weather in Paris", 1)[0], "days": 7}
    assert joined == json.dumps(json.loads(joined), separators=(",", ":"))  # compact


def test_tool_call_after_text_when_tokens_are_asked(client: Any) -> None:
    events = stream(client, text("weather in Paris @stub:tool=get_weather @stub:tokens=3"), toolConfig=TOOLS)
    fragments = tool_fragments(events)
    assert events[:5] == [START, *texts(0, reply_tokens("weather in Paris", 3)), stop(0)]
    assert (
        list(events[5]) == ["contentBlockStart"] and events[5]["contentBlockStart"]["contentBlockIndex"] == 1
    )
    assert events[6:] == [
        *[delta(1, {"toolUse": {"input": f}}) for f in fragments],
        stop(1),
        {"messageStop": {"stopReason": "tool_use"}},
        usage(3, 3 + len(fragments)),
    ]


def test_tool_input_covers_every_required_type(client: Any) -> None:
    schema = {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "n": {"type": "number"},
            "b": {"type": "boolean"},
            "a": {"type": "array", "items": {"type": "string"}},
            "o": {"type": "object", "properties": {"deep": {"type": "string"}}, "required": ["deep"]},
            "e": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "maybe": {"type": ["string", "null"]},
            "optional": {"type": "string"},
        },
        "required": ["s", "i", "n", "b", "a", "o", "e", "maybe"],
    }
    tools = {"tools": [{"toolSpec": {"name": "every-type_1", "inputSchema": {"json": schema}}}]}
    events = stream(client, text("go @stub:tool=every-type_1"), toolConfig=tools)
    word = reply_tokens("go", 1)[0]
    assert json.loads("".join(tool_fragments(events))) == {
        "s": word,
        "i": 7,
        "n": 1.5,
        "b": True,
        "a": [],
        "o": {},
        "e": "celsius",
        "maybe": word,
    }


def test_tool_without_required_properties_gets_an_empty_object_in_two_fragments(client: Any) -> None:
    tools = {"tools": [{"toolSpec": {"name": "now", "inputSchema": {"json": {"type": "object"}}}}]}
    assert tool_fragments(stream(client, text("time @stub:tool=now"), toolConfig=tools)) == ["{", "}"]


def test_tool_call_is_cut_by_max_tokens_like_any_reply(client: Any) -> None:
    events = stream(
        client,
        text("q @stub:tool=get_weather @stub:tokens=5"),
        toolConfig=TOOLS,
        inferenceConfig={"maxTokens": 2},
    )
    assert events == [
        START,
        *texts(0, reply_tokens("q", 2)),
        stop(0),
        {"messageStop": {"stopReason": "max_tokens"}},
        usage(1, 2),
    ]


@pytest.mark.parametrize(
    "tool_config", [None, {"tools": [{"toolSpec": {"name": "other", "inputSchema": {"json": {}}}}]}]
)
def test_tool_directive_must_name_a_tool_of_the_request(client: Any, tool_config: Json | None) -> None:
    extra: dict[str, Any] = {"toolConfig": tool_config} if tool_config else {}
    with pytest.raises(client.exceptions.ValidationException, match="@stub:tool=get_weather names no tool"):
        stream(client, text("q @stub:tool=get_weather"), **extra)


# --- @stub:reasoning -----------------------------------------------------------------------------


def reasoning_block(prompt: str, count: int) -> list[Json]:
    words = reply_tokens("reasoning: " + prompt, count)
    return [
        *[delta(0, {"reasoningContent": {"text": w}}) for w in words],
        delta(0, {"reasoningContent": {"signature": sig("".join(words))}}),
        stop(0),
    ]


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (SONNET_45, {"additionalModelRequestFields": THINKING, "inferenceConfig": {"maxTokens": 2048}}),
        (
            OPUS_47,
            {
                "additionalModelRequestFields": {"thinking": {"type": "adaptive"}},
                "outputConfig": {"effort": "max"},
            },
        ),
        (
            NOVA_2,
            {
                "additionalModelRequestFields": {
                    "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}
                }
            },
        ),
        (GPT_OSS, {"additionalModelRequestFields": {"reasoning_effort": "medium"}}),
        (DEEPSEEK, {}),
    ],
)
def test_reasoning_block_comes_first_when_the_request_turns_reasoning_on(
    client: Any, model: str, fields: Json
) -> None:
    events = stream(
        client, text("why is the sky blue @stub:reasoning=3 @stub:tokens=2"), model=model, **fields
    )
    assert events == [
        START,
        *reasoning_block("why is the sky blue", 3),
        *texts(1, reply_tokens("why is the sky blue", 2)),
        stop(1),
        {"messageStop": {"stopReason": "end_turn"}},
        usage(5, 5),
    ]


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (SONNET_45, {}),
        (SONNET_45, {"additionalModelRequestFields": {"thinking": {"type": "disabled"}}}),
        (NOVA_2, {"additionalModelRequestFields": {"reasoningConfig": {"type": "disabled"}}}),
        (GPT_OSS, {}),
        (HAIKU_35, {}),
    ],
)
def test_reasoning_directive_is_ignored_when_reasoning_is_off(client: Any, model: str, fields: Json) -> None:
    events = stream(client, text("hi @stub:reasoning=3 @stub:tokens=2"), model=model, **fields)
    assert events == [
        START,
        *texts(0, reply_tokens("hi", 2)),
        stop(0),
        {"messageStop": {"stopReason": "end_turn"}},
        usage(1, 2),
    ]


def test_redacted_reasoning_is_one_opaque_delta(client: Any) -> None:
    events = stream(
        client,
        text("secret plan @stub:reasoning-redacted @stub:tokens=1"),
        model=SONNET_45,
        additionalModelRequestFields=THINKING,
        inferenceConfig={"maxTokens": 4096},
    )
    redacted = events[1]["contentBlockDelta"]["delta"]["reasoningContent"]["redactedContent"]
    assert isinstance(redacted, bytes) and redacted.startswith(b"stub-redacted\x00")
    assert events == [
        START,
        delta(0, {"reasoningContent": {"redactedContent": redacted}}),
        stop(0),
        *texts(1, reply_tokens("secret plan", 1)),
        stop(1),
        {"messageStop": {"stopReason": "end_turn"}},
        usage(2, 2),
    ]


# --- the thinking block of a tool loop -----------------------------------------------------------


def first_turn(client: Any, directives: str) -> tuple[list[Json], Json]:
    """A Claude thinking call that calls get_weather: its events, and the assistant turn to send back."""
    events = stream(
        client,
        text(f"weather in Oslo {directives}"),
        model=SONNET_45,
        toolConfig=TOOLS,
        additionalModelRequestFields=THINKING,
        inferenceConfig={"maxTokens": 2048},
    )
    reasoning = [
        e["contentBlockDelta"]["delta"]["reasoningContent"]
        for e in events
        if "reasoningContent" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e)
    tool_use = {
        "toolUseId": start["toolUseId"],
        "name": start["name"],
        "input": json.loads("".join(tool_fragments(events))),
    }
    if "redactedContent" in reasoning[0]:
        block = {"redactedContent": reasoning[0]["redactedContent"]}
    else:
        thought = "".join(r["text"] for r in reasoning if "text" in r)
        block = {"reasoningText": {"text": thought, "signature": reasoning[-1]["signature"]}}
    return events, {"role": "assistant", "content": [{"reasoningContent": block}, {"toolUse": tool_use}]}


def second_turn(client: Any, assistant: Json) -> list[Json]:
    tool_id = next(b["toolUse"]["toolUseId"] for b in assistant["content"] if "toolUse" in b)
    messages = [
        {"role": "user", "content": [text("weather in Oslo")]},
        assistant,
        {"role": "user", "content": [{"toolResult": {"toolUseId": tool_id, "content": [text("sunny")]}}]},
    ]
    return stream(
        client,
        model=SONNET_45,
        messages=messages,
        toolConfig=TOOLS,
        additionalModelRequestFields=THINKING,
        inferenceConfig={"maxTokens": 2048},
    )


@pytest.mark.parametrize(
    "directives",
    ["@stub:tool=get_weather @stub:reasoning=4", "@stub:tool=get_weather @stub:reasoning-redacted"],
)
def test_the_returned_thinking_block_is_accepted_back(client: Any, directives: str) -> None:
    _, assistant = first_turn(client, directives)
    events = second_turn(client, assistant)
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}


def test_claude_thinks_before_a_tool_call_even_unasked(client: Any) -> None:
    events, assistant = first_turn(client, "@stub:tool=get_weather")
    assert events[1:4] == reasoning_block("weather in Oslo", 1)
    assert second_turn(client, assistant)[-2] == {"messageStop": {"stopReason": "end_turn"}}


def altered_text(assistant: Json) -> None:
    assistant["content"][0]["reasoningContent"]["reasoningText"]["text"] += "!"


def altered_signature(assistant: Json) -> None:
    assistant["content"][0]["reasoningContent"]["reasoningText"]["signature"] = sig("something else")


def dropped_block(assistant: Json) -> None:
    del assistant["content"][0]


def moved_block(assistant: Json) -> None:
    assistant["content"].reverse()


def foreign_redacted(assistant: Json) -> None:
    assistant["content"][0]["reasoningContent"] = {"redactedContent": b"stub-redacted\x00" + bytes(24)}


@pytest.mark.parametrize(
    "alter", [altered_text, altered_signature, dropped_block, moved_block, foreign_redacted]
)
def test_an_altered_or_missing_thinking_block_is_refused(client: Any, alter: Any) -> None:
    _, assistant = first_turn(client, "@stub:tool=get_weather @stub:reasoning=2")
    alter(assistant)
    with pytest.raises(client.exceptions.ValidationException, match="thinking block"):
        second_turn(client, assistant)


# --- @stub:guardrail-after -----------------------------------------------------------------------


def test_guardrail_intervenes_after_n_text_deltas_with_its_trace(client: Any) -> None:
    guardrail = {
        "guardrailIdentifier": "gr0abc1",
        "guardrailVersion": "1",
        "trace": "enabled",
        "streamProcessingMode": "async",
    }
    events = stream(client, text("tell me @stub:guardrail-after=2 @stub:tokens=6"), guardrailConfig=guardrail)
    words = reply_tokens("tell me", 2)
    assert events[:-1] == [
        START,
        *texts(0, words),
        stop(0),
        {"messageStop": {"stopReason": "guardrail_intervened"}},
    ]
    metadata = events[-1]["metadata"]
    assert metadata["usage"] == usage(2, 2)["metadata"]["usage"]
    trace = metadata["trace"]["guardrail"]
    assert trace["actionReason"] == "Guardrail blocked."
    assert list(trace["inputAssessment"]) == ["gr0abc1"]
    [output] = trace["outputAssessments"]["gr0abc1"]
    assert output["contentPolicy"]["filters"][0]["action"] == "BLOCKED"
    assert output["invocationMetrics"]["guardrailCoverage"]["textCharacters"]["total"] == len("".join(words))
    assert "modelOutput" not in trace


def test_guardrail_full_trace_names_the_arns_id_and_the_output(client: Any) -> None:
    guardrail = {
        "guardrailIdentifier": "arn:aws:bedrock:us-east-1:123456789012:guardrail/x1y2",
        "guardrailVersion": "DRAFT",
        "trace": "enabled_full",
    }
    events = stream(client, text("tell me @stub:guardrail-after=1"), guardrailConfig=guardrail)
    trace = events[-1]["metadata"]["trace"]["guardrail"]
    assert list(trace["outputAssessments"]) == ["x1y2"]
    assert trace["modelOutput"] == reply_tokens("tell me", 1)


@pytest.mark.parametrize("trace", [{}, {"trace": "disabled"}])
def test_guardrail_without_tracing_sends_no_trace(client: Any, trace: Json) -> None:
    guardrail = {"guardrailIdentifier": "abc", "guardrailVersion": "3", **trace}
    events = stream(client, text("x @stub:guardrail-after=0"), guardrailConfig=guardrail)
    assert events == [START, stop(0), {"messageStop": {"stopReason": "guardrail_intervened"}}, usage(1, 0)]


def test_guardrail_directive_is_ignored_without_guardrail_config(client: Any) -> None:
    events = stream(client, text("x @stub:guardrail-after=1 @stub:tokens=3"))
    assert events == [
        START,
        *texts(0, reply_tokens("x", 3)),
        stop(0),
        {"messageStop": {"stopReason": "end_turn"}},
        usage(1, 3),
    ]


def test_guardrail_stops_before_the_tool_call(client: Any) -> None:
    guardrail = {"guardrailIdentifier": "abc", "guardrailVersion": "1"}
    events = stream(
        client,
        text("x @stub:guardrail-after=1 @stub:tool=get_weather @stub:tokens=3"),
        toolConfig=TOOLS,
        guardrailConfig=guardrail,
    )
    assert events == [
        START,
        *texts(0, reply_tokens("x", 1)),
        stop(0),
        {"messageStop": {"stopReason": "guardrail_intervened"}},
        usage(1, 1),
    ]


# --- @stub:cache-read / @stub:cache-write ---------------------------------------------------------


CACHED_SYSTEM = [text("You are terse."), {"cachePoint": {"type": "default"}}]


def test_cache_directives_fill_the_usage_when_the_request_caches(client: Any) -> None:
    events = stream(
        client, text("x @stub:cache-read=100 @stub:cache-write=40 @stub:tokens=2"), system=CACHED_SYSTEM
    )
    assert events[-1] == usage(1, 2, cacheReadInputTokens=100, cacheWriteInputTokens=40)
    assert events[-1]["metadata"]["usage"]["totalTokens"] == 143


def test_a_cached_request_without_directives_reports_zero_cache_tokens(client: Any) -> None:
    messages = [
        {"role": "user", "content": [text("long context"), {"cachePoint": {"type": "default", "ttl": "1h"}}]},
        {"role": "assistant", "content": [text("ok")]},
        {"role": "user", "content": [text("x @stub:tokens=1")]},
    ]
    assert stream(client, messages=messages)[-1] == usage(
        1, 1, cacheReadInputTokens=0, cacheWriteInputTokens=0
    )


def test_cache_directives_are_ignored_without_a_cache_point(client: Any) -> None:
    events = stream(client, text("x @stub:cache-read=100 @stub:tokens=2"), system=[text("You are terse.")])
    assert events[-1] == usage(1, 2)


# --- attachments, block order, delta counting -----------------------------------------------------


def test_attachments_are_echoed_in_order_before_the_reply(client: Any) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + bytes(100)
    content = [
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        text("describe these @stub:tokens=2"),
        {"document": {"name": "document-1", "format": "pdf", "source": {"bytes": PDF}}},
        {"image": {"format": "jpeg", "source": {"bytes": jpeg}}},
    ]
    events = stream(client, *content)
    markers = ["[image:png:32]", f"[document:pdf:{len(PDF)}]", "[image:jpeg:104]"]
    assert events == [
        START,
        *texts(0, markers + reply_tokens("describe these", 2)),
        stop(0),
        {"messageStop": {"stopReason": "end_turn"}},
        usage(2, 5),
    ]


def test_only_the_last_user_turns_attachments_are_echoed(client: Any) -> None:
    messages = [
        {"role": "user", "content": [text("see"), {"image": {"format": "png", "source": {"bytes": PNG}}}]},
        {"role": "assistant", "content": [text("seen")]},
        {"role": "user", "content": [text("again @stub:tokens=1")]},
    ]
    assert stream(client, messages=messages)[1] == delta(0, {"text": reply_tokens("again", 1)[0]})


def test_every_block_in_order_with_its_own_index(client: Any) -> None:
    events = stream(
        client,
        text("plan @stub:reasoning=2 @stub:tokens=2 @stub:tool=get_weather"),
        {"image": {"format": "png", "source": {"bytes": PNG}}},
        model=SONNET_45,
        toolConfig=TOOLS,
        additionalModelRequestFields=THINKING,
        inferenceConfig={"maxTokens": 2048},
    )
    fragments = tool_fragments(events)
    indices = [
        next(iter(e.values()))["contentBlockIndex"]
        for e in events
        if "contentBlockIndex" in next(iter(e.values()))
    ]
    assert indices == [0, 0, 0, 0, 1, 1, 1, 1, 2, *[2] * len(fragments), 2]
    assert events[-1] == usage(1, 2 + 3 + len(fragments))


def test_error_after_counts_deltas_of_every_block(client: Any) -> None:
    response = client.converse_stream(
        modelId=DEEPSEEK,
        messages=[{"role": "user", "content": [text("q @stub:reasoning=2 @stub:error-after=4")]}],
    )
    seen = []
    with pytest.raises(EventStreamError, match="modelStreamErrorException"):
        seen.extend(response["stream"])
    assert [e for e in seen if "contentBlockDelta" in e] == [
        *reasoning_block("q", 2)[:3],
        delta(1, {"text": reply_tokens("q", 1)[0]}),
    ]


def test_invoke_model_ignores_the_converse_directives(client: Any) -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    text(
                        "hi @stub:tool=x @stub:reasoning=3 @stub:guardrail-after=1 @stub:cache-read=5 "
                        "@stub:tokens=2"
                    )
                ],
            }
        ]
    }
    response = client.invoke_model_with_response_stream(
        modelId="amazon.nova-2-lite-v1:0", body=json.dumps(body)
    )
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    deltas = [c["contentBlockDelta"]["delta"]["text"] for c in chunks if "contentBlockDelta" in c]
    assert deltas == reply_tokens("hi", 2)
