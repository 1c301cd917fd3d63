"""The OpenAI API's conversation: `messages` -> the system prompt and Converse-ready turns (text, images,
files, tool calls and results, reasoning sent back), merged and paired as Converse requires (PROTOCOL.md
§12.A1, §12.B1)."""

from __future__ import annotations

from collections.abc import Iterator

from bedrock_handler import chat
from bedrock_handler.chat import Block, Message
from bedrock_handler.errors import RequestError

# `attachments` and `openai_tools` are imported where a request uses them: text-only chat never loads
# them, which keeps them out of the cold start (docs/performance.md).

_SYSTEM_ROLES = ("system", "developer")
_ROLES = ("system", "developer", "user", "assistant", "tool")
_MESSAGE_KEYS = frozenset(
    {
        "role",
        "content",
        "name",
        "refusal",
        "tool_calls",
        "tool_call_id",
        "function_call",
        "audio",
        "reasoning_details",
        "reasoning_content",  # a reasoning text sent back without its signature: ignored
        "reasoning",
    }
)
_NEVER = ("function_call", "audio")
_STRINGS = ("name", "refusal", "reasoning_content", "reasoning")
_ROLE_ONLY = {"tool_calls": "assistant", "reasoning_details": "assistant", "tool_call_id": "tool"}
_PART_KEYS = {
    "text": {"type", "text", "prompt_cache_breakpoint"},
    "image_url": {"type", "image_url", "prompt_cache_breakpoint"},
    "file": {"type", "file", "prompt_cache_breakpoint"},
    "refusal": {"type", "refusal"},
}
_USER_PARTS = ("text", "image_url", "file")


def conversation(value: object) -> tuple[str | None, tuple[Message, ...]]:
    """The system text and the turns: system/developer messages become the system prompt, in order; tool
    messages become user turns of tool results; consecutive turns of one role are merged."""
    if not isinstance(value, list) or not value:
        raise RequestError("messages must be a non-empty list", param="messages")
    if len(value) > chat.MAX_MESSAGES:
        raise RequestError(f"messages may hold at most {chat.MAX_MESSAGES} entries", param="messages")
    reader = _Reader()
    system: list[str] = []
    turns: list[Message] = []
    for index, item in enumerate(value):
        role, message = reader.message(item, f"messages[{index}]")
        if role in _SYSTEM_ROLES:
            system.append(message.text)
        elif turns and turns[-1].role == message.role:
            turns[-1] = turns[-1].merged(message)
        else:
            turns.append(message)
    if not turns or turns[0].role != "user":
        raise RequestError(
            "the first message after system and developer ones must be a user message", param="messages"
        )
    if turns[-1].role != "user":
        raise RequestError("the last message must be a user or tool message", param="messages")
    _check_turns(turns)
    return ("\n\n".join(system) or None), tuple(turns)


def _check_turns(turns: list[Message]) -> None:
    """Bedrock's rules for turns with blocks: attachment limits, unique calls, calls and results paired."""
    for index, turn in enumerate(turns):
        if not turn.has_blocks:
            continue  # text only: nothing to pair or count (an earlier tool call is checked from its side)
        if turn.leading:
            from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

            attachments.check_message(turn.leading, turn.text, "messages")
        if turn.role == "assistant":
            _check_unique_calls(turn)
            _check_answered(turn, turns[index + 1])
        else:
            _check_asked(turns[index - 1] if index else None, turn)


def _ids(blocks: tuple[Block, ...], kind: str) -> list[str]:
    return [block[kind]["toolUseId"] for block in blocks if kind in block]


def _check_unique_calls(assistant: Message) -> None:
    calls = _ids(assistant.trailing, "toolUse")
    if len(set(calls)) != len(calls):
        twice = next(call for call in calls if calls.count(call) > 1)
        raise RequestError(f"tool call id {twice!r} is used twice in one assistant turn", param="messages")


def _check_answered(assistant: Message, following: Message) -> None:
    results = set(_ids(following.leading, "toolResult"))
    for asked in _ids(assistant.trailing, "toolUse"):
        if asked not in results:
            raise RequestError(
                f"tool call {asked!r} has no tool message answering it after its assistant message",
                param="messages",
            )


def _check_asked(previous: Message | None, user: Message) -> None:
    asked = set(_ids(previous.trailing, "toolUse")) if previous else set()
    for answered in _ids(user.leading, "toolResult"):
        if answered not in asked:
            raise RequestError(
                f"tool message answers {answered!r}, which the assistant message before it did not call",
                param="messages",
            )


