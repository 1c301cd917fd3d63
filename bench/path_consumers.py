"""The whole-path benchmark's contenders as consumers of one streamed reply, and the rounds that run them.

Ours and the seed-style baseline each behind its own `python -m emulator serve` process, read by a raw
HTTP client; the floor is boto3 reading the stand-in directly in this process. Each consumer checks the
reply against the stand-in's deterministic text and returns when each delta arrived, next to when the
stand-in (bench/stub_probe.py) had sent it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench import timed_http
from bench.emulator_proc import EmulatorProcess
from bench.stub_probe import ProbedStub
from emulator.stub_replies import parse_directives, reply_tokens

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"  # our handler's default, hard-coded in the seed's
LONG_DELTAS = 20_000  # the longest reply any round asks for: the function's maxTokens cap is raised to it
OURS, BASELINE, FLOOR = "ours", "baseline", "floor"


def expected_tokens(prompt: str) -> list[str]:
    """The deltas the stand-in sends for `prompt` (deterministic: emulator.stub_replies)."""
    directives, text = parse_directives(prompt)
    return reply_tokens(text, directives.tokens)


def _end_offsets(tokens: Sequence[str]) -> list[int]:
    """Byte offset just past each delta in the concatenated UTF-8 text."""
    ends, total = [], 0
    for token in tokens:
        total += len(token.encode("utf-8"))
        ends.append(total)
    return ends


@dataclass(frozen=True, slots=True)
class Stream:
    """One streamed reply as the consumer saw it: when each delta arrived, plus the stand-in's send times."""

    started: float  # request sent (HTTP) or converse_stream called (direct)
    arrivals: list[float]  # per expected delta: when its last byte reached the consumer
    stamps: list[float]  # per delta: when the stand-in had sent it
    deltas_received: int
    http_chunks: int | None

    @property
    def first_added_ms(self) -> float:
        return (self.arrivals[0] - self.stamps[0]) * 1000

    @property
    def delays_ms(self) -> list[float]:
        return [(a - s) * 1000 for a, s in zip(self.arrivals, self.stamps, strict=True)]

    @property
    def deltas_per_s(self) -> float:
        return len(self.arrivals) / (self.arrivals[-1] - self.started)


Consumer = Callable[[str], Stream]


def http_consumer(port: int, stub: ProbedStub) -> Consumer:
    """Send the prompt as a text/plain body (what the seed's users send) and read the raw text reply."""

    def consume(prompt: str) -> Stream:
        tokens = expected_tokens(prompt)
        response = timed_http.post(port, prompt.encode("utf-8"))
        stamps = stub.take()
        expected = "".join(tokens).encode("utf-8")
        if response.body != expected:
            raise RuntimeError(
                f"port {port}: reply differs from the stand-in's text ({len(response.body)} of "
                f"{len(expected)} bytes; starts {response.body[:80]!r})"
            )
        text = response.body.decode("utf-8")
        arrivals = [response.arrival(end - 1) for end in _end_offsets(tokens)]
        return Stream(response.sent, arrivals, stamps, len(text.split(" ")), response.chunks)

    return consume


def direct_consumer(client: Any, stub: ProbedStub) -> Consumer:
    """The floor: boto3 ConverseStream straight from the stand-in, in this process."""

    def consume(prompt: str) -> Stream:
        tokens = expected_tokens(prompt)
        clock = time.monotonic
        started = clock()
        response = client.converse_stream(
            modelId=MODEL_ID,
            messages=[{"role": "user", "content": [{"text": prompt}]}],
            inferenceConfig={"maxTokens": LONG_DELTAS},
        )
        arrivals, texts = [], []
        for event in response["stream"]:
            if "contentBlockDelta" in event:
                arrivals.append(clock())
                texts.append(event["contentBlockDelta"]["delta"]["text"])
        stamps = stub.take()
        if texts != tokens:
            raise RuntimeError(f"direct boto3: {len(texts)} deltas differ from the stand-in's {len(tokens)}")
        return Stream(started, arrivals, stamps, len(texts), None)

    return consume


def _rotated(names: Sequence[str], round_index: int) -> list[str]:
    shift = round_index % len(names)
    return [*names[shift:], *names[:shift]]


def rounds(
    consumers: dict[str, Consumer], prompt: str, *, count: int, warm_up: int
) -> dict[str, list[Stream]]:
    """`count` measured rounds (after `warm_up` unmeasured ones); each round runs every consumer once,
    the order rotating so that no contender always follows the same one."""
    streams: dict[str, list[Stream]] = {name: [] for name in consumers}
    names = list(consumers)
    for index in range(warm_up + count):
        for name in _rotated(names, index):
            stream = consumers[name](prompt)
            if index >= warm_up:
                streams[name].append(stream)
    return streams


@contextlib.contextmanager
def contenders(stub: ProbedStub) -> Iterator[dict[str, Consumer]]:
    """Ours and the baseline each behind its own emulator process, plus the in-process floor."""
    common = [
        "--env", f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stub.url}",
        # The function's own cap on maxTokens would otherwise cut the 20,000-delta reply short.
        "--env", f"DEFAULT_MAX_TOKENS={LONG_DELTAS}", "--env", f"MAX_TOKENS_LIMIT={LONG_DELTAS}",
    ]  # fmt: skip
    baseline = [
        "--runtime-cmd", f"python3 {BENCH_DIR / 'baseline_bootstrap.py'}",
        "--handler", "seed_handler.handler", "--task-root", str(BENCH_DIR),
    ]  # fmt: skip
    client = boto3.session.Session().client(
        "bedrock-runtime",
        endpoint_url=stub.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDBENCH",
        aws_secret_access_key="bench-secret",
    )
    with (
        EmulatorProcess.start(common, log_path=OUT_DIR / "path_bench_ours.log") as ours,
        EmulatorProcess.start([*common, *baseline], log_path=OUT_DIR / "path_bench_baseline.log") as base,
    ):
        yield {
            OURS: http_consumer(ours.port, stub),
            BASELINE: http_consumer(base.port, stub),
            FLOOR: direct_consumer(client, stub),
        }
