"""The native API's input edge: a JSON or `text/plain` chat request (text, images, documents, a reasoning
effort) -> `ChatRequest` and its output format."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

from bedrock_handler import chat
from bedrock_handler.chat import Block, ChatRequest, Message
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import MethodNotAllowedError, RequestError, UnsupportedMediaTypeError
from bedrock_handler.http_event import HttpRequest, json_object
from bedrock_handler.native_output import OutputFormat

_JSON_FIELDS = {
    "prompt",
    "messages",
    "system",
    "modelId",
    "maxTokens",
    "temperature",
    "topP",
    "stopSequences",
    "reasoning",
}
_ACCEPT_FORMATS = (("text/event-stream", OutputFormat.SSE), ("application/x-ndjson", OutputFormat.NDJSON))


class NativeCall:
    """A parsed native request: what to ask the model, and how to write the reply."""

    # A slotted class: a NamedTuple costs ~0.06 ms of every cold start to define.
    __slots__ = ("output_format", "request")

    def __init__(self, request: ChatRequest, output_format: OutputFormat) -> None:
        self.request, self.output_format = request, output_format


def parse(http: HttpRequest, *, config: HandlerConfig) -> NativeCall:
    """Validate method, output format, body encoding, size, content type and chat."""
    if http.method != "POST":
        raise MethodNotAllowedError(http.method, allow="POST")
    output_format = _output_format(http.query, http.headers.get("accept", ""))
    text = http.body_text(max_bytes=config.max_request_bytes)
    if http.media_type.startswith("text/"):
        return NativeCall(_build(config, {"prompt": text}), output_format)
    if not http.is_json:
        raise UnsupportedMediaTypeError(http.media_type, accepted="application/json or text/plain")
    return NativeCall(_build(config, json_object(text)), output_format)


def _output_format(query: Mapping[str, Any], accept: str) -> OutputFormat:
    requested = query.get("format")
    if requested is not None:
        try:
            return OutputFormat(str(requested).lower())
        except ValueError:
            raise RequestError("format must be one of text, sse, ndjson") from None
    accepted = accept.lower()
    for media_type, fmt in _ACCEPT_FORMATS:
        if media_type in accepted:
            return fmt
    return OutputFormat.TEXT


def _build(config: HandlerConfig, doc: dict[str, Any]) -> ChatRequest:
    if unknown := sorted(set(doc) - _JSON_FIELDS):
        raise RequestError(f"unknown field {unknown[0][:64]!r}; allowed: {', '.join(sorted(_JSON_FIELDS))}")
    if ("prompt" in doc) == ("messages" in doc):
        raise RequestError("give exactly one of prompt or messages")
    if "prompt" in doc:
        messages: tuple[Message, ...] = (Message("user", chat.non_empty_text(doc["prompt"], "prompt")),)
    else:
        messages = _messages(doc["messages"])
    effort = chat.reasoning_effort(doc.get("reasoning"), "reasoning")
    request = ChatRequest(
        model_id=_model_id(doc.get("modelId"), config),
        messages=messages,
        max_tokens=chat.token_limit(
            doc.get("maxTokens"),
            "maxTokens",
            default=chat.default_limit(config, effort),
            limit=config.max_tokens_limit,
        ),
        system=None if doc.get("system") is None else chat.non_empty_text(doc["system"], "system"),
        temperature=chat.number_in(doc.get("temperature"), "temperature", high=1),
        top_p=chat.number_in(doc.get("topP"), "topP", high=1),
        stop_sequences=chat.stop_sequences(doc.get("stopSequences"), "stopSequences"),
        reasoning=effort,
    )
    if effort is not None:
        from bedrock_handler import reasoning  # noqa: PLC0415 - opt-in: text-only requests never load it

        reasoning.check(request, param="reasoning")
    return request


def _messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise RequestError("messages must be a non-empty list")
    if len(value) > chat.MAX_MESSAGES:
        raise RequestError(f"messages may hold at most {chat.MAX_MESSAGES} entries")
    documents = itertools.count(1)  # numbers the request's documents
    parsed = tuple(_message(item, index, documents) for index, item in enumerate(value))
    for index, message in enumerate(parsed):
        expected = "user" if index % 2 == 0 else "assistant"
        if message.role != expected:
            raise RequestError(
                f"messages[{index}].role must be {expected!r}: turns alternate, starting with user"
            )
    if parsed[-1].role != "user":
        raise RequestError("the last message must have role 'user'")
    return parsed


def _message(item: object, index: int, documents: Iterator[int]) -> Message:
    where = f"messages[{index}]"
    if not isinstance(item, dict):
        raise RequestError(f"{where} must be an object")
    role = item.get("role")
    if role not in ("user", "assistant"):
        raise RequestError(f"{where}.role must be 'user' or 'assistant'")
    content = item.get("content")
    if isinstance(content, str):
        return Message(role, chat.non_empty_text(content, f"{where}.content"))
    if not isinstance(content, list) or not content:
        raise RequestError(f"{where}.content must be a non-empty string or a non-empty list of blocks")
    texts: list[str] = []
    blocks: list[Block] = []
    for block_index, block in enumerate(content):
        at = f"{where}.content[{block_index}]"
        kind = next(iter(block), None) if isinstance(block, dict) and len(block) == 1 else None
        if kind == "text":
            texts.append(chat.non_empty_text(block["text"], f"{at}.text"))
        elif kind in ("image", "document") and role == "user":
            blocks.append(_attachment(kind, block[kind], at, documents))
        else:
            raise RequestError(
                f"{at} must be {{'text': str}}"
                + (
                    ", {'image': ...} or {'document': ...}"
                    if role == "user"
                    else " (assistant turns hold text)"
                )
            )
    text = "\n".join(texts)
    if blocks:
        from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

        attachments.check_message(blocks, text, where)
    return Message(role, text, tuple(blocks))


def _attachment(kind: str, value: object, where: str, documents: Iterator[int]) -> Block:
    """An image or document block: `{"format": ..., "source": {"bytes": "<base64>"}}`."""
    from bedrock_handler import attachments  # noqa: PLC0415 - opt-in: text-only requests never load it

    source = value.get("source") if isinstance(value, dict) else None
    if not isinstance(value, dict) or set(value) != {"format", "source"} or not isinstance(source, dict):
        raise RequestError(f"{where}.{kind} must be {{'format': str, 'source': {{'bytes': base64}}}}")
    if set(source) != {"bytes"}:
        raise RequestError(f"{where}.{kind}.source must be {{'bytes': base64}}")
    data = attachments.decode_base64(source["bytes"], f"{where}.{kind}.source.bytes")
    declared = value["format"]
    if not isinstance(declared, str):
        raise RequestError(f"{where}.{kind}.format must be a string")
    if kind == "image":
        return attachments.image_block(declared, data, where)
    return attachments.document_block(declared, data, where, number=next(documents))


def _model_id(value: object, config: HandlerConfig) -> str:
    if value is None:
        return config.default_model_id
    if not isinstance(value, str) or value not in config.model_ids:
        raise RequestError(f"modelId is not allowed; allowed: {', '.join(config.model_ids)}")
    return value
