"""The ConverseStream edge (`converse_request.converse_arguments`): golden keyword arguments for messages and
their blocks, inference settings, tools and tool choice (placeholder specifications for tools only the
history names), the guardrail and cache points from `HandlerConfig`, and reasoning fields; every golden
dict is also accepted by botocore's own validation of the `ConverseStream` input shape.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from bedrock_handler.chat import ChatRequest, Message
from bedrock_handler.config import HandlerConfig
from bedrock_handler.converse_request import content, converse_arguments, tools_in_history
from botocore.validate import ParamValidator
from handler_support import base_env

HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
WEATHER = {
    "name": "weather",
    "description": "Weather of a city",
    "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
}
CLOCK = {"name": "clock", "inputSchema": {"json": {"type": "object", "properties": {}}}}
ANY_OBJECT = {"json": {"type": "object"}}
PNG = b"\x89PNG\r\n\x1a\n\x00"
IMAGE = {"image": {"format": "png", "source": {"bytes": PNG}}}
DOCUMENT = {"document": {"name": "document-1", "format": "txt", "source": {"bytes": b"notes"}}}
THOUGHT = {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "sig"}}}
REDACTED = {"reasoningContent": {"redactedContent": b"\x00secret"}}


def tool_use(call_id: str, name: str, arguments: Any = None) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": call_id, "name": name, "input": {} if arguments is None else arguments}}


def tool_result(call_id: str, text: str = "ok") -> dict[str, Any]:
    return {"toolResult": {"toolUseId": call_id, "content": [{"text": text}]}}


def chat(*messages: Message, **fields: Any) -> ChatRequest:
    return ChatRequest(
        model_id=fields.pop("model_id", HAIKU_45),
        messages=messages or (Message("user", "hi"),),
        max_tokens=fields.pop("max_tokens", 100),
        **fields,
    )


def config(**env: str) -> HandlerConfig:
    return HandlerConfig.from_env(base_env(MODEL_IDS=f"{HAIKU_45},{MISTRAL}", **env))


_SHAPE = (
    botocore.session.get_session()
    .get_service_model("bedrock-runtime")
    .operation_model("ConverseStream")
    .input_shape
)


def botocore_accepts(arguments: dict[str, Any]) -> None:
    """botocore's client-side validation of the arguments (the same check `converse_stream` runs)."""
    report = ParamValidator().validate(arguments, _SHAPE)
    assert not report.has_errors(), report.generate_report()


HISTORY = (
    Message("user", "weather in Oslo?"),
    Message("assistant", "", trailing=(tool_use("c1", "weather", {"city": "Oslo"}),)),
    Message("user", "and now?", leading=(tool_result("c1", "rain"),)),
)


# --- messages and inference -----------------------------------------------------------------------


def test_minimal_request() -> None:
    arguments = converse_arguments(chat())
    assert arguments == {
        "modelId": HAIKU_45,
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 100},
    }
    botocore_accepts(arguments)


def test_inference_settings_and_system() -> None:
    request = chat(
        Message("user", "a"),
        Message("assistant", "b"),
        Message("user", "c"),
        system="be brief",
        temperature=0.0,
        top_p=1.0,
        stop_sequences=("END", "STOP"),
    )
    arguments = converse_arguments(request, config())
    assert arguments == {
        "modelId": HAIKU_45,
        "messages": [
            {"role": "user", "content": [{"text": "a"}]},
            {"role": "assistant", "content": [{"text": "b"}]},
            {"role": "user", "content": [{"text": "c"}]},
        ],
        "inferenceConfig": {
            "maxTokens": 100,
            "temperature": 0.0,
            "topP": 1.0,
            "stopSequences": ["END", "STOP"],
        },
        "system": [{"text": "be brief"}],
    }
    botocore_accepts(arguments)


def test_user_content_is_leading_blocks_then_text() -> None:
    message = Message("user", "what are these?", leading=(tool_result("c1"), IMAGE, DOCUMENT))
    assert content(message) == [tool_result("c1"), IMAGE, DOCUMENT, {"text": "what are these?"}]


def test_assistant_content_is_reasoning_then_text_then_tool_calls() -> None:
    message = Message(
        "assistant",
        "let me look",
        leading=(THOUGHT, REDACTED),
        trailing=(tool_use("c1", "weather"), tool_use("c2", "clock")),
    )
    assert content(message) == [
        THOUGHT,
        REDACTED,
        {"text": "let me look"},
        tool_use("c1", "weather"),
        tool_use("c2", "clock"),
    ]


def test_a_turn_without_text_has_no_text_block() -> None:
    assert content(Message("user", "", leading=(tool_result("c1"),))) == [tool_result("c1")]
    assert content(Message("assistant", "", trailing=(tool_use("c1", "f"),))) == [tool_use("c1", "f")]


