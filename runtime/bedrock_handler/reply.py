"""What an API's output edge implements: `ReplyEncoder`, which writes model deltas, the end and in-band
errors in that API's wire format, and the `Summary` of a finished stream it is given."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from bedrock_handler.errors import ModelStreamError


# A NamedTuple, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class Summary(NamedTuple):
    """How a model stream ended: the stop reason (Bedrock's, or our own `deadline`), usage and timings."""

    stop_reason: str
    input_tokens: int
    output_tokens: int
    first_token_ms: int | None
    total_ms: int
    model_id: str


def compact_json(document: object, *, ascii_only: bool = False) -> str:
    """`document` as JSON without spaces. Error documents ask for `ascii_only`: their messages may quote a
    value holding a lone surrogate (a client's key, an event's method, a Bedrock message), which UTF-8
    cannot encode."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=ascii_only)


class ReplyEncoder(Protocol):
    """Encodes one reply. Each method returns the text to send next ('' for nothing); an encoder may keep
    state between calls (it is made for one invocation)."""

    @property
    def name(self) -> str:
        """The reply format, as the invocation log line names it."""

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers of the 200 response."""

    def delta(self, text: str) -> str:
        """A piece of generated text."""

    def done(self, summary: Summary) -> str:
        """The end of a successful stream; may raise `ModelStreamError` for a stop it reports as an error."""

    def error(self, exc: ModelStreamError) -> str:
        """The in-band error after the first byte was sent, and whatever must close the stream."""
