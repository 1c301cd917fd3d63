"""The request model both APIs parse into: `ChatRequest`, a validated conversation and its settings, and
the field checks both APIs build it with (each failure a `RequestError` naming the field, never quoting
its value)."""

from __future__ import annotations

import math
from typing import NamedTuple

from bedrock_handler.errors import RequestError


# NamedTuples, not dataclasses: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class Message(NamedTuple):
    """One conversation turn; list content is joined into one text."""

    role: str
    text: str


class ChatRequest(NamedTuple):
    """A validated chat request, independent of the API it came through and of the Bedrock API serving it.

    Turns alternate, starting and ending with `user`, as Converse requires.
    """

    model_id: str
    messages: tuple[Message, ...]
    max_tokens: int
    system: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: tuple[str, ...] = ()


MAX_MESSAGES = 200
MAX_STOP_SEQUENCES = 8
MAX_STOP_SEQUENCE_CHARS = 256


def non_empty_text(value: object, name: str) -> str:
    """A non-blank string that Bedrock can encode."""
    if not isinstance(value, str):
        raise RequestError(f"{name} must be a string", param=name)
    if not value.strip():
        raise RequestError(f"{name} must not be empty", param=name)
    return encodable(value, name)


def encodable(value: str, name: str) -> str:
    """`value`, unless it holds a lone surrogate escape (\\ud800), which Bedrock cannot take."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(f"{name} is not valid Unicode (lone surrogate)", param=name) from None
    return value


def token_limit(value: object, name: str, *, default: int, limit: int) -> int:
    """An integer from 1 to `limit`; `default` when absent."""
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise RequestError(f"{name} must be an integer", param=name)
    if not 1 <= value <= limit:
        raise RequestError(f"{name} must be between 1 and {limit}", param=name)
    return value


def number_in(value: object, name: str, *, high: float, hint: str = "") -> float | None:
    """A finite number from 0 to `high`, or None when absent; `hint` explains the range when refused."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise RequestError(f"{name} must be a number", param=name)
    if not 0 <= value <= high:
        raise RequestError(f"{name} must be between 0 and {high:g}{hint}", param=name)
    return float(value)


def stop_sequences(value: object, name: str) -> tuple[str, ...]:
    """A list of up to MAX_STOP_SEQUENCES strings; () when absent."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_STOP_SEQUENCES:
        raise RequestError(f"{name} must be a list of at most {MAX_STOP_SEQUENCES} strings", param=name)
    for item in value:
        if not isinstance(item, str) or not 0 < len(item) <= MAX_STOP_SEQUENCE_CHARS:
            raise RequestError(
                f"each stop sequence must be a string of 1 to {MAX_STOP_SEQUENCE_CHARS} characters",
                param=name,
            )
    return tuple(encodable(item, name) for item in value)
