"""Reasoning on the stand-in's Converse surface: each family's request fields, and the signatures it issues.

The rules are the documented ones (PROTOCOL.md §12.B4): Claude's `thinking` ("enabled" with
1024 <= budget_tokens < maxTokens, or "adaptive" on Opus 4.6, Sonnet 4.6 and Opus 4.7, the last
adaptive only; no temperature/topP and no forced tool choice while thinking), `outputConfig.effort`,
Nova 2's `reasoningConfig`, gpt-oss's `reasoning_effort`, DeepSeek R1 always reasoning. A reasoning
field a model does not take is a 400. Signatures are deterministic so that a client sending back an
altered thinking block is caught like real Claude catches it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator import stub_capabilities as caps
from emulator.stub_blocks import MessageContent, decode_base64, single_key
from emulator.stub_frames import invalid
from emulator.stub_replies import reply_tokens

REASONING_FIELDS = ("thinking", "reasoningConfig", "reasoning_effort", "reasoning_config")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
SIGNATURE_PREFIX = "stubsig-"
_REDACTED_PREFIX = b"stub-redacted\x00"
_FIELD_OF_STYLE = {
    caps.CLAUDE_ENABLED: "thinking",
    caps.CLAUDE_EITHER: "thinking",
    caps.CLAUDE_ADAPTIVE: "thinking",
    caps.NOVA_2: "reasoningConfig",
    caps.GPT_OSS: "reasoning_effort",
}


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Whether a request turns reasoning on, and whether it is Claude's kind (signed thinking blocks)."""

    on: bool = False
    claude: bool = False


def check_reasoning_request(model_id: str, body: Mapping[str, Any]) -> Reasoning:
    """Check the reasoning fields of a (structurally valid) request against the model's family."""
    style = caps.capabilities(model_id).reasoning
    extra = body.get("additionalModelRequestFields", {})
    if not isinstance(extra, Mapping):
        raise invalid("additionalModelRequestFields must be an object")
    for name in REASONING_FIELDS:
        if name in extra and name != _FIELD_OF_STYLE.get(style):
            able = "reasons without any field" if style else "cannot reason"
            if style in _FIELD_OF_STYLE:
                able = f"takes {_FIELD_OF_STYLE[style]} instead"
            raise invalid(f"additionalModelRequestFields.{name} is not supported by {model_id!r}: it {able}")
    inference = body.get("inferenceConfig") or {}
    effort = _effort(body.get("outputConfig"))
    if style in caps.CLAUDE_STYLES:
        on = _claude(style, extra.get("thinking"), inference, body.get("toolConfig"), effort)
        return Reasoning(on=on, claude=on)
    if effort is not None:
        raise invalid(f"outputConfig.effort is not supported by {model_id!r}: only Claude models that reason")
    if style == caps.NOVA_2:
        return Reasoning(on=_nova(extra.get("reasoningConfig"), inference))
    if style == caps.GPT_OSS and "reasoning_effort" in extra:
        if extra["reasoning_effort"] not in ("low", "medium", "high"):
            raise invalid("additionalModelRequestFields.reasoning_effort must be low, medium or high")
        return Reasoning(on=True)
    return Reasoning(on=style == caps.DEEPSEEK_R1)


def _effort(output_config: object) -> str | None:
    if output_config is None:
        return None
    if not isinstance(output_config, Mapping):
        raise invalid("outputConfig must be an object")
    effort = output_config.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise invalid(f"outputConfig.effort must be one of {', '.join(EFFORTS)}")
    return effort


