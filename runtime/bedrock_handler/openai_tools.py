"""The OpenAI API's tools: function `tools` -> Converse tool specifications and `tool_choice` -> the
request's choice, with names and ids checked against Bedrock's patterns (PROTOCOL.md §12.B1, §12.B2)."""

from __future__ import annotations

import json
import string
from typing import Any

from bedrock_handler import chat
from bedrock_handler.chat import Block
from bedrock_handler.errors import RequestError

MAX_TOOLS = 128
MAX_NAME_CHARS = 64
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
_ID_CHARS = _NAME_CHARS | {".", ":"}
_FUNCTION_KEYS = frozenset({"name", "description", "parameters", "strict"})
_EMPTY_SCHEMA = {"type": "object", "properties": {}}


def valid_name(value: object) -> bool:
    """Whether `value` is a tool name Bedrock takes: 1-64 of `a-zA-Z0-9_-`."""
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and set(value) <= _NAME_CHARS


def call_id(value: object, where: str) -> str:
    """A tool call id Bedrock takes: 1-64 of `a-zA-Z0-9_.:-`."""
    if not (isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and set(value) <= _ID_CHARS):
        raise RequestError(
            f"{where} must be 1 to {MAX_NAME_CHARS} of the characters a-z A-Z 0-9 _ . : -", param="messages"
        )
    return value


def tool_specs(value: object) -> tuple[Block, ...]:
    """Converse `toolSpec` objects for OpenAI function tools; () when absent."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_TOOLS:
        raise RequestError(f"tools must be a list of at most {MAX_TOOLS} tools", param="tools")
    specs = [_spec(tool, f"tools[{index}]") for index, tool in enumerate(value)]
    names = [spec["name"] for spec in specs]
    if len(set(names)) != len(names):
        raise RequestError("tools must not name a function twice", param="tools")
    return tuple(specs)


def _spec(tool: object, where: str) -> Block:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        raise RequestError(f"{where} must be a function tool ({{'type': 'function', ...}})", param="tools")
    if extra := sorted(set(tool) - {"type", "function"}):
        raise RequestError(f"{where}.{extra[0][:64]} is not supported", param="tools")
    function = tool.get("function")
    if not isinstance(function, dict):
        raise RequestError(f"{where}.function must be an object", param="tools")
    if extra := sorted(set(function) - _FUNCTION_KEYS):
        raise RequestError(f"{where}.function.{extra[0][:64]} is not supported", param="tools")
    name = function.get("name")
    if not valid_name(name):
        raise RequestError(
            f"{where}.function.name must be 1 to {MAX_NAME_CHARS} of the characters a-z A-Z 0-9 _ -",
            param="tools",
        )
    parameters = function.get("parameters")
    if parameters is not None and (
        not isinstance(parameters, dict) or parameters.get("type", "object") != "object"
    ):
        raise RequestError(f"{where}.function.parameters must be a JSON Schema of type object", param="tools")
    chat.plain_json(parameters, f"{where}.function.parameters", param="tools")
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        raise RequestError(f"{where}.function.description must be a string", param="tools")
    chat.plain_json(description, f"{where}.function.description", param="tools")
    spec: Block = {"name": name, "inputSchema": {"json": parameters or _EMPTY_SCHEMA}}
    if description and description.strip():
        spec["description"] = description
    return spec


def tool_choice(value: object, tools: tuple[Block, ...]) -> tuple[str, str | None]:
    """The request's choice (auto, any, none or tool) and the forced tool's name. OpenAI's default is
    `auto` with tools and `none` without."""
    if value is None:
        return ("auto" if tools else "none"), None
    if value in ("auto", "none"):
        return str(value), None
    if value == "required":
        if not tools:
            raise RequestError("tool_choice required needs tools", param="tool_choice")
        return "any", None
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        if not any(spec["name"] == name for spec in tools):
            raise RequestError("tool_choice names a function that tools does not list", param="tool_choice")
        return "tool", str(name)
    raise RequestError(
        "tool_choice must be none, auto, required or {'type': 'function', 'function': {'name': ...}}",
        param="tool_choice",
    )


def arguments_input(value: object, where: str) -> Any:
    """A tool call's `arguments` (a JSON text) as the object Converse's `toolUse.input` takes."""
    if not isinstance(value, str):
        raise RequestError(f"{where} must be a string of JSON", param="messages")
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise RequestError(f"{where} is not valid JSON", param="messages") from None
    if not isinstance(parsed, dict):
        raise RequestError(f"{where} must be a JSON object", param="messages")
    return chat.plain_json(parsed, where, param="messages")


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
