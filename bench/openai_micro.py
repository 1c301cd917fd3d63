"""The handler's own cost of one invocation, native SSE vs OpenAI chunks, measured in this process.

`bedrock_handler.invocation.respond` is called with a Function URL event (built as the emulator builds
it) and an in-process model whose stream yields N text deltas and the end at once, so no socket, runtime
or stand-in is timed: only routing, request parsing, the reply encoder, the deadline watchdog, the log
line, the metrics document and the UTF-8 encoding of each piece the runtime would send. The documents
go to /dev/null through a stream that writes through on every call (as the runtime's `python3 -u`
stdout), not to this process's output.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, cast

from bedrock_handler.chat import ChatRequest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.invocation import respond
from bedrock_handler.model import ModelEvent, StreamEnd, TextDelta
from streaming_runtime import StreamingResponse

from bench.cold_harness import round_order
from bench.openai_path import (
    NATIVE,
    OPENAI,
    first_content,
    native_body,
    native_text,
    openai_body,
    openai_text,
)
from emulator.stub_replies import reply_tokens
from emulator.url_event import HttpRequest, build_event

PROMPT = "Say hello"  # the request's prompt; the reply is the fake model's, not the stand-in's


class _Context:
    aws_request_id = "0b5c2a7e-6d0f-4c1e-9a43-bench0000001"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class _Events:
    """An open model stream that yields its deltas and end from memory."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = texts

    def __iter__(self) -> Iterator[ModelEvent]:
        for text in self._texts:
            yield TextDelta(text)
        yield StreamEnd("end_turn", 12, len(self._texts))

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


class FakeModel:
    """`ModelStream` whose every stream is the same `deltas` text deltas."""

    def __init__(self, deltas: int) -> None:
        self.texts = reply_tokens("bench", deltas)

    def stream(self, request: ChatRequest) -> _Events:
        return _Events(self.texts)


def event(api: str) -> dict[str, Any]:
    """The Function URL event of a streamed chat request to the native API (SSE) or the OpenAI path,
    with the warm-path benchmark's bodies (bench/openai_path.py)."""
    if api == NATIVE:
        target, body, accept = "/", native_body(PROMPT), "text/event-stream"
    else:
        target, body, accept = "/v1/chat/completions", openai_body(PROMPT), "application/json"
    request = HttpRequest(
        method="POST",
        target=target,
        headers=[("host", "localhost:3000"), ("content-type", "application/json"), ("accept", accept)],
        body=body,
        source_ip="127.0.0.1",
        server_port=3000,
    )
    return build_event(request, request_id=_Context.aws_request_id, epoch_ms=int(time.time() * 1000))


class Invocation(NamedTuple):
    """One invocation's times in seconds: `respond` returning its response (request parsed, model called,
    the first piece pulled, which schedules the deadline watchdog), then the rest of the body
    (the other deltas, the end, the log line)."""

    head: float
    tail: float

    @property
    def total(self) -> float:
        return self.head + self.tail


def invoke(event: dict[str, Any], model: FakeModel, config: HandlerConfig) -> tuple[Invocation, int, bytes]:
    """One invocation: its times, the status, and the body as the runtime would send it."""
    clock = time.perf_counter
    started = clock()
    response = respond(event, _Context(), config=config, model=model)
    returned = clock()
    # The handler's bodies are iterators of str; encoded as the runtime encodes them before sending.
    pieces = [piece.encode("utf-8") for piece in cast("Iterable[str]", response.body)]
    ended = clock()
    assert isinstance(response, StreamingResponse)  # an HTTP event's, never a direct one's
    return Invocation(returned - started, ended - returned), response.status_code, b"".join(pieces)


def measure(deltas: int, *, iterations: int, warm_up: int) -> dict[str, list[Invocation]]:
    """`iterations` invocations of each API, the two alternating (AB BA BA AB ...) after `warm_up` each.
    Each reply is checked once: status 200 and the fake model's text, in the API's own framing."""
    null = io.TextIOWrapper(io.FileIO(os.devnull, "w"), encoding="utf-8", write_through=True)
    with null, contextlib.redirect_stdout(null):  # the handler's metrics documents
        return _measure(deltas, iterations=iterations, warm_up=warm_up)


def _measure(deltas: int, *, iterations: int, warm_up: int) -> dict[str, list[Invocation]]:
    config = HandlerConfig.from_env({"AWS_REGION": "us-east-1"})
    model = FakeModel(deltas)
    events = {NATIVE: event(NATIVE), OPENAI: event(OPENAI)}
    for api, text_of in ((NATIVE, native_text), (OPENAI, openai_text)):
        _, status, body = invoke(events[api], model, config)
        if status != 200 or first_content(body, text_of)[1] != "".join(model.texts):
            raise RuntimeError(f"{api}: the reply is not the fake model's text: {body[:200]!r}")
    samples: dict[str, list[Invocation]] = {NATIVE: [], OPENAI: []}
    for index in range(warm_up + iterations):
        for api in round_order([NATIVE, OPENAI], index):
            sample, _, _ = invoke(events[api], model, config)
            if index >= warm_up:
                samples[api].append(sample)
    return samples
