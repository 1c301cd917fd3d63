"""The OpenAI-compatible path's warm-path consumers: one prompt through one emulator, three ways.

The same function (one `python -m emulator serve` process and its runtime) answers the native API's
`POST /` as Server-Sent Events and `POST /v1/chat/completions` with `stream: true`; both are read by the
same raw-socket client (bench/timed_http.py), so only the function's path differs. The openai SDK reads
the second one too, as its users would. Each consumer checks the reply against the stand-in's
deterministic text and returns when the first content delta and the end reached it, next to when the
stand-in (bench/stub_probe.py) had sent its first delta.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import timed_http
from bench.cold_harness import round_order
from bench.path_consumers import MODEL_ID, expected_tokens
from bench.stub_probe import ProbedStub

NATIVE, OPENAI, SDK = "native", "openai", "sdk"


@dataclass(frozen=True, slots=True)
class Timing:
    """One streamed reply as a consumer saw it (time.monotonic() seconds)."""

    started: float  # request sent (the SDK: create() called)
    first: float  # the first content delta had reached the consumer
    done: float  # the reply had reached the consumer in full
    first_sent: float  # the stand-in had sent the first text delta

    @property
    def first_ms(self) -> float:
        return (self.first - self.started) * 1000

    @property
    def total_ms(self) -> float:
        return (self.done - self.started) * 1000

    @property
    def first_added_ms(self) -> float:
        return (self.first - self.first_sent) * 1000


Consumer = Callable[[str], Timing]


def sse_frames(body: bytes) -> list[tuple[int, bytes]]:
    """Each complete Server-Sent Events frame of `body` (LF framing, as both APIs write it) and the body
    offset just past its blank line."""
    frames: list[tuple[int, bytes]] = []
    start = 0
    while (end := body.find(b"\n\n", start)) >= 0:
        frames.append((end + 2, body[start:end]))
        start = end + 2
    return frames


def native_text(frame: bytes) -> str | None:
    """The text of a native `event: delta` frame; None for its other events (done, error)."""
    event, _, data = frame.decode("utf-8").partition("\n")
    if event != "event: delta":
        return None
    text: str = json.loads(data.removeprefix("data: "))["text"]
    return text


def openai_text(frame: bytes) -> str | None:
    """The content of an OpenAI chunk frame; None for frames without any (the `[DONE]` line, the finish
    and usage chunks; a first role chunk with empty content)."""
    data = frame.decode("utf-8").removeprefix("data: ")
    if data == "[DONE]":
        return None
    choices = json.loads(data).get("choices") or [{}]
    content = choices[0].get("delta", {}).get("content")
    return content or None


def first_content(body: bytes, text_of: Callable[[bytes], str | None]) -> tuple[int, str]:
    """(index of the last byte of the first frame carrying text, the whole text of the reply)."""
    first, texts = -1, []
    for end, frame in sse_frames(body):
        text = text_of(frame)
        if text is not None:
            texts.append(text)
            if first < 0:
                first = end - 1
    if first < 0:
        raise RuntimeError(f"no content in the reply: {body[:200]!r}")
    return first, "".join(texts)


def _check(label: str, text: str, prompt: str) -> None:
    expected = "".join(expected_tokens(prompt))
    if text != expected:
        raise RuntimeError(f"{label}: reply differs from the stand-in's text ({text[:80]!r}...)")


def native_body(prompt: str) -> bytes:
    return json.dumps({"prompt": prompt}).encode("utf-8")


def openai_body(prompt: str) -> bytes:
    document = {"model": MODEL_ID, "messages": [{"role": "user", "content": prompt}], "stream": True}
    return json.dumps(document).encode("utf-8")


def http_consumer(port: int, stub: ProbedStub, *, api: str) -> Consumer:
    """Raw HTTP, JSON body, fresh connection: the native API asked for SSE, or the OpenAI path."""
    if api == NATIVE:
        path, body_of, headers, text_of = "/", native_body, [("Accept", "text/event-stream")], native_text
    else:
        path, body_of, headers, text_of = "/v1/chat/completions", openai_body, [], openai_text

    def consume(prompt: str) -> Timing:
        response = timed_http.post(
            port, body_of(prompt), content_type="application/json", path=path, headers=headers
        )
        stamps = stub.take()
        first, text = first_content(response.body, text_of)
        _check(f"{api} on port {port}", text, prompt)
        return Timing(response.sent, response.arrival(first), response.arrival(len(response.body) - 1),
                      stamps[0])  # fmt: skip

    return consume


def sdk_consumer(client: Any, stub: ProbedStub) -> Consumer:
    """`client.chat.completions.create(stream=True)` with one reused openai.OpenAI client, as an
    application would hold it (its connection pool may keep the connection between requests)."""

    def consume(prompt: str) -> Timing:
        clock = time.monotonic
        started = clock()
        stream = client.chat.completions.create(
            model=MODEL_ID, messages=[{"role": "user", "content": prompt}], stream=True
        )
        first: float | None = None
        texts: list[str] = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if first is None:
                    first = clock()
                texts.append(chunk.choices[0].delta.content)
        done = clock()
        stamps = stub.take()
        if first is None:
            raise RuntimeError("openai SDK: no content chunk")
        _check("openai SDK", "".join(texts), prompt)
        return Timing(started, first, done, stamps[0])

    return consume


def rounds(
    consumers: dict[str, Consumer], prompt: str, *, count: int, warm_up: int
) -> dict[str, list[Timing]]:
    """`count` measured rounds after `warm_up` unmeasured ones, every consumer once per round."""
    timings: dict[str, list[Timing]] = {name: [] for name in consumers}
    for index in range(warm_up + count):
        for name in round_order(list(consumers), index):
            timing = consumers[name](prompt)
            if index >= warm_up:
                timings[name].append(timing)
    return timings


def paired_differences(a: list[float], b: list[float]) -> list[float]:
    """Per-round differences a - b (the two samples of each round paired)."""
    return [x - y for x, y in zip(a, b, strict=True)]


def median_ci(values: list[float], *, confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: the order statistics X(r) and X(n+1-r)
    with r the highest rank such that a Binomial(n, 1/2) count stays below r with probability at most
    (1 - confidence) / 2 (exact sums; no shape of the noise is assumed). (min, max) when n is too small."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    n = len(ordered)
    tail, cumulative, rank, total = (1 - confidence) / 2, 0, 1, 2**n
    for count in range(n):
        cumulative += math.comb(n, count)
        if cumulative / total > tail:
            break
        rank = count + 1  # P(B <= rank - 1) <= tail: X(rank) may be the lower bound
    rank = min(rank, (n + 1) // 2)
    return ordered[rank - 1], ordered[n - rank]