def test_blocks_reach_the_arguments_in_order() -> None:
    request = chat(
        Message("user", "look", leading=(IMAGE,)),
        Message("assistant", "", leading=(THOUGHT,), trailing=(tool_use("c1", "weather"),)),
        Message("user", "", leading=(tool_result("c1"), DOCUMENT)),
        tools=(WEATHER,),
        tool_choice="auto",
    )
    arguments = converse_arguments(request)
    assert arguments["messages"] == [
        {"role": "user", "content": [IMAGE, {"text": "look"}]},
        {"role": "assistant", "content": [THOUGHT, tool_use("c1", "weather")]},
        {"role": "user", "content": [tool_result("c1"), DOCUMENT]},
    ]
    botocore_accepts(arguments)


# --- tools ----------------------------------------------------------------------------------------


def test_auto_sends_the_tools_without_a_tool_choice() -> None:
    arguments = converse_arguments(chat(tools=(WEATHER, CLOCK), tool_choice="auto"))
    assert arguments["toolConfig"] == {"tools": [{"toolSpec": WEATHER}, {"toolSpec": CLOCK}]}
    botocore_accepts(arguments)


def test_any() -> None:
    arguments = converse_arguments(chat(tools=(WEATHER, CLOCK), tool_choice="any"))
    assert arguments["toolConfig"] == {
        "tools": [{"toolSpec": WEATHER}, {"toolSpec": CLOCK}],
        "toolChoice": {"any": {}},
    }
    botocore_accepts(arguments)


def test_a_named_tool() -> None:
    arguments = converse_arguments(chat(tools=(WEATHER, CLOCK), tool_choice="tool", tool_name="clock"))
    assert arguments["toolConfig"] == {
        "tools": [{"toolSpec": WEATHER}, {"toolSpec": CLOCK}],
        "toolChoice": {"tool": {"name": "clock"}},
    }
    botocore_accepts(arguments)


def test_none_without_history_sends_no_tools() -> None:
    arguments = converse_arguments(chat(tools=(WEATHER, CLOCK), tool_choice="none"))
    assert "toolConfig" not in arguments
    assert arguments == converse_arguments(chat())


def test_auto_without_tools_sends_no_tool_config() -> None:
    assert "toolConfig" not in converse_arguments(chat(tool_choice="auto"))


def test_none_with_history_sends_the_tools_the_history_needs() -> None:
    arguments = converse_arguments(chat(*HISTORY, tools=(WEATHER, CLOCK), tool_choice="none"))
    assert arguments["toolConfig"] == {"tools": [{"toolSpec": WEATHER}, {"toolSpec": CLOCK}]}
    botocore_accepts(arguments)


def test_tools_only_named_in_history_get_placeholder_specs_in_first_call_order() -> None:
    history = (
        Message("user", "go"),
        Message("assistant", "", trailing=(tool_use("c1", "search"), tool_use("c2", "weather"))),
        Message("user", "", leading=(tool_result("c1"), tool_result("c2"))),
        Message("assistant", "", trailing=(tool_use("c3", "fetch"), tool_use("c4", "search"))),
        Message("user", "done?", leading=(tool_result("c3"), tool_result("c4"))),
    )
    assert tools_in_history(chat(*history)) == ["search", "weather", "fetch"]
    for choice in ("none", "auto"):
        arguments = converse_arguments(chat(*history, tools=(WEATHER,), tool_choice=choice))
        assert arguments["toolConfig"] == {
            "tools": [
                {"toolSpec": WEATHER},
                {"toolSpec": {"name": "search", "inputSchema": {"json": {"type": "object"}}}},
                {"toolSpec": {"name": "fetch", "inputSchema": {"json": {"type": "object"}}}},
            ]
        }
        botocore_accepts(arguments)


def test_history_without_any_listed_tool() -> None:
    arguments = converse_arguments(chat(*HISTORY))
    assert arguments["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "weather", "inputSchema": ANY_OBJECT}}]
    }
    assert arguments["messages"][1] == {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "c1", "name": "weather", "input": {"city": "Oslo"}}}],
    }
    assert arguments["messages"][2] == {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": "c1", "content": [{"text": "rain"}]}}, {"text": "and now?"}],
    }
    botocore_accepts(arguments)


def test_forced_tool_with_history() -> None:
    arguments = converse_arguments(chat(*HISTORY, tools=(CLOCK,), tool_choice="tool", tool_name="clock"))
    assert arguments["toolConfig"] == {
        "tools": [{"toolSpec": CLOCK}, {"toolSpec": {"name": "weather", "inputSchema": ANY_OBJECT}}],
        "toolChoice": {"tool": {"name": "clock"}},
    }


