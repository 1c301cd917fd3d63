"""The tool call the stand-in makes for `@stub:tool=NAME`: its id, an input built from the schema, in pieces.

The input holds every `required` property of the tool's `inputSchema.json`, each with a fixed value
of its type, so a test can predict it: a string is the first word of the stand-in's reply to the
prompt, an integer 7, a number 1.5, a boolean true, an array [], an object {} (no recursion), and an
`enum` (or `const`) its first value. It streams as compact JSON cut into at least two fragments.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from emulator.stub_replies import reply_tokens

TOOL_USE_PREFIX = "tooluse_"
FRAGMENT_CHARS = 16
_FIXED_VALUES: dict[str, object] = {
    "integer": 7,
    "number": 1.5,
    "boolean": True,
    "null": None,
    "array": [],
    "object": {},
}


def tool_use_id(prompt: str, name: str) -> str:
    """The call's id: "tooluse_" + sha256(prompt + NUL + name) hex[:24] (prompt without directives)."""
    return TOOL_USE_PREFIX + hashlib.sha256(f"{prompt}\x00{name}".encode()).hexdigest()[:24]


def tool_input(schema: object, prompt: str) -> dict[str, object]:
    """The input object for a tool whose `inputSchema.json` is `schema`."""
    if not isinstance(schema, Mapping):
        return {}
    required = schema.get("required")
    properties = schema.get("properties")
    if not isinstance(required, list):
        return {}
    properties = properties if isinstance(properties, Mapping) else {}
    return {name: _value(properties.get(name), prompt) for name in required if isinstance(name, str)}


def _value(prop: object, prompt: str) -> Any:
    if not isinstance(prop, Mapping):
        return None
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in prop:
        return prop["const"]
    kind = prop.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the first type that is not null
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "string":
        return reply_tokens(prompt, 1)[0]
    return copy.copy(_FIXED_VALUES.get(kind)) if isinstance(kind, str) else None


def input_fragments(value: object) -> list[str]:
    """`value` as compact JSON in pieces of at most 16 characters, and never fewer than two."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    size = max(1, min(FRAGMENT_CHARS, math.ceil(len(text) / 2)))
    return [text[start : start + size] for start in range(0, len(text), size)]