def _claude(
    style: str, thinking: object, inference: Mapping[str, Any], tool_config: object, effort: str | None
) -> bool:
    on = False
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, Mapping) else None
        if kind not in ("enabled", "adaptive", "disabled") or not isinstance(thinking, Mapping):
            raise invalid("additionalModelRequestFields.thinking.type must be enabled, adaptive or disabled")
        if kind == "enabled":
            if style == caps.CLAUDE_ADAPTIVE:
                raise invalid("thinking.type 'enabled' is not supported by this model: use 'adaptive'")
            _check_budget(thinking.get("budget_tokens"), inference.get("maxTokens"))
        elif kind == "adaptive":
            if style == caps.CLAUDE_ENABLED:
                raise invalid(
                    "thinking.type 'adaptive' is supported only by Claude Opus 4.6, Sonnet 4.6 and Opus 4.7"
                )
            if "budget_tokens" in thinking:
                raise invalid("thinking.budget_tokens is only for thinking.type 'enabled'")
        on = kind != "disabled"
    if effort in ("xhigh", "max") and not on:
        raise invalid(f"outputConfig.effort {effort!r} needs thinking on (without it, at most 'high')")
    if on:
        for key in ("temperature", "topP"):
            if key in inference:
                raise invalid(f"inferenceConfig.{key} cannot be set while thinking is on")
        choice = tool_config.get("toolChoice") if isinstance(tool_config, Mapping) else None
        if isinstance(choice, Mapping) and ("any" in choice or "tool" in choice):
            raise invalid("toolChoice any or tool (forced tool use) cannot be used while thinking is on")
    return on


def _check_budget(budget: object, max_tokens: object) -> None:
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
        raise invalid("thinking.budget_tokens must be an integer of at least 1024")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        raise invalid(f"thinking.budget_tokens ({budget}) must be less than inferenceConfig.maxTokens")


def _nova(config: object, inference: Mapping[str, Any]) -> bool:
    if config is None:
        return False
    kind = config.get("type") if isinstance(config, Mapping) else None
    if kind not in ("enabled", "disabled") or not isinstance(config, Mapping):
        raise invalid("additionalModelRequestFields.reasoningConfig.type must be enabled or disabled")
    effort = config.get("maxReasoningEffort")
    if effort is not None and effort not in ("low", "medium", "high"):
        raise invalid("reasoningConfig.maxReasoningEffort must be low, medium or high")
    if kind == "enabled" and effort == "high":
        for key in ("temperature", "topP"):
            if key in inference:
                raise invalid(
                    f"inferenceConfig.{key} cannot be set with reasoningConfig.maxReasoningEffort high"
                )
    return bool(kind == "enabled")


# --- what the stand-in issues, and checks when it comes back ------------------------------------


def reasoning_tokens(prompt: str, count: int) -> list[str]:
    """The `count` reasoning text deltas for `prompt` (the reply's words, seeded differently)."""
    return reply_tokens("reasoning: " + prompt, count)


def signature(text: str) -> str:
    """The signature the stand-in issues for a reasoning text: "stubsig-" + sha256(text) hex[:40]."""
    return SIGNATURE_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def redacted_content(prompt: str) -> bytes:
    """The redacted reasoning bytes the stand-in issues for `prompt`: prefix, seed, and a check of both."""
    seed = hashlib.sha256(prompt.encode("utf-8")).digest()[:16]
    return _REDACTED_PREFIX + seed + hashlib.sha256(_REDACTED_PREFIX + seed).digest()[:8]


def is_issued_redacted(data: bytes) -> bool:
    """Whether `data` is redacted reasoning the stand-in issued (unaltered)."""
    seed = data[len(_REDACTED_PREFIX) : -8]
    return (
        data.startswith(_REDACTED_PREFIX)
        and len(seed) == 16
        and data[-8:] == hashlib.sha256(_REDACTED_PREFIX + seed).digest()[:8]
    )


def redacted_delta(prompt: str) -> str:
    """`redacted_content` as the base64 text of a `redactedContent` delta."""
    return base64.b64encode(redacted_content(prompt)).decode("ascii")


def check_thinking_block(messages: Sequence[Mapping[str, Any]], contents: Sequence[MessageContent]) -> None:
    """With Claude thinking on, the last assistant turn calling a tool must open with its thinking block."""
    assistants = [index for index, message in enumerate(messages) if message.get("role") == "assistant"]
    if not assistants or not contents[assistants[-1]].tool_uses:
        return
    index = assistants[-1]
    kind, block = contents[index].first_block
    if kind == "reasoningContent":
        where = f"messages[{index}].content[0].reasoningContent"
        inner, value = single_key(block, where, ("reasoningText", "redactedContent"))
        if inner == "reasoningText" and value.get("signature") == signature(value["text"]):
            return
        if inner == "redactedContent" and is_issued_redacted(decode_base64(value, where)):
            return
    raise invalid(
        f"messages[{index}]: with thinking on, an assistant message with toolUse must begin with the "
        "thinking block the model returned (reasoningContent with its unaltered text and signature, "
        "or its redactedContent)"
    )
