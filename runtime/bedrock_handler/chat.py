"""The request model both APIs parse into: `ChatRequest`, a validated conversation and its settings."""

from __future__ import annotations

from typing import NamedTuple


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
