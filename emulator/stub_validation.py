"""Bedrock's checks of a whole ConverseStream request, and the summary of it that the stand-in answers from.

Conversation rules (roles alternate from `user`; every toolUse answered by a toolResult in the next
message and every toolResult answering one; tool blocks need `toolConfig`), the request's settings
(`system`, `toolConfig`, `inferenceConfig`, `guardrailConfig`, at most four cache points and only to
a model that caches), then the reasoning rules of `stub_reasoning`. Each failure is a 400
`ValidationException` naming the rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.stub_blocks import (
    TOOL_NAME,
    Attachment,
    MessageContent,
    check_cache_point,
    check_message_content,
    single_key,
)
from emulator.stub_capabilities import capabilities
from emulator.stub_frames import invalid
from emulator.stub_guardrail import Guardrail, check_guardrail_config
from emulator.stub_reasoning import Reasoning, check_reasoning_request, check_thinking_block
from emulator.stub_replies import converse_user_text

MAX_CACHE_POINTS = 4


@dataclass(frozen=True, slots=True)
class ConverseRequest:
    """What the stand-in answers from: the last user turn and the settings that shape the reply."""

    user_text: str  # the text blocks of the last user message, directives included
    attachments: tuple[Attachment, ...]  # its images and documents, in order
    max_tokens: int | None
    tools: Mapping[str, Any]  # tool name -> its inputSchema.json
    reasoning: Reasoning
    guardrail: Guardrail | None
    cached: bool  # whether the request holds a cachePoint anywhere


def check_converse_request(model_id: str, body: Mapping[str, Any]) -> ConverseRequest:
    """Check a ConverseStream body as Bedrock does; return its summary."""
    messages, contents = _check_messages(body.get("messages"))
    uses_tools = any(c.tool_uses or c.tool_results for c in contents)
    tools, tool_points = _check_tool_config(body.get("toolConfig"), required=uses_tools)
    cache_points = sum(c.cache_points for c in contents) + _check_system(body.get("system")) + tool_points
    inference = _check_inference(body.get("inferenceConfig"))
    guardrail = check_guardrail_config(body.get("guardrailConfig"))
    if cache_points > MAX_CACHE_POINTS:
        raise invalid(f"the request holds {cache_points} cachePoint blocks; at most {MAX_CACHE_POINTS}")
    if cache_points and not capabilities(model_id).caching:
        raise invalid(f"model {model_id!r} does not support prompt caching: remove the cachePoint blocks")
    reasoning = check_reasoning_request(model_id, body)
    if reasoning.claude:
        check_thinking_block(messages, contents)
    last_user = max(index for index, message in enumerate(messages) if message["role"] == "user")
    max_tokens = inference.get("maxTokens")
    return ConverseRequest(
        user_text=converse_user_text(messages),
        attachments=tuple(contents[last_user].attachments),
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        tools=tools,
        reasoning=reasoning,
        guardrail=guardrail,
        cached=cache_points > 0,
    )


def _check_messages(messages: object) -> tuple[list[Mapping[str, Any]], list[MessageContent]]:
    if not isinstance(messages, list) or not messages:
        raise invalid("messages must be a non-empty list")
    contents = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise invalid(f"{where} must be an object with role and content")
        expected = "assistant" if index % 2 else "user"
        if message.get("role") != expected:
            raise invalid(
                f"{where}.role must be {expected!r}: roles alternate user/assistant, starting with user"
            )
        contents.append(check_message_content(expected, message.get("content"), where))
    _check_tool_pairs(contents)
    return messages, contents


def _check_tool_pairs(contents: Sequence[MessageContent]) -> None:
    for index, content in enumerate(contents):
        asked = contents[index - 1].tool_uses if index else []
        for tool_use_id in content.tool_results:
            if tool_use_id not in asked:
                raise invalid(
                    f"messages[{index}]: toolResult {tool_use_id!r} matches no toolUse of the "
                    "preceding assistant message"
                )
    for index, content in enumerate(contents[:-1]):
        for tool_use_id in content.tool_uses:
            if tool_use_id not in contents[index + 1].tool_results:
                raise invalid(
                    f"messages[{index + 1}] must answer toolUse {tool_use_id!r} of messages[{index}] "
                    "with a toolResult"
                )


def _check_system(system: object) -> int:
    """Check `system`; return how many cache points it holds."""
    if system is None:
        return 0
    if not isinstance(system, list):
        raise invalid("system must be a list of text or cachePoint blocks")
    points = 0
    for index, block in enumerate(system):
        kind, value = single_key(block, f"system[{index}]", ("text", "cachePoint"))
        if kind == "cachePoint":
            check_cache_point(value, f"system[{index}].cachePoint")
            points += 1
        elif not isinstance(value, str) or not value:
            raise invalid(f"system[{index}].text must be a non-empty string")
    return points


def _check_tool_config(config: object, *, required: bool) -> tuple[dict[str, Any], int]:
    """Check `toolConfig`; return the tools' input schemas by name and the cache points among the tools."""
    if config is None:
        if required:
            raise invalid("toolConfig is required when the messages hold toolUse or toolResult blocks")
        return {}, 0
    if not isinstance(config, Mapping):
        raise invalid("toolConfig must be an object")
    tools = config.get("tools")
    if not isinstance(tools, list) or not tools:
        raise invalid("toolConfig.tools must be a non-empty list")
    schemas: dict[str, Any] = {}
    points = 0
    for index, tool in enumerate(tools):
        where = f"toolConfig.tools[{index}]"
        kind, value = single_key(tool, where, ("toolSpec", "cachePoint"))
        if kind == "cachePoint":
            check_cache_point(value, f"{where}.cachePoint")
            points += 1
            continue
        name, schema = _check_tool_spec(value, f"{where}.toolSpec")
        if name in schemas:
            raise invalid(f"{where}.toolSpec.name {name!r} is used twice; tool names must be unique")
        schemas[name] = schema
    if not schemas:
        raise invalid("toolConfig.tools must hold at least one toolSpec")
    _check_tool_choice(config.get("toolChoice"), schemas)
    return schemas, points


