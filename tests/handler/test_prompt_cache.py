"""Prompt cache points (`prompt_cache`): which model ids take them (bare, inference-profile, ARN), and where
each PROMPT_CACHING mode puts them in `converse_stream` arguments: after the system prompt, and after the
turn before the last user turn; a one-turn conversation, a missing system prompt and a model without
caching are left as they are.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bedrock_handler import prompt_cache

POINT = {"cachePoint": {"type": "default"}}
HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.mark.parametrize(
    ("model_id", "caches"),
    [
        ("anthropic.claude-3-5-haiku-20241022-v1:0", True),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", True),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        ("anthropic.claude-sonnet-4-20250514-v1:0", True),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", True),
        ("anthropic.claude-sonnet-4-6", True),
        ("anthropic.claude-opus-4-20250514-v1:0", True),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", True),
        ("anthropic.claude-opus-4-5-20251101-v1:0", True),
        ("global.anthropic.claude-opus-4-6-v1", True),
        ("anthropic.claude-opus-4-7", True),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", True),
        ("apac.anthropic.claude-haiku-4-5-20251001-v1:0", True),
        ("us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0", True),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
            True,
        ),
        ("amazon.nova-micro-v1:0", True),
        ("amazon.nova-lite-v1:0", True),
        ("us.amazon.nova-lite-v1:0", True),
        ("amazon.nova-pro-v1:0", True),
        ("us.amazon.nova-premier-v1:0", True),
        ("amazon.nova-2-lite-v1:0", True),
        ("global.amazon.nova-2-lite-v1:0", True),
        # no cache points
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", False),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", False),
        ("anthropic.claude-3-haiku-20240307-v1:0", False),
        ("anthropic.claude-3-opus-20240229-v1:0", False),
        ("meta.llama3-3-70b-instruct-v1:0", False),
        ("mistral.mistral-7b-instruct-v0:2", False),
        ("amazon.titan-text-express-v1", False),
        ("openai.gpt-oss-20b-1:0", False),
        ("us.deepseek.r1-v1:0", False),
        ("amazon.nova-canvas-v1:0", False),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", False),
    ],
)
def test_supports(model_id: str, caches: bool) -> None:
    assert prompt_cache.supports(model_id) is caches


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}]}


def arguments(model_id: str = HAIKU_45, *, turns: int = 3, system: bool = True) -> dict[str, Any]:
    messages = [user("u0"), assistant("a1"), user("u2"), assistant("a3"), user("u4")][-turns:]
    args: dict[str, Any] = {"modelId": model_id, "messages": messages, "inferenceConfig": {"maxTokens": 9}}
    if system:
        args["system"] = [{"text": "sys"}]
    return args


def applied(mode: str, **shape: Any) -> dict[str, Any]:
    args = arguments(**shape)
    prompt_cache.apply(args, mode)
    return args


def test_none_adds_nothing() -> None:
    assert applied("none") == arguments()


def test_system_mode() -> None:
    assert applied("system") == {
        "modelId": HAIKU_45,
        "messages": [user("u2"), assistant("a3"), user("u4")],
        "inferenceConfig": {"maxTokens": 9},
        "system": [{"text": "sys"}, POINT],
    }


def test_messages_mode_marks_the_turn_before_the_last_user_turn() -> None:
    assert applied("messages") == {
        "modelId": HAIKU_45,
        "messages": [
            user("u2"),
            {"role": "assistant", "content": [{"text": "a3"}, POINT]},
            user("u4"),
        ],
        "inferenceConfig": {"maxTokens": 9},
        "system": [{"text": "sys"}],
    }


def test_all_mode() -> None:
    assert applied("all", turns=5) == {
        "modelId": HAIKU_45,
        "messages": [
            user("u0"),
            assistant("a1"),
            user("u2"),
            {"role": "assistant", "content": [{"text": "a3"}, POINT]},
            user("u4"),
        ],
        "inferenceConfig": {"maxTokens": 9},
        "system": [{"text": "sys"}, POINT],
    }


@pytest.mark.parametrize("mode", ["messages", "all"])
def test_a_one_turn_conversation_has_no_earlier_turn_to_cache(mode: str) -> None:
    expected = arguments(turns=1)
    if mode == "all":
        expected["system"] = [{"text": "sys"}, POINT]
    assert applied(mode, turns=1) == expected


@pytest.mark.parametrize("mode", ["system", "all"])
def test_no_system_prompt_gets_no_system_point(mode: str) -> None:
    args = applied(mode, system=False)
    assert "system" not in args
    assert args["messages"][1]["content"] == ([{"text": "a3"}, POINT] if mode == "all" else [{"text": "a3"}])


def test_tool_use_turn_gets_the_point_after_its_last_block() -> None:
    args = arguments()
    args["messages"][1]["content"] = [
        {"reasoningContent": {"reasoningText": {"text": "r", "signature": "s"}}},
        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}},
    ]
    args["messages"][2]["content"].insert(0, {"toolResult": {"toolUseId": "t1", "content": [{"text": "x"}]}})
    prompt_cache.apply(args, "messages")
    assert args["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "r", "signature": "s"}}},
        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}},
        POINT,
    ]
    assert args["messages"][2]["content"][-1] == {"text": "u4"}


@pytest.mark.parametrize("mode", ["system", "messages", "all"])
@pytest.mark.parametrize(
    "model_id", ["anthropic.claude-3-5-sonnet-20241022-v2:0", "openai.gpt-oss-20b-1:0", "us.deepseek.r1-v1:0"]
)
def test_a_model_without_caching_is_untouched(mode: str, model_id: str) -> None:
    args = arguments(model_id)
    expected = copy.deepcopy(args)
    prompt_cache.apply(args, mode)
    assert args == expected
