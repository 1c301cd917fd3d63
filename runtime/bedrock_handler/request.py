"""Parse and validate a Function URL (payload 2.0) event into a `ChatRequest`, or raise `RequestError`."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import MethodNotAllowedError, RequestError
from bedrock_handler.output import OutputFormat

MAX_MESSAGES = 200
MAX_STOP_SEQUENCES = 8
MAX_STOP_SEQUENCE_CHARS = 256
_JSON_FIELDS = {
    "prompt",
    "messages",
    "system",
    "modelId",
    "maxTokens",
    "temperature",
    "topP",
    "stopSequences",
}
_ACCEPT_FORMATS = (("text/event-stream", OutputFormat.SSE), ("application/x-ndjson", OutputFormat.NDJSON))


# NamedTuples, not dataclasses: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class Message(NamedTuple):
    """One conversation turn; list content is joined into one text."""

    role: str
    text: str


class ChatRequest(NamedTuple):
    """A validated chat request, independent of the Bedrock API used to serve it."""

    model_id: str
    messages: tuple[Message, ...]
    output_format: OutputFormat
    max_tokens: int
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: tuple[str, ...] = ()


def parse_event(event: Mapping[str, Any], *, config: HandlerConfig) -> ChatRequest:
    """Validate method, body encoding, size, content type and fields of a Function URL event."""
    event = _object(event)
    method = str(_object(_object(event.get("requestContext")).get("http")).get("method", "")).upper()
    if method != "POST":
        raise MethodNotAllowedError(f"method {method or '(none)'} not allowed; use POST")
    headers = {str(k).lower(): str(v) for k, v in _object(event.get("headers")).items()}
    output_format = _output_format(_object(event.get("queryStringParameters")), headers.get("accept", ""))
    text = _body_text(event, max_bytes=config.max_request_bytes)
    media_type = headers.get("content-type", "application/json").split(";", 1)[0].strip().lower()
    if media_type.startswith("text/"):
        return _build(config, output_format, {"prompt": text})
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestError(
            f"unsupported content type {media_type!r}; send application/json or text/plain",
            status=415,
            error_type="unsupported_media_type",
        )
    try:
        document = json.loads(text)
    except ValueError:
        raise RequestError("body is not valid JSON") from None
    except RecursionError:
        raise RequestError("body JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise RequestError("JSON body must be an object")
    return _build(config, output_format, document)


def _object(value: object) -> Mapping[str, Any]:
    # A direct invoke can send any JSON; a part that is not an object is treated as absent, not a crash.
    return value if isinstance(value, Mapping) else {}


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


def _body_text(event: Mapping[str, Any], *, max_bytes: int) -> str:
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise RequestError("event body is not a string")
    too_large = RequestError(
        f"request body exceeds {max_bytes} bytes", status=413, error_type="payload_too_large"
    )
    if event.get("isBase64Encoded"):
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:  # checked before decoding so huge bodies cost nothing
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError("body is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise too_large
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("body is not valid UTF-8") from None
    if not text.strip():
        raise RequestError("request body is empty")
    return text


def _build(config: HandlerConfig, output_format: OutputFormat, doc: dict[str, Any]) -> ChatRequest:
    if unknown := sorted(set(doc) - _JSON_FIELDS):
        raise RequestError(f"unknown field {unknown[0][:64]!r}; allowed: {', '.join(sorted(_JSON_FIELDS))}")
    if ("prompt" in doc) == ("messages" in doc):
        raise RequestError("give exactly one of prompt or messages")
    if "prompt" in doc:
        messages: tuple[Message, ...] = (Message("user", _non_empty_text(doc["prompt"], "prompt")),)
    else:
        messages = _messages(doc["messages"])
    return ChatRequest(
        model_id=_model_id(doc.get("modelId"), config),
        messages=messages,
        output_format=output_format,
        max_tokens=_max_tokens(doc.get("maxTokens"), config),
        system=None if doc.get("system") is None else _non_empty_text(doc["system"], "system"),
        temperature=_unit_interval(doc.get("temperature"), "temperature"),
        top_p=_unit_interval(doc.get("topP"), "topP"),
        stop_sequences=_stop_sequences(doc.get("stopSequences")),
    )


def _non_empty_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a string")
    if not value.strip():
        raise RequestError(f"{name} must not be empty")
    return _encodable(value, name)


def _encodable(value: str, name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate escape (\ud800) in the JSON: Bedrock cannot take it
        raise RequestError(f"{name} is not valid Unicode (lone surrogate)") from None
    return value


def _messages(value: object) -> tuple[Message, ...]:
    if not isinstance(value, list) or not value:
        raise RequestError("messages must be a non-empty list")
    if len(value) > MAX_MESSAGES:
        raise RequestError(f"messages may hold at most {MAX_MESSAGES} entries")
    parsed = tuple(_message(item, index) for index, item in enumerate(value))
    for index, message in enumerate(parsed):
        expected = "user" if index % 2 == 0 else "assistant"
        if message.role != expected:
            raise RequestError(
                f"messages[{index}].role must be {expected!r}: turns alternate, starting with user"
            )
    if parsed[-1].role != "user":
        raise RequestError("the last message must have role 'user'")
    return parsed


def _message(item: object, index: int) -> Message:
    where = f"messages[{index}]"
    if not isinstance(item, dict):
        raise RequestError(f"{where} must be an object")
    role = item.get("role")
    if role not in ("user", "assistant"):
        raise RequestError(f"{where}.role must be 'user' or 'assistant'")
    content = item.get("content")
    if isinstance(content, str):
        return Message(role, _non_empty_text(content, f"{where}.content"))
    if not isinstance(content, list) or not content:
        raise RequestError(
            f"{where}.content must be a non-empty string or a non-empty list of {{'text': str}}"
        )
    texts = []
    for block_index, block in enumerate(content):
        if not isinstance(block, dict) or set(block) != {"text"}:
            raise RequestError(f"{where}.content[{block_index}] must be an object {{'text': str}}")
        texts.append(_non_empty_text(block["text"], f"{where}.content[{block_index}].text"))
    return Message(role, "\n".join(texts))


def _model_id(value: object, config: HandlerConfig) -> str:
    if value is None:
        return config.default_model_id
    if not isinstance(value, str) or value not in config.model_ids:
        raise RequestError(f"modelId is not allowed; allowed: {', '.join(config.model_ids)}")
    return value


def _max_tokens(value: object, config: HandlerConfig) -> int:
    if value is None:
        return config.default_max_tokens
    if not isinstance(value, int) or isinstance(value, bool):
        raise RequestError("maxTokens must be an integer")
    if not 1 <= value <= config.max_tokens_limit:
        raise RequestError(f"maxTokens must be between 1 and {config.max_tokens_limit}")
    return value


def _unit_interval(value: object, name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise RequestError(f"{name} must be a number")
    if not 0 <= value <= 1:
        raise RequestError(f"{name} must be between 0 and 1")
    return float(value)


def _stop_sequences(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_STOP_SEQUENCES:
        raise RequestError(f"stopSequences must be a list of at most {MAX_STOP_SEQUENCES} strings")
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_STOP_SEQUENCE_CHARS:
            raise RequestError(
                f"each stop sequence must be a string of 1 to {MAX_STOP_SEQUENCE_CHARS} characters"
            )
    return tuple(_encodable(item, "stopSequences") for item in value)