def _check_tool_spec(spec: object, where: str) -> tuple[str, Any]:
    if not isinstance(spec, Mapping):
        raise invalid(f"{where} must be an object")
    name = spec.get("name")
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise invalid(f"{where}.name must match [a-zA-Z0-9_-]{{1,64}}")
    description = spec.get("description", "-")
    if not isinstance(description, str) or not description:
        raise invalid(f"{where}.description must be a non-empty string when present")
    schema = spec.get("inputSchema")
    if not isinstance(schema, Mapping) or set(schema) != {"json"} or not isinstance(schema["json"], Mapping):
        raise invalid(f"{where}.inputSchema must be {{'json': <JSON Schema object>}}")
    return name, schema["json"]


def _check_tool_choice(choice: object, schemas: Mapping[str, Any]) -> None:
    if choice is None:
        return
    kind, value = single_key(choice, "toolConfig.toolChoice", ("auto", "any", "tool"))
    if not isinstance(value, Mapping):
        raise invalid(f"toolConfig.toolChoice.{kind} must be an object")
    if kind == "tool" and value.get("name") not in schemas:
        raise invalid("toolConfig.toolChoice.tool.name must name one of toolConfig.tools")


def _check_inference(config: object) -> Mapping[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise invalid("inferenceConfig must be an object")
    max_tokens = config.get("maxTokens", 1)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise invalid("inferenceConfig.maxTokens must be an integer of at least 1")
    for key in ("temperature", "topP"):
        value = config.get(key, 0)
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            raise invalid(f"inferenceConfig.{key} must be a number from 0 to 1")
    stops = config.get("stopSequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise invalid("inferenceConfig.stopSequences must be a list of non-empty strings")
    return config
