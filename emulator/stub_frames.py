"""Stand-in replies: the error it refuses a request with, and the InvokeModel reply planned and framed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

from emulator import eventstream, stub_payloads
from emulator.stub_replies import (
    DirectiveError,
    Directives,
    input_token_count,
    parse_directives,
    reply_tokens,
)


class StubError(Exception):
    """A request the stand-in refuses with an HTTP error before any event."""

    def __init__(self, *, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> StubError:
    """The 400 `ValidationException` Bedrock answers a malformed request with, naming the broken rule."""
    return StubError(status=400, code="ValidationException", message=message)


@dataclass(frozen=True, slots=True)
class Reply:
    """Everything needed to stream one answer."""

    tokens: list[str]
    directives: Directives
    stop_reason_truncated: bool
    input_tokens: int


def plan_reply(user_text: str, cap: int | None) -> Reply:
    try:
        directives, prompt = parse_directives(user_text)
    except DirectiveError as exc:
        raise StubError(status=400, code="ValidationException", message=str(exc)) from None
    count = directives.tokens if cap is None else min(directives.tokens, cap)
    return Reply(
        reply_tokens(prompt, count), directives, count < directives.tokens, input_token_count(prompt)
    )


def invoke_frames(family: str, reply: Reply) -> Iterator[tuple[str, bytes]]:
    started = time.monotonic()
    for chunk in stub_payloads.opening_chunks(family, reply.input_tokens):
        yield "event", _chunk_frame(chunk)
    for index, token in enumerate(reply.tokens):
        yield (
            "delta",
            _chunk_frame(stub_payloads.delta_chunk(family, token, index=index, usage_in=reply.input_tokens)),
        )
    usage = stub_payloads.Usage(
        reply.input_tokens, len(reply.tokens), round((time.monotonic() - started) * 1000)
    )
    stop = stub_payloads.native_stop_reason(family, truncated=reply.stop_reason_truncated)
    for chunk in stub_payloads.closing_chunks(
        family, stop_reason=stop, usage=usage, text="".join(reply.tokens)
    ):
        yield "event", _chunk_frame(chunk)


def _chunk_frame(chunk: dict[str, object]) -> bytes:
    raw = json.dumps(chunk, separators=(",", ":")).encode("utf-8")
    return eventstream.event_message("chunk", {"bytes": base64.b64encode(raw).decode("ascii")})
