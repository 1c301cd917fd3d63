"""Bedrock's checks of one Converse message's content blocks, as the stand-in enforces them (400 otherwise).

The limits and patterns are the botocore `bedrock-runtime` model's (`ContentBlock`, `ImageBlock`,
`DocumentBlock`, `ToolUseBlock`, `ToolResultBlock`, `ReasoningContentBlock`, `CachePointBlock`) and
the API reference's `Message` notes (20 images of 3.75 MB, 5 documents of 4.5 MB, a document needs a
text block beside it, images and documents only from the user). Blobs arrive base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.stub_frames import invalid

MESSAGE_BLOCKS = ("text", "image", "document", "toolUse", "toolResult", "reasoningContent", "cachePoint")
TOOL_RESULT_BLOCKS = ("text", "json", "image", "document")
DOCUMENT_FORMATS = frozenset({"pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"})
MAX_IMAGES, MAX_IMAGE_BYTES = 20, 3_750_000
MAX_DOCUMENTS, MAX_DOCUMENT_BYTES = 5, 4_500_000
TOOL_USE_ID = re.compile(r"[a-zA-Z0-9_.:-]{1,64}")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_DOCUMENT_NAME = re.compile(r"[A-Za-z0-9()\[\]-]+(?: [A-Za-z0-9()\[\]-]+)*")
_IMAGE_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpeg": (b"\xff\xd8\xff",), "gif": (b"GIF87a", b"GIF89a")}
_ROLE_ONLY = {
    "image": "user",
    "document": "user",
    "toolResult": "user",
    "toolUse": "assistant",
    "reasoningContent": "assistant",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image or document of a message: what the stand-in echoes as `[KIND:FORMAT:BYTES]`."""

    kind: str
    format: str
    size: int


@dataclass(slots=True)
class MessageContent:
    """What the conversation-level checks need from one message's (valid) content."""

    attachments: list[Attachment] = field(default_factory=list)
    tool_uses: list[str] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    cache_points: int = 0
    first_block: tuple[str, Any] = ("", None)


def single_key(block: object, where: str, allowed: tuple[str, ...]) -> tuple[str, Any]:
    """The one `(key, value)` of a union block, or 400 when it holds none, several, or an unknown key."""
    if not isinstance(block, Mapping) or len(block) != 1:
        raise invalid(f"{where} must be an object with exactly one of {', '.join(allowed)}")
    key, value = next(iter(block.items()))
    if key not in allowed:
        raise invalid(f"{where}.{key} is not a supported content block (use one of {', '.join(allowed)})")
    return str(key), value


def check_message_content(role: str, content: object, where: str) -> MessageContent:
    """Check a message's `content` list; return its attachments, tool ids and cache points."""
    if not isinstance(content, list) or not content:
        raise invalid(f"{where}.content must be a non-empty list of content blocks")
    summary, has_text = MessageContent(), False
    names: set[str] = set()
    for index, block in enumerate(content):
        at = f"{where}.content[{index}]"
        kind, value = single_key(block, at, MESSAGE_BLOCKS)
        if index == 0:
            summary.first_block = (kind, value)
        if _ROLE_ONLY.get(kind, role) != role:
            raise invalid(f"{at}: {kind} blocks are allowed only in {_ROLE_ONLY[kind]} messages")
        if kind == "text":
            check_text(value, f"{at}.text")
            has_text = True
        elif kind == "image":
            summary.attachments.append(check_image(value, f"{at}.image"))
        elif kind == "document":
            summary.attachments.append(check_document(value, f"{at}.document", names))
        elif kind == "toolUse":
            summary.tool_uses.append(_check_tool_use(value, f"{at}.toolUse", summary.tool_uses))
        elif kind == "toolResult":
            summary.tool_results.append(_check_tool_result(value, f"{at}.toolResult"))
        elif kind == "reasoningContent":
            check_reasoning_block(value, f"{at}.reasoningContent")
        else:
            check_cache_point(value, f"{at}.cachePoint")
            summary.cache_points += 1
    _check_counts(summary.attachments, names, has_text=has_text, where=where)
    return summary


def _check_counts(attachments: list[Attachment], names: set[str], *, has_text: bool, where: str) -> None:
    images = sum(a.kind == "image" for a in attachments)
    if images > MAX_IMAGES:
        raise invalid(f"{where} holds {images} images; a message may hold at most {MAX_IMAGES}")
    if len(names) > MAX_DOCUMENTS:
        raise invalid(f"{where} holds {len(names)} documents; a message may hold at most {MAX_DOCUMENTS}")
    if names and not has_text:
        raise invalid(f"{where} holds a document, so it must also hold a text block")


def check_text(value: object, where: str) -> None:
    if not isinstance(value, str):
        raise invalid(f"{where} must be a string")


