"""What an API's output edge implements: `ReplyEncoder`, which writes model deltas (text, reasoning, tool
calls), the end and in-band errors in that API's wire format, and the `Summary` of a finished stream it is
given."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from bedrock_handler.errors import ModelStreamError


# A NamedTuple, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class Summary(NamedTuple):
    """How a model stream ended: the stop reason (Bedrock's, or our own `deadline`), usage and timings.
    `input_tokens` counts the input read neither from nor into the prompt cache, as Bedrock reports it."""

    stop_reason: str
    input_tokens: int
    output_tokens: int
    first_token_ms: int | None
    total_ms: int
    model_id: str
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def all_input_tokens(self) -> int:
        """Every input token: plain, read from the cache and written to it."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


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

    def reasoning(self, text: str) -> str:
        """A piece of the model's reasoning."""

    def reasoning_end(self, signature: str | None, redacted: bytes | None) -> str:
        """The end of a reasoning block: its signature or its redacted form, to be sent back later."""

    def tool_call(self, index: int, call_id: str, name: str) -> str:
        """The start of tool call number `index` (0, 1, ... in the reply)."""

    def tool_arguments(self, index: int, fragment: str) -> str:
        """A fragment of the JSON arguments of tool call `index`."""

    def done(self, summary: Summary) -> str:
        """The end of a successful stream; may raise `ModelStreamError` for a stop it reports as an error."""

    def error(self, exc: ModelStreamError) -> str:
        """The in-band error after the first byte was sent, and whatever must close the stream."""
