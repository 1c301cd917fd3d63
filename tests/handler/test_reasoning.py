"""Reasoning per model family (`reasoning`): which real model ids reason and how (bare ids, inference-profile
ids, ARNs), the requests refused before any Bedrock call, and the exact Converse fields each family and
effort gets (Claude's thinking budget, adaptive thinking with `outputConfig.effort`, Nova 2's
`reasoningConfig`, gpt-oss's `reasoning_effort`), sampling settings removed where thinking forbids them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bedrock_handler import reasoning
from bedrock_handler.chat import ChatRequest, Message
from bedrock_handler.errors import RequestError

HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET_37 = "anthropic.claude-3-7-sonnet-20250219-v1:0"
OPUS_46 = "global.anthropic.claude-opus-4-6-v1"
OPUS_47 = "us.anthropic.claude-opus-4-7"
NOVA_2 = "amazon.nova-2-lite-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
R1 = "us.deepseek.r1-v1:0"
NOVA_LITE = "amazon.nova-lite-v1:0"
EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "max")


@pytest.mark.parametrize(
    ("model_id", "kind"),
    [
        # Claude 3.7 Sonnet and the Claude 4 lines up to 4.5: thinking with a budget
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-budget"),
        ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-budget"),
        ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-budget"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "claude-budget"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-budget"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-budget"),
        ("anthropic.claude-opus-4-20250514-v1:0", "claude-budget"),
        ("anthropic.claude-opus-4-1-20250805-v1:0", "claude-budget"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-budget"),
        ("anthropic.claude-opus-4-5-20251101-v1:0", "claude-budget"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-budget"),
        ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-budget"),
        ("apac.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-budget"),
        ("us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-budget"),
        ("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-budget"),
        ("au.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-budget"),
        ("ca.anthropic.claude-sonnet-4-20250514-v1:0", "claude-budget"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
            "claude-budget",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "claude-budget",
        ),
        # Opus 4.6, Sonnet 4.6 and Opus 4.7: adaptive thinking
        ("anthropic.claude-opus-4-6-v1", "claude-adaptive"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-adaptive"),
        ("anthropic.claude-sonnet-4-6", "claude-adaptive"),
        ("us.anthropic.claude-sonnet-4-6", "claude-adaptive"),
        ("anthropic.claude-opus-4-7", "claude-adaptive"),
        ("arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-opus-4-7", "claude-adaptive"),
        # Claude that cannot reason
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "none"),
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "none"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "none"),
        ("anthropic.claude-3-haiku-20240307-v1:0", "none"),
        ("anthropic.claude-3-opus-20240229-v1:0", "none"),
        ("anthropic.claude-instant-v1", "none"),
        ("anthropic.claude-v2:1", "none"),
        # Nova: only Nova 2 Lite reasons
        ("amazon.nova-2-lite-v1:0", "nova-2"),
        ("us.amazon.nova-2-lite-v1:0", "nova-2"),
        ("global.amazon.nova-2-lite-v1:0", "nova-2"),
        ("amazon.nova-lite-v1:0", "none"),
        ("us.amazon.nova-lite-v1:0", "none"),
        ("amazon.nova-micro-v1:0", "none"),
        ("amazon.nova-pro-v1:0", "none"),
        ("us.amazon.nova-premier-v1:0", "none"),
        # gpt-oss and DeepSeek R1
        ("openai.gpt-oss-20b-1:0", "gpt-oss"),
        ("openai.gpt-oss-120b-1:0", "gpt-oss"),
        ("deepseek.r1-v1:0", "always"),
        ("us.deepseek.r1-v1:0", "always"),
        ("deepseek.v3-v1:0", "none"),
        # the rest
        ("meta.llama3-3-70b-instruct-v1:0", "none"),
        ("us.meta.llama4-maverick-17b-instruct-v1:0", "none"),
        ("mistral.mistral-7b-instruct-v0:2", "none"),
        ("mistral.mistral-large-2407-v1:0", "none"),
        ("amazon.titan-text-express-v1", "none"),
        ("cohere.command-r-plus-v1:0", "none"),
        ("", "none"),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", "none"),
    ],
)
def test_family_of_real_model_ids(model_id: str, kind: str) -> None:
    assert reasoning.family(model_id) == kind


# --- check ------------------------------------------------------------------------------------------


def request(model_id: str, effort: str | None, **fields: Any) -> ChatRequest:
    return ChatRequest(
        model_id=model_id,
        messages=(Message("user", "think"),),
        max_tokens=fields.pop("max_tokens", 4000),
        reasoning=effort,
        **fields,
    )


def refusal(chat_request: ChatRequest, param: str = "reasoning_effort") -> RequestError:
    with pytest.raises(RequestError) as caught:
        reasoning.check(chat_request, param=param)
    assert (caught.value.status, caught.value.error_type) == (400, "invalid_request")
    return caught.value


@pytest.mark.parametrize(
    "model_id", [NOVA_LITE, "us.anthropic.claude-3-5-haiku-20241022-v1:0", "meta.llama3-3-70b-instruct-v1:0"]
)
@pytest.mark.parametrize("param", ["reasoning_effort", "reasoning"])
def test_a_model_that_cannot_reason_is_refused(model_id: str, param: str) -> None:
    error = refusal(request(model_id, "low"), param)
    assert error.param == param
    assert error.message == f"model {model_id} cannot reason; leave {param} unset"


@pytest.mark.parametrize("model_id", [HAIKU_45, SONNET_37, OPUS_46, OPUS_47])
@pytest.mark.parametrize(("choice", "name"), [("any", None), ("tool", "lookup")])
def test_claude_cannot_reason_with_a_forced_tool_call(model_id: str, choice: str, name: str | None) -> None:
    tools = ({"name": "lookup", "inputSchema": {"json": {"type": "object"}}},)
    error = refusal(request(model_id, "medium", tools=tools, tool_choice=choice, tool_name=name))
    assert error.param == "tool_choice"
    assert error.message == (
        "Claude cannot reason when a tool call is forced; use tool_choice auto with reasoning"
    )


@pytest.mark.parametrize("model_id", [NOVA_2, GPT_OSS, R1])
def test_other_families_reason_with_a_forced_tool_call(model_id: str) -> None:
    tools = ({"name": "lookup", "inputSchema": {"json": {"type": "object"}}},)
    reasoning.check(request(model_id, "high", tools=tools, tool_choice="any"), param="reasoning_effort")


@pytest.mark.parametrize(
    ("effort", "max_tokens"),
    [
        ("minimal", 1024),  # budget 1024 (the minimum), not below the limit
        ("low", 1024),
        ("high", 1024),
        ("max", 1),
        ("low", 1000),
    ],
)
def test_a_budget_not_below_the_token_limit_is_refused(effort: str, max_tokens: int) -> None:
    error = refusal(request(HAIKU_45, effort, max_tokens=max_tokens))
    assert error.param == "reasoning_effort"
    assert error.message == (
        f"reasoning on {HAIKU_45} needs a token limit above its thinking budget "
        "(at least 1025; the budget is a share of the limit)"
    )


@pytest.mark.parametrize("effort", EFFORTS)
def test_a_token_limit_of_1025_fits_every_budget(effort: str) -> None:
    reasoning.check(request(SONNET_37, effort, max_tokens=1025), param="reasoning")


@pytest.mark.parametrize("model_id", [OPUS_46, OPUS_47, NOVA_2, GPT_OSS, R1])
def test_no_budget_check_without_a_budget(model_id: str) -> None:
    reasoning.check(request(model_id, "max", max_tokens=1), param="reasoning_effort")


@pytest.mark.parametrize("model_id", [NOVA_LITE, HAIKU_45, "mistral.mistral-7b-instruct-v0:2"])
def test_reasoning_off_is_never_refused(model_id: str) -> None:
    reasoning.check(request(model_id, None, max_tokens=1, tool_choice="any"), param="reasoning_effort")


# --- apply ------------------------------------------------------------------------------------------


def arguments(model_id: str, max_tokens: int = 4000) -> dict[str, Any]:
    """`converse_stream` arguments as `converse_request` builds them before reasoning is applied."""
    return {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": "think"}]}],
        "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0.5, "topP": 0.9, "stopSequences": ["X"]},
    }


def applied(model_id: str, effort: str | None, max_tokens: int = 4000) -> dict[str, Any]:
    args = arguments(model_id, max_tokens)
    reasoning.apply(args, request(model_id, effort, max_tokens=max_tokens))
    return args


NO_SAMPLING = {"maxTokens": 4000, "stopSequences": ["X"]}
SAMPLING = {"maxTokens": 4000, "temperature": 0.5, "topP": 0.9, "stopSequences": ["X"]}
MESSAGES = [{"role": "user", "content": [{"text": "think"}]}]


@pytest.mark.parametrize(
    ("effort", "budget"),
    [("minimal", 1024), ("low", 1024), ("medium", 2000), ("high", 3000), ("xhigh", 3000), ("max", 3000)],
)
@pytest.mark.parametrize("model_id", [HAIKU_45, SONNET_37, "anthropic.claude-opus-4-1-20250805-v1:0"])
def test_claude_budget_thinking(model_id: str, effort: str, budget: int) -> None:
    assert applied(model_id, effort) == {
        "modelId": model_id,
        "messages": MESSAGES,
        "inferenceConfig": NO_SAMPLING,
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": budget}},
    }


@pytest.mark.parametrize(
    ("effort", "max_tokens", "budget"),
    [("low", 8000, 2000), ("medium", 2049, 1024), ("medium", 2050, 1025), ("high", 1025, 1024)],
)
def test_claude_budget_is_a_share_of_the_limit(effort: str, max_tokens: int, budget: int) -> None:
    extra = applied(HAIKU_45, effort, max_tokens)["additionalModelRequestFields"]
    assert extra == {"thinking": {"type": "enabled", "budget_tokens": budget}}


@pytest.mark.parametrize(
    ("effort", "level"),
    [
        ("minimal", "low"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "xhigh"),
        ("max", "max"),
    ],
)
@pytest.mark.parametrize("model_id", [OPUS_46, "anthropic.claude-sonnet-4-6", OPUS_47])
def test_claude_adaptive_thinking(model_id: str, effort: str, level: str) -> None:
    assert applied(model_id, effort) == {
        "modelId": model_id,
        "messages": MESSAGES,
        "inferenceConfig": NO_SAMPLING,
        "additionalModelRequestFields": {"thinking": {"type": "adaptive"}},
        "outputConfig": {"effort": level},
    }


@pytest.mark.parametrize(
    ("effort", "level", "inference"),
    [
        ("minimal", "low", SAMPLING),
        ("low", "low", SAMPLING),
        ("medium", "medium", SAMPLING),
        ("high", "high", NO_SAMPLING),  # Nova's high effort takes no temperature or topP
        ("xhigh", "high", NO_SAMPLING),
        ("max", "high", NO_SAMPLING),
    ],
)
def test_nova_2_reasoning_config(effort: str, level: str, inference: dict[str, Any]) -> None:
    assert applied(NOVA_2, effort) == {
        "modelId": NOVA_2,
        "messages": MESSAGES,
        "inferenceConfig": inference,
        "additionalModelRequestFields": {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": level}},
    }


@pytest.mark.parametrize(
    ("effort", "level"),
    [
        ("minimal", "low"),
        ("low", "low"),
        ("medium", "medium"),
        ("high", "high"),
        ("xhigh", "high"),
        ("max", "high"),
    ],
)
@pytest.mark.parametrize("model_id", [GPT_OSS, "openai.gpt-oss-20b-1:0"])
def test_gpt_oss_reasoning_effort(model_id: str, effort: str, level: str) -> None:
    assert applied(model_id, effort) == {
        "modelId": model_id,
        "messages": MESSAGES,
        "inferenceConfig": SAMPLING,
        "additionalModelRequestFields": {"reasoning_effort": level},
    }


@pytest.mark.parametrize("effort", EFFORTS)
def test_deepseek_r1_reasons_with_no_field(effort: str) -> None:
    assert applied(R1, effort) == arguments(R1)


@pytest.mark.parametrize("model_id", [HAIKU_45, OPUS_47, NOVA_2, GPT_OSS, R1, NOVA_LITE])
def test_nothing_is_set_when_reasoning_is_off(model_id: str) -> None:
    args = arguments(model_id)
    expected = copy.deepcopy(args)
    reasoning.apply(args, request(model_id, None))
    assert args == expected


def test_apply_keeps_other_additional_fields() -> None:
    args = arguments(GPT_OSS)
    args["additionalModelRequestFields"] = {"top_k": 5}
    reasoning.apply(args, request(GPT_OSS, "medium"))
    assert args["additionalModelRequestFields"] == {"top_k": 5, "reasoning_effort": "medium"}


def _tool_history(*, thinking: bool) -> tuple[Message, ...]:
    reasoning = (
        ({"reasoningContent": {"reasoningText": {"text": "t", "signature": "s"}}},) if thinking else ()
    )
    call = {"toolUse": {"toolUseId": "call_1", "name": "f", "input": {}}}
    result = {"toolResult": {"toolUseId": "call_1", "content": [{"text": "r"}]}}
    return (
        Message("user", "go"),
        Message("assistant", "", reasoning, (call,)),
        Message("user", "", (result,)),
    )


@pytest.mark.parametrize(
    "model_id", ["us.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic.claude-opus-4-7"]
)
def test_claude_goes_without_thinking_after_a_tool_turn_sent_back_without_it(model_id: str) -> None:
    """Claude refuses thinking when the assistant turn with the tool call lacks its signed thinking block
    (most OpenAI clients never send reasoning_details back): that request is made without thinking."""
    request = ChatRequest(
        model_id=model_id,
        messages=_tool_history(thinking=False),
        max_tokens=4096,
        reasoning="low",
        temperature=0.5,
    )
    arguments = {
        "modelId": model_id,
        "messages": [],
        "inferenceConfig": {"maxTokens": 4096, "temperature": 0.5},
    }
    reasoning.apply(arguments, request)
    assert arguments == {
        "modelId": model_id,
        "messages": [],
        "inferenceConfig": {"maxTokens": 4096, "temperature": 0.5},
    }


def test_claude_keeps_thinking_when_the_tool_turn_comes_back_with_its_block() -> None:
    model_id = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    request = ChatRequest(
        model_id=model_id, messages=_tool_history(thinking=True), max_tokens=4096, reasoning="low"
    )
    arguments: dict[str, Any] = {"modelId": model_id, "messages": [], "inferenceConfig": {"maxTokens": 4096}}
    reasoning.apply(arguments, request)
    assert arguments["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024}
    }
