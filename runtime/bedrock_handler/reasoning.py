"""Reasoning per model family: which models can reason, and the Converse fields that turn it on for a
requested effort (PROTOCOL.md §12.B4). Checked when a request is parsed, applied when it is sent."""

from __future__ import annotations

from typing import Any

from bedrock_handler.chat import ChatRequest
from bedrock_handler.errors import RequestError
from bedrock_handler.invoke_formats import base_model_id

CLAUDE_MIN_BUDGET = 1024
# Model id (after any inference-profile prefix) -> how it reasons. The first matching prefix wins.
_FAMILIES = (
    ("anthropic.claude-3-7-", "claude-budget"),
    ("anthropic.claude-3", "none"),
    ("anthropic.claude-instant", "none"),
    ("anthropic.claude-v", "none"),
    ("anthropic.claude-opus-4-6", "claude-adaptive"),
    ("anthropic.claude-sonnet-4-6", "claude-adaptive"),
    ("anthropic.claude-opus-4-7", "claude-adaptive"),
    ("anthropic.claude-opus-4", "claude-budget"),
    ("anthropic.claude-sonnet-4", "claude-budget"),
    ("anthropic.claude-haiku-4", "claude-budget"),
    ("anthropic.claude-", "claude-adaptive"),  # lines newer than Opus 4.7 take adaptive thinking only
    ("amazon.nova-2-", "nova-2"),
    ("openai.gpt-oss-", "gpt-oss"),
    ("deepseek.r1", "always"),
)
# Share of the token limit given to Claude's thinking budget (at least CLAUDE_MIN_BUDGET).
_BUDGET_SHARE = {"minimal": 0.0, "low": 0.25, "medium": 0.5, "high": 0.75, "xhigh": 0.75, "max": 0.75}
# Effort -> Converse `outputConfig.effort` (adaptive Claude) and the three-level scale of Nova and gpt-oss.
_ADAPTIVE_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh"}
_THREE_LEVELS = {"minimal": "low", "low": "low", "medium": "medium"}


def family(model_id: str) -> str:
    """How `model_id` reasons: claude-budget, claude-adaptive, nova-2, gpt-oss, always or none."""
    base = base_model_id(model_id)
    return next((kind for prefix, kind in _FAMILIES if base.startswith(prefix)), "none")


def check(request: ChatRequest, *, param: str) -> None:
    """Refuse a reasoning request the model cannot serve, naming `param` (the API's field)."""
    if request.reasoning is None:
        return
    kind = family(request.model_id)
    if kind == "none":
        raise RequestError(f"model {request.model_id} cannot reason; leave {param} unset", param=param)
    if kind.startswith("claude") and request.tool_choice in ("any", "tool"):
        raise RequestError(
            "Claude cannot reason when a tool call is forced; use tool_choice auto with reasoning",
            param="tool_choice",
        )
    if kind == "claude-budget" and _claude_budget(request) >= request.max_tokens:
        raise RequestError(
            f"reasoning on {request.model_id} needs a token limit above its thinking budget "
            f"(at least {CLAUDE_MIN_BUDGET + 1}; the budget is a share of the limit)",
            param=param,
        )


def apply(arguments: dict[str, Any], request: ChatRequest) -> None:
    """Set the fields that turn reasoning on in `converse_stream` keyword arguments (already checked)."""
    effort = request.reasoning
    if effort is None:
        return
    kind = family(request.model_id)
    if kind.startswith("claude") and _tool_turn_without_thinking(request):
        return
    extra: dict[str, Any] = arguments.setdefault("additionalModelRequestFields", {})
    inference: dict[str, Any] = arguments["inferenceConfig"]
    if kind == "claude-budget":
        extra["thinking"] = {"type": "enabled", "budget_tokens": _claude_budget(request)}
    elif kind == "claude-adaptive":
        extra["thinking"] = {"type": "adaptive"}
        arguments["outputConfig"] = {"effort": _ADAPTIVE_EFFORT.get(effort, "max")}
    elif kind == "nova-2":
        level = _THREE_LEVELS.get(effort, "high")
        extra["reasoningConfig"] = {"type": "enabled", "maxReasoningEffort": level}
    elif kind == "gpt-oss":
        extra["reasoning_effort"] = _THREE_LEVELS.get(effort, "high")
    if kind.startswith("claude") or extra.get("reasoningConfig", {}).get("maxReasoningEffort") == "high":
        # Claude thinking and Nova's high effort take no sampling settings.
        inference.pop("temperature", None)
        inference.pop("topP", None)
    if not extra:
        del arguments["additionalModelRequestFields"]


def _tool_turn_without_thinking(request: ChatRequest) -> bool:
    """Whether the conversation continues a tool call whose assistant turn came back without its
    reasoning block. Claude refuses thinking there (the turn must start with its signed thinking), and
    most OpenAI clients never send `reasoning_details` back, so that request goes without thinking."""
    assistant = next((m for m in reversed(request.messages) if m.role == "assistant"), None)
    if assistant is None or not any("toolUse" in block for block in assistant.trailing):
        return False
    return not any("reasoningContent" in block for block in assistant.leading)


def _claude_budget(request: ChatRequest) -> int:
    share = _BUDGET_SHARE[request.reasoning or "minimal"]
    return max(CLAUDE_MIN_BUDGET, int(request.max_tokens * share))