class _Reader:
    """Reads one message after another, numbering the documents of the whole request."""

    __slots__ = ("documents",)

    def __init__(self) -> None:
        self.documents = 0

    def message(self, item: object, where: str) -> tuple[str, Message]:
        if not isinstance(item, dict):
            raise RequestError(f"{where} must be an object", param="messages")
        role = item.get("role")
        if role not in _ROLES:
            raise RequestError(f"{where}.role must be one of {', '.join(_ROLES)}", param="messages")
        for key in sorted(item):
            if key not in _MESSAGE_KEYS:
                raise RequestError(f"{where} has an unrecognized field {key[:64]!r}", param="messages")
            if item[key] is None:
                continue
            if key in _NEVER or _ROLE_ONLY.get(key, role) != role:
                raise RequestError(f"{where}.{key} is not supported", param="messages")
            if key in ("name", "refusal", "reasoning_content", "reasoning") and not isinstance(
                item[key], str
            ):
                raise RequestError(f"{where}.{key} must be a string", param="messages")
        if role == "assistant":
            return role, self._assistant(item, where)
        if role == "tool":
            from bedrock_handler import openai_tools  # noqa: PLC0415 - opt-in: text-only requests never load it

            result = {
                "toolUseId": openai_tools.call_id(item.get("tool_call_id"), f"{where}.tool_call_id"),
                "content": [{"text": _text(item.get("content"), where)}],
            }
            return role, Message("user", "", ({"toolResult": result},))
        if role == "user":
            text, blocks = self._user_content(item.get("content"), where)
            return role, Message("user", text, blocks)
        return role, Message(role, _text(item.get("content"), where))

    def _assistant(self, item: dict[str, object], where: str) -> Message:
        calls = tuple(_tool_calls(item.get("tool_calls"), where))
        content = item.get("content")
        no_text = content is None or content in ("", [])
        text = "" if no_text and calls else _text(content, where, refusals=True)
        return Message("assistant", text, tuple(_reasoning(item.get("reasoning_details"), where)), calls)

    def _user_content(self, content: object, where: str) -> tuple[str, tuple[Block, ...]]:
        if isinstance(content, str):
            return chat.non_empty_text(content, f"{where}.content"), ()
        parts = _parts(content, where)
        texts: list[str] = []
        blocks: list[Block] = []
        for index, part in enumerate(parts):
            at = f"{where}.content[{index}]"
            kind = _part_kind(part, at, _USER_PARTS)
            if kind == "text":
                texts.append(chat.non_empty_text(part.get("text"), f"{at}.text"))
            elif kind == "image_url":
                blocks.append(_image(part.get("image_url"), at))
            else:
                blocks.append(self._file(part.get("file"), at))
        return "\n".join(texts), tuple(blocks)

    def _file(self, file: object, where: str) -> Block:
        from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

        if not isinstance(file, dict):
            raise RequestError(f"{where}.file must be an object", param="messages")
        if file.get("file_id") is not None:
            raise RequestError(f"{where}.file.file_id is not supported: send file_data", param="messages")
        if extra := sorted(set(file) - {"file_data", "file_id", "filename"}):
            raise RequestError(f"{where}.file.{extra[0][:64]} is not supported", param="messages")
        data = file.get("file_data")
        filename = file.get("filename")
        if filename is not None and not isinstance(filename, str):
            raise RequestError(f"{where}.file.filename must be a string", param="messages")
        media_type = ""
        if isinstance(data, str) and data[:5].lower() == "data:":
            media_type, raw = attachments.data_url(data, f"{where}.file.file_data")
        else:
            raw = attachments.decode_base64(data, f"{where}.file.file_data")
        if media_type in attachments.IMAGE_MEDIA_TYPES:
            return attachments.image_block(attachments.IMAGE_MEDIA_TYPES[media_type], raw, where)
        document_format = attachments.DOCUMENT_MEDIA_TYPES.get(media_type) or _extension(filename)
        if not document_format:
            raise RequestError(
                f"{where}.file: give a data: URL with a document media type, or a filename ending in "
                f"one of .{', .'.join(attachments.DOCUMENT_FORMATS)}",
                param="messages",
            )
        self.documents += 1
        return attachments.document_block(document_format, raw, where, number=self.documents)


def _extension(filename: str | None) -> str:
    from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

    suffix = (filename or "").rpartition(".")[2].lower()
    return suffix if "." in (filename or "") and suffix in attachments.DOCUMENT_FORMATS else ""


