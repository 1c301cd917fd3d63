"""The ConverseStream edge: a `ChatRequest` and the function's settings -> `converse_stream` keyword
arguments (messages and their blocks, inference settings, tools, reasoning, guardrail, cache points)."""

from __future__ import annotations

from typing import Any

from bedrock_handler.chat import Block, ChatRequest, Message
from bedrock_handler.config import HandlerConfig

# Bedrock needs a tool's specification whenever the conversation holds its calls; a tool the caller no
# longer lists is described with this schema.
_ANY_OBJECT = {"json": {"type": "object"}}


def converse_arguments(request: ChatRequest, config: HandlerConfig | None = None) -> dict[str, Any]:
    """The keyword arguments of `converse_stream` for a request."""
    inference: dict[str, Any] = {"maxTokens": request.max_tokens}
    if request.temperature is not None:
        inference["temperature"] = request.temperature
    if request.top_p is not None:
        inference["topP"] = request.top_p
    if request.stop_sequences:
        inference["stopSequences"] = list(request.stop_sequences)
    messages: list[dict[str, Any]] = []
    tool_history = False  # whether an assistant turn called a tool (Bedrock then needs a toolConfig)
    for m in request.messages:
        if m.leading or m.trailing:
            messages.append({"role": m.role, "content": content(m)})
            tool_history = tool_history or bool(m.trailing)
        else:  # a text-only turn: the path of nearly every request
            messages.append({"role": m.role, "content": [{"text": m.text}]})
    arguments: dict[str, Any] = {
        "modelId": request.model_id,
        "messages": messages,
        "inferenceConfig": inference,
    }
    if request.system:
        arguments["system"] = [{"text": request.system}]
    if (request.tools or tool_history) and (tool_config := _tool_config(request)):
        arguments["toolConfig"] = tool_config
    if request.reasoning is not None:
        from bedrock_handler import reasoning  # noqa: PLC0415 - opt-in: text-only requests never load it

        reasoning.apply(arguments, request)
    if config is not None:
        if config.guardrail_id:
            arguments["guardrailConfig"] = {
                "guardrailIdentifier": config.guardrail_id,
                "guardrailVersion": config.guardrail_version,
                "trace": "enabled",
                "streamProcessingMode": config.guardrail_stream_mode,
            }
        if config.prompt_caching != "none":
            from bedrock_handler import prompt_cache  # noqa: PLC0415 - opt-in: only with PROMPT_CACHING

            prompt_cache.apply(arguments, config.prompt_caching)
    return arguments


def content(message: Message) -> list[Block]:
    """A turn's Converse content: the leading blocks, its text, the trailing blocks."""
    text: list[Block] = [{"text": message.text}] if message.text else []
    return [*message.leading, *text, *message.trailing]


def tools_in_history(request: ChatRequest) -> list[str]:
    """The names of the tools the conversation's assistant turns called, in first-call order."""
    names: list[str] = []
    for message in request.messages:
        for block in message.trailing:
            name = block.get("toolUse", {}).get("name")
            if name and name not in names:
                names.append(name)
    return names


def _tool_config(request: ChatRequest) -> dict[str, Any] | None:
    """The `toolConfig` of a request with tools or a history of tool calls (None when it needs none)."""
    history = tools_in_history(request)
    if request.tool_choice == "none" and not history:
        return None  # `none` sends no tools, unless Bedrock needs them to read the conversation
    listed = {spec["name"] for spec in request.tools}
    specs = [{"toolSpec": spec} for spec in request.tools] + [
        {"toolSpec": {"name": name, "inputSchema": _ANY_OBJECT}} for name in history if name not in listed
    ]
    if not specs:
        return None
    config: dict[str, Any] = {"tools": specs}  # no toolChoice is Bedrock's `auto`
    if request.tool_choice == "any":
        config["toolChoice"] = {"any": {}}
    elif request.tool_choice == "tool":
        config["toolChoice"] = {"tool": {"name": request.tool_name}}
    return config
