"""Prompt caching: which models take cache points, and where PROMPT_CACHING places them (PROTOCOL.md
§12.B6): after the system prompt, and after the turn before the last user turn (the conversation so far)."""

from __future__ import annotations

from typing import Any

from bedrock_handler.invoke_formats import base_model_id

MODES = ("none", "system", "messages", "all")
CACHE_POINT = {"cachePoint": {"type": "default"}}
# Model ids (after any inference-profile prefix) that take cache points.
_CACHING_MODELS = (
    "anthropic.claude-3-5-haiku",
    "anthropic.claude-3-7-sonnet",
    "anthropic.claude-sonnet-4",
    "anthropic.claude-opus-4",
    "anthropic.claude-haiku-4",
    "amazon.nova-micro",
    "amazon.nova-lite",
    "amazon.nova-pro",
    "amazon.nova-premier",
    "amazon.nova-2-lite",
)


def supports(model_id: str) -> bool:
    """Whether Bedrock caches prompt prefixes for `model_id`."""
    base = base_model_id(model_id)
    return base.startswith(_CACHING_MODELS)


def apply(arguments: dict[str, Any], mode: str) -> None:
    """Add the cache points `mode` asks for to `converse_stream` keyword arguments, if the model takes
    them. A conversation of one user turn has no earlier turn to cache."""
    if mode == "none" or not supports(arguments["modelId"]):
        return
    if mode in ("system", "all") and arguments.get("system"):
        arguments["system"].append(CACHE_POINT)
    messages = arguments["messages"]
    if mode in ("messages", "all") and len(messages) > 1:
        messages[-2]["content"].append(CACHE_POINT)
