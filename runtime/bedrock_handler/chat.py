"""The request model both APIs parse into: `ChatRequest`, a validated conversation and its settings, and
the field checks both APIs build it with (each failure a `RequestError` naming the field, never quoting
its value).

A turn's content beyond its text (images, documents, tool calls and results, reasoning) is carried as
Converse content blocks, the one shape Bedrock takes them in; the InvokeModel path takes text only."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, NamedTuple

from bedrock_handler.errors import RequestError

if TYPE_CHECKING:
    from bedrock_handler.config import HandlerConfig

# NamedTuples, not dataclasses: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
Block = dict[str, Any]  # one Converse content block: {"image": {...}}, {"toolUse": {...}}, ...


class Message(NamedTuple):
    """One conversation turn: its text (list content joined into one, '' when the turn has none), the
    blocks Converse wants before it (user: tool results, then images and documents; assistant: reasoning)
    and after it (assistant: tool calls)."""

    role: str
    text: str
    leading: tuple[Block, ...] = ()
    trailing: tuple[Block, ...] = ()

    def merged(self, following: Message) -> Message:
        """This turn and the next one of the same role as one turn, as Converse requires alternation."""
        text = "\n\n".join(part for part in (self.text, following.text) if part)
        # Tool results lead a user turn (Claude requires it), whatever order the caller sent them in.
        leading = sorted(self.leading + following.leading, key=lambda block: "toolResult" not in block)
        return Message(self.role, text, tuple(leading), self.trailing + following.trailing)

    @property
    def has_blocks(self) -> bool:
        """Whether the turn holds more than text."""
        return bool(self.leading or self.trailing)


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
    tools: tuple[Block, ...] = ()  # Converse `toolSpec` objects
    tool_choice: str = "none"  # none | auto | any | tool (then `tool_name`)
    tool_name: str | None = None
    reasoning: str | None = None  # an effort: minimal, low, medium, high, xhigh or max

    @property
    def text_only(self) -> bool:
        """Whether the request is plain text chat (all the InvokeModel path can send)."""
        return not (self.tools or self.reasoning or any(m.has_blocks for m in self.messages))


MAX_MESSAGES = 200
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh", "max")
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


def plain_json(value: object, name: str, *, param: str) -> object:
    """`value`, once it is JSON Bedrock can take: no NaN or infinity, no lone surrogate anywhere."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except ValueError:  # UnicodeEncodeError is one too
        raise RequestError(
            f"{name} must be plain JSON (no NaN or Infinity, no lone surrogate)", param=param
        ) from None
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


def default_limit(config: HandlerConfig, effort: str | None) -> int:
    """The token limit of a request that sets none: the configured default, or with reasoning on (which
    spends tokens of the same limit before the answer) the largest limit allowed."""
    return config.default_max_tokens if effort is None else config.max_tokens_limit


def reasoning_effort(value: object, name: str) -> str | None:
    """A reasoning effort, or None when absent or `none` (reasoning off)."""
    if value is None or value == "none":
        return None
    if value not in REASONING_EFFORTS:
        raise RequestError(f"{name} must be one of none, {', '.join(REASONING_EFFORTS)}", param=name)
    return str(value)
