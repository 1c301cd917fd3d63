"""What an API's output edge implements: `ReplyEncoder`, which writes model deltas, the end and in-band
errors in that API's wire format, and the `Summary` of a finished stream it is given."""

from __future__ import annotations

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