def _image(image_url: object, where: str) -> Block:
    from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

    if not isinstance(image_url, dict):
        raise RequestError(f"{where}.image_url must be an object with a url", param="messages")
    if extra := sorted(set(image_url) - {"url", "detail"}):
        raise RequestError(f"{where}.image_url.{extra[0][:64]} is not supported", param="messages")
    media_type, raw = attachments.data_url(image_url.get("url"), f"{where}.image_url.url")
    image_format = attachments.IMAGE_MEDIA_TYPES.get(media_type)
    if image_format is None:
        raise RequestError(
            f"{where}.image_url.url: images must be one of {', '.join(attachments.IMAGE_FORMATS)}",
            param="messages",
        )
    return attachments.image_block(image_format, raw, where)


def _parts(content: object, where: str) -> list[dict[str, object]]:
    if not isinstance(content, list) or not content:
        raise RequestError(f"{where}.content must be a non-empty string or list of parts", param="messages")
    for index, part in enumerate(content):
        if not isinstance(part, dict):
            raise RequestError(f"{where}.content[{index}] must be an object", param="messages")
    return content


def _part_kind(part: dict[str, object], where: str, allowed: tuple[str, ...]) -> str:
    kind = part.get("type")
    if kind not in allowed:
        shown = kind[:32] if isinstance(kind, str) else type(kind).__name__
        raise RequestError(
            f"{where}.type {shown!r} is not supported here; send {', '.join(allowed)} parts", param="messages"
        )
    if extra := sorted(set(part) - _PART_KEYS[str(kind)]):
        raise RequestError(f"{where}.{extra[0][:64]} is not supported", param="messages")
    return str(kind)


def _text(content: object, where: str, *, refusals: bool = False) -> str:
    """The text of string or text-part content (assistant turns may hold refusal parts too)."""
    if isinstance(content, str):
        return chat.non_empty_text(content, f"{where}.content")
    allowed = ("text", "refusal") if refusals else ("text",)
    texts = []
    for index, part in enumerate(_parts(content, where)):
        at = f"{where}.content[{index}]"
        kind = _part_kind(part, at, allowed)
        texts.append(chat.non_empty_text(part.get(kind), f"{at}.{kind}"))
    return "\n".join(texts)


def _tool_calls(value: object, where: str) -> Iterator[Block]:
    if value is None:
        return
    from bedrock_handler import openai_tools  # noqa: PLC0415 - opt-in: text-only requests never load it

    if not isinstance(value, list) or not value:
        raise RequestError(f"{where}.tool_calls must be a non-empty list", param="messages")
    for index, call in enumerate(value):
        at = f"{where}.tool_calls[{index}]"
        if not isinstance(call, dict) or call.get("type") != "function":
            raise RequestError(
                f"{at} must be a function call ({{'type': 'function', ...}})", param="messages"
            )
        function = call.get("function")
        if not isinstance(function, dict) or not openai_tools.valid_name(function.get("name")):
            raise RequestError(f"{at}.function.name must be a valid tool name", param="messages")
        yield {
            "toolUse": {
                "toolUseId": openai_tools.call_id(call.get("id"), f"{at}.id"),
                "name": function["name"],
                "input": openai_tools.arguments_input(function.get("arguments"), f"{at}.function.arguments"),
            }
        }


def _reasoning(value: object, where: str) -> Iterator[Block]:
    """Reasoning blocks sent back (OpenRouter-style `reasoning_details`, as this API streams them): a
    text with its signature, or encrypted data. Entries of other types, or texts without a signature
    (which the model could not verify), are dropped."""
    if value is None:
        return
    if not isinstance(value, list):
        raise RequestError(f"{where}.reasoning_details must be a list", param="messages")
    for index, entry in enumerate(value):
        at = f"{where}.reasoning_details[{index}]"
        if not isinstance(entry, dict):
            raise RequestError(f"{at} must be an object", param="messages")
        kind = entry.get("type")
        if kind == "reasoning.text" and entry.get("signature") is not None:
            text, signature = entry.get("text"), entry.get("signature")
            if not isinstance(text, str) or not isinstance(signature, str) or not signature:
                raise RequestError(f"{at} needs a text and a signature string", param="messages")
            text, signature = chat.encodable(text, f"{at}.text"), chat.encodable(signature, f"{at}.signature")
            block = {"reasoningText": {"text": text, "signature": signature}}
            yield {"reasoningContent": block}
        elif kind == "reasoning.encrypted":
            from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

            data = attachments.decode_base64(entry.get("data"), f"{at}.data")
            yield {"reasoningContent": {"redactedContent": data}}