# --- guardrail and cache points from the configuration --------------------------------------------


def test_guardrail_config() -> None:
    arguments = converse_arguments(chat(), config(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION="DRAFT"))
    assert arguments == {
        "modelId": HAIKU_45,
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 100},
        "guardrailConfig": {
            "guardrailIdentifier": "gr0abc12",
            "guardrailVersion": "DRAFT",
            "trace": "enabled",
            "streamProcessingMode": "sync",
        },
    }
    botocore_accepts(arguments)


def test_guardrail_async_mode_and_numbered_version() -> None:
    settings = config(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION="12", GUARDRAIL_STREAM_MODE="async")
    assert converse_arguments(chat(), settings)["guardrailConfig"] == {
        "guardrailIdentifier": "gr0abc12",
        "guardrailVersion": "12",
        "trace": "enabled",
        "streamProcessingMode": "async",
    }


def test_no_guardrail_and_no_caching_by_default() -> None:
    assert converse_arguments(chat(), config()) == converse_arguments(chat())


def test_cache_points_from_prompt_caching() -> None:
    request = chat(Message("user", "a"), Message("assistant", "b"), Message("user", "c"), system="sys")
    arguments = converse_arguments(request, config(PROMPT_CACHING="all"))
    assert arguments["system"] == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert arguments["messages"] == [
        {"role": "user", "content": [{"text": "a"}]},
        {"role": "assistant", "content": [{"text": "b"}, {"cachePoint": {"type": "default"}}]},
        {"role": "user", "content": [{"text": "c"}]},
    ]
    botocore_accepts(arguments)


def test_no_cache_points_for_a_model_without_caching() -> None:
    request = chat(Message("user", "a"), Message("assistant", "b"), Message("user", "c"), model_id=MISTRAL)
    assert converse_arguments(request, config(PROMPT_CACHING="all")) == converse_arguments(request)


# --- reasoning ------------------------------------------------------------------------------------


THOUGHT = {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig"}}}


def test_everything_together() -> None:
    thinking_history = (HISTORY[0], HISTORY[1]._replace(leading=(THOUGHT,)), HISTORY[2])
    request = chat(
        *thinking_history,
        system="sys",
        temperature=0.3,
        max_tokens=2000,
        tools=(WEATHER,),
        tool_choice="auto",
        reasoning="medium",
    )
    settings = config(GUARDRAIL_ID="gr0abc12", GUARDRAIL_VERSION="3", PROMPT_CACHING="messages")
    arguments = converse_arguments(request, settings)
    assert arguments == {
        "modelId": HAIKU_45,
        "messages": [
            {"role": "user", "content": [{"text": "weather in Oslo?"}]},
            {
                "role": "assistant",
                "content": [
                    THOUGHT,
                    {"toolUse": {"toolUseId": "c1", "name": "weather", "input": {"city": "Oslo"}}},
                    {"cachePoint": {"type": "default"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "c1", "content": [{"text": "rain"}]}},
                    {"text": "and now?"},
                ],
            },
        ],
        "inferenceConfig": {"maxTokens": 2000},
        "system": [{"text": "sys"}],
        "toolConfig": {"tools": [{"toolSpec": WEATHER}]},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        "guardrailConfig": {
            "guardrailIdentifier": "gr0abc12",
            "guardrailVersion": "3",
            "trace": "enabled",
            "streamProcessingMode": "sync",
        },
    }
    botocore_accepts(arguments)


@pytest.mark.parametrize(
    ("model_id", "fields"),
    [
        ("us.anthropic.claude-opus-4-7", {"outputConfig": {"effort": "high"}}),
        ("amazon.nova-2-lite-v1:0", {}),
        ("openai.gpt-oss-20b-1:0", {}),
    ],
)
def test_reasoning_arguments_pass_botocore_validation(model_id: str, fields: dict[str, Any]) -> None:
    arguments = converse_arguments(chat(model_id=model_id, reasoning="high", temperature=0.2))
    for key, value in fields.items():
        assert arguments[key] == value
    botocore_accepts(arguments)


def test_the_botocore_check_refuses_a_malformed_shape() -> None:
    """The validation above can fail: a shape botocore would refuse before sending is reported."""
    arguments = converse_arguments(chat(tools=(WEATHER,), tool_choice="tool", tool_name="weather"))
    arguments["toolConfig"]["toolChoice"] = {"tool": {}}
    arguments["inferenceConfig"]["maxTokens"] = "100"
    report = ParamValidator().validate(arguments, _SHAPE)
    assert report.has_errors()
    assert "toolConfig.toolChoice.tool" in report.generate_report()
    assert "inferenceConfig.maxTokens" in report.generate_report()