def check_image(value: object, where: str) -> Attachment:
    """An image block: a known format, and base64 bytes within the size limit that really are that format."""
    image = _object(value, where)
    image_format = image.get("format")
    if image_format not in ("png", "jpeg", "gif", "webp"):
        raise invalid(f"{where}.format must be one of png, jpeg, gif, webp")
    data = source_bytes(image.get("source"), f"{where}.source", MAX_IMAGE_BYTES)
    if image_format == "webp":
        matches = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    else:
        matches = data.startswith(_IMAGE_MAGIC[image_format])
    if not matches:
        raise invalid(f"{where}.source.bytes is not a {image_format} image (its magic bytes do not match)")
    return Attachment("image", image_format, len(data))


def check_document(value: object, where: str, names: set[str]) -> Attachment:
    """A document block: a valid name unique in its message, a known format, base64 bytes within the limit."""
    document = _object(value, where)
    name = document.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 200 or not _DOCUMENT_NAME.fullmatch(name):
        raise invalid(
            f"{where}.name must be 1-200 characters: alphanumerics, single spaces, hyphens, "
            "parentheses and square brackets"
        )
    if name in names:
        raise invalid(f"{where}.name {name!r} is used twice; document names must be unique in a message")
    names.add(name)
    document_format = document.get("format")
    if document_format not in DOCUMENT_FORMATS:
        raise invalid(f"{where}.format must be one of {', '.join(sorted(DOCUMENT_FORMATS))}")
    data = source_bytes(document.get("source"), f"{where}.source", MAX_DOCUMENT_BYTES)
    return Attachment("document", document_format, len(data))


def source_bytes(source: object, where: str, limit: int) -> bytes:
    """The decoded `{"bytes": <base64>}` of an image or document source (1..limit bytes)."""
    if not isinstance(source, Mapping) or set(source) != {"bytes"} or not isinstance(source["bytes"], str):
        raise invalid(f"{where} must be {{'bytes': <base64>}} (the stand-in takes no other source)")
    data = decode_base64(source["bytes"], f"{where}.bytes")
    if not 1 <= len(data) <= limit:
        raise invalid(f"{where}.bytes must hold 1 to {limit} bytes, not {len(data)}")
    return data


def decode_base64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise invalid(f"{where} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"{where} is not valid base64") from None


def _check_tool_use(value: object, where: str, earlier: list[str]) -> str:
    tool_use = _object(value, where)
    tool_use_id = tool_use.get("toolUseId")
    if not isinstance(tool_use_id, str) or not TOOL_USE_ID.fullmatch(tool_use_id):
        raise invalid(f"{where}.toolUseId must match [a-zA-Z0-9_.:-]{{1,64}}")
    if tool_use_id in earlier:
        raise invalid(f"{where}.toolUseId {tool_use_id!r} is used twice in the message")
    name = tool_use.get("name")
    if not isinstance(name, str) or not TOOL_NAME.fullmatch(name):
        raise invalid(f"{where}.name must match [a-zA-Z0-9_-]{{1,64}}")
    if "input" not in tool_use:
        raise invalid(f"{where}.input is required (a JSON value)")
    return tool_use_id


def _check_tool_result(value: object, where: str) -> str:
    result = _object(value, where)
    tool_use_id = result.get("toolUseId")
    if not isinstance(tool_use_id, str) or not TOOL_USE_ID.fullmatch(tool_use_id):
        raise invalid(f"{where}.toolUseId must match [a-zA-Z0-9_.:-]{{1,64}}")
    if result.get("status", "success") not in ("success", "error"):
        raise invalid(f"{where}.status must be success or error")
    content = result.get("content")
    if not isinstance(content, list) or not content:
        raise invalid(f"{where}.content must be a non-empty list of text, json, image or document blocks")
    names: set[str] = set()
    for index, block in enumerate(content):
        at = f"{where}.content[{index}]"
        kind, item = single_key(block, at, TOOL_RESULT_BLOCKS)
        if kind == "text":
            check_text(item, f"{at}.text")
        elif kind == "image":
            check_image(item, f"{at}.image")
        elif kind == "document":
            check_document(item, f"{at}.document", names)
    return tool_use_id


def check_reasoning_block(value: object, where: str) -> None:
    """`{reasoningText: {text, signature?}}` or `{redactedContent: <base64>}`."""
    kind, item = single_key(value, where, ("reasoningText", "redactedContent"))
    if kind == "redactedContent":
        decode_base64(item, f"{where}.redactedContent")
        return
    text = _object(item, f"{where}.reasoningText")
    if not isinstance(text.get("text"), str) or not isinstance(text.get("signature", ""), str):
        raise invalid(f"{where}.reasoningText needs a string text and an optional string signature")


def check_cache_point(value: object, where: str) -> None:
    """`{type: "default", ttl?: "5m" | "1h"}`."""
    point = _object(value, where)
    unknown = set(point) - {"type", "ttl"}
    if unknown or point.get("type") != "default" or point.get("ttl", "5m") not in ("5m", "1h"):
        raise invalid(f"{where} must be {{'type': 'default'}} with an optional ttl of 5m or 1h")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(f"{where} must be an object")
    return value
