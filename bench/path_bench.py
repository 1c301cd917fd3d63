"""Benchmark: the whole warm path - added first-byte latency, 20,000-delta streams, deltas 20 ms apart.

HTTP client (this process) -> `python -m emulator serve` (its own process) -> runtime process ->
handler -> botocore (ours) or boto3 (seed-style) -> the Bedrock stand-in (its own process, time-stamping
each text delta it sends), all on 127.0.0.1. Three contenders, measured in the same run with the order
rotating every round: ours (runtime/bootstrap + bedrock_handler, raw text), the seed-style baseline
(bench/baseline_bootstrap.py + bench/seed_handler.py through the same emulator) and the floor (boto3
reading the stand-in directly in this process). Run alone: `python -m bench --only path_bench`.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from bench import timed_http
from bench.emulator_proc import EmulatorProcess
from bench.results import Row, Section, Spread
from bench.stub_probe import ProbedStub
from emulator.stub_replies import parse_directives, reply_tokens

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
MODEL_ID = "us.anthropic.claude-haiku-4-5-20251001-v1:0"  # our handler's default, hard-coded in the seed's
LONG_DELTAS = 20_000
SPACED_DELTAS, SPACED_GAP_MS = 50, 20
# The first delta 5 ms after the stream opens (as a real model's first token comes after the headers),
# so it travels alone; the rest 2 ms apart.
PROMPT_WARM = "warm path probe @stub:tokens=8 @stub:first-token-ms=5 @stub:delay-ms=2"
PROMPT_LONG = f"long stream probe @stub:tokens={LONG_DELTAS}"
PROMPT_SPACED = f"spaced chunks probe @stub:tokens={SPACED_DELTAS} @stub:delay-ms={SPACED_GAP_MS}"
TARGET_WARM_RATIO, TARGET_WARM_FLOOR_MS = 0.5, 3.0
TARGET_LONG_RATIO = 0.5
TARGET_SPACED_WORST_MS = 5.0
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


# --- the three sections ------------------------------------------------------------------------------


def warm_section(streams: dict[str, list[Stream]]) -> Section:
    added = {name: Spread.of([s.first_added_ms for s in runs]) for name, runs in streams.items()}
    ttfb = {
        name: Spread.of([(s.arrivals[0] - s.started) * 1000 for s in runs]) for name, runs in streams.items()
    }
    over_floor = Spread.of(
        [o.first_added_ms - f.first_added_ms for o, f in zip(streams[OURS], streams[FLOOR], strict=True)]
    )
    ours, base, floor = added[OURS], added[BASELINE], added[FLOOR]
    rows = [
        Row.of("stand-in sends first delta -> client has it: ours vs seed-style baseline", ours, base, "ms",
               target=f"<= {TARGET_WARM_RATIO:g}x", passed=ours.median <= TARGET_WARM_RATIO * base.median),
        Row.of("stand-in sends first delta -> consumer has it: ours vs floor (direct boto3)", ours, floor,
               "ms", target=f"<= floor + {TARGET_WARM_FLOOR_MS:g} ms",
               passed=ours.median - floor.median <= TARGET_WARM_FLOOR_MS),
        Row.of("ours - floor, per round", over_floor, None, "ms", target=f"<= {TARGET_WARM_FLOOR_MS:g} ms",
               passed=over_floor.median <= TARGET_WARM_FLOOR_MS),
        Row.of("request sent -> first text byte: ours vs seed-style baseline", ttfb[OURS], ttfb[BASELINE],
               "ms"),
    ]  # fmt: skip
    notes = [
        "ours = `python -m emulator serve` with its defaults (runtime/bootstrap + bedrock_handler, "
        "ConverseStream, raw text); baseline = the same emulator with `--runtime-cmd 'python3 "
        "bench/baseline_bootstrap.py' --handler seed_handler.handler --task-root bench` (the seed's "
        "requests loop and a seed-style handler: boto3 client at import, ConverseStream, text bytes "
        "yielded); floor = boto3 `converse_stream` against the stand-in directly, in the benchmark process.",
        "processes: the client, each emulator (with its runtime child) and the stand-in are separate "
        "processes (no shared GIL); the stand-in (bench/stub_probe.py) stamps each text-delta frame with "
        "CLOCK_MONOTONIC just before writing it (a stamp taken after the write can come late: the "
        "kernel may run the woken reader, and the whole path after it, first), the client stamps each "
        "socket read; time.monotonic() is the same clock in every process on Linux.",
        "why the ratio target cannot be met: the seed's loop opens its POST /response (and the emulator "
        "sends the client its headers) before the handler even calls Bedrock, so its first delta only "
        "crosses open connections; ours pulls the first delta before sending the POST (so a failure "
        "before it still gets a real HTTP status via /error), and then the emulator parses that POST, "
        "hands it to the Function URL thread, splits the prelude and writes the head. The baseline sits "
        "within ~0.1 ms of the floor, so half of it would be below the floor itself.",
        f"prompt `{PROMPT_WARM}` sent as text/plain on a fresh connection per request; "
        f"{ours.count} rounds after 3 warm-up rounds, each round one request per contender in rotating "
        "order; 'ours - floor, per round' pairs the two samples of each round.",
    ]
    return Section(title="Warm added latency (client -> emulator -> runtime -> handler -> stand-in)",
                   rows=rows, notes=notes)  # fmt: skip


def long_section(streams: dict[str, list[Stream]]) -> Section:
    rate = {name: Spread.of([s.deltas_per_s for s in runs]) for name, runs in streams.items()}
    received = {name: min(s.deltas_received for s in runs) for name, runs in streams.items()}
    chunks = [s.http_chunks for s in streams[OURS] if s.http_chunks is not None]
    ours, base, direct = rate[OURS], rate[BASELINE], rate[FLOOR]
    label = f"{LONG_DELTAS:,} deltas"
    rows = [
        Row.of(f"{label}: deltas/s, ours vs direct boto3 iteration", ours, direct, "deltas/s",
               target=f">= {TARGET_LONG_RATIO:g}x", passed=ours.median >= TARGET_LONG_RATIO * direct.median),
        Row.of(f"{label}: deltas/s, ours vs seed-style baseline", ours, base, "deltas/s"),
        Row(f"{label}: deltas received, text verified (ours, baseline)", received[OURS], received[BASELINE],
            "count", f"= {LONG_DELTAS:,}", received[OURS] == LONG_DELTAS),
    ]  # fmt: skip
    notes = [
        f"prompt `{PROMPT_LONG}`; {ours.count} rounds after 1 warm-up round, contenders rotating; rate = "
        f"{LONG_DELTAS:,} / (last delta at the consumer - request sent, or converse_stream called for "
        "direct); the function runs with DEFAULT_MAX_TOKENS and MAX_TOKENS_LIMIT at 20,000 so the reply "
        "is not capped.",
        "every reply is checked byte for byte against the stand-in's deterministic text "
        "(emulator.stub_replies.reply_tokens); deltas are counted as its space-separated words; the client "
        f"received ours in a median of {statistics.median(chunks):,.0f} HTTP chunks (the front relays "
        "each runtime chunk as it comes, so several deltas can share one read but not one chunk).",
    ]
    return Section(title="Long streams: 20,000 deltas end to end vs direct boto3", rows=rows, notes=notes)


def spaced_section(streams: dict[str, list[Stream]]) -> Section:
    worst = {name: Spread.of([max(s.delays_ms) for s in runs]) for name, runs in streams.items()}
    pooled = {name: [d for s in runs for d in s.delays_ms] for name, runs in streams.items()}
    p99 = {name: statistics.quantiles(values, n=100)[-1] for name, values in pooled.items()}
    ours, base = worst[OURS], worst[BASELINE]
    label = f"{SPACED_DELTAS} deltas {SPACED_GAP_MS} ms apart"
    rows = [
        Row.of(f"{label}: worst delay per stream, stand-in -> client", ours, base, "ms",
               target=f"<= {TARGET_SPACED_WORST_MS:g} ms", passed=ours.median <= TARGET_SPACED_WORST_MS),
        Row.of(f"{label}: delay per delta", Spread.of(pooled[OURS]), Spread.of(pooled[BASELINE]), "ms"),
        Row(f"{label}: delay, 99th percentile", p99[OURS], p99[BASELINE], "ms"),
        Row(f"{label}: worst delay of the whole run", max(pooled[OURS]), max(pooled[BASELINE]), "ms"),
    ]  # fmt: skip
    notes = [
        f"prompt `{PROMPT_SPACED}`; {ours.count} streams per contender after 1 warm-up round, alternating; "
        "delay = when the delta's last byte reached the client - when the stand-in had sent its frame; "
        "deltas are matched by byte offset in the known reply text, so it does not matter how the path "
        "groups them into reads or chunks.",
        "the worst-delay row is the median (min-max) over streams of each stream's worst delta; the last "
        "row is the single worst delta of the run (one scheduling hiccup on this shared 2-core machine "
        "shows there).",
    ]
    return Section(
        title="Spaced small chunks: delay per delta through the whole path", rows=rows, notes=notes
    )


def run(*, quick: bool) -> list[Section]:
    """One stand-in, both emulators and the floor alive at once; the three scenarios in turn."""
    warm_rounds, long_rounds, spaced_rounds = (10, 2, 2) if quick else (40, 5, 5)
    with ProbedStub.start() as stub, contenders(stub) as consumers:
        warm = rounds(consumers, PROMPT_WARM, count=warm_rounds, warm_up=3)
        long = rounds(consumers, PROMPT_LONG, count=long_rounds, warm_up=1)
        spaced = rounds(
            {name: consumers[name] for name in (OURS, BASELINE)},
            PROMPT_SPACED,
            count=spaced_rounds,
            warm_up=1,
        )
    return [warm_section(warm), long_section(long), spaced_section(spaced)]


if __name__ == "__main__":
    from bench.results import render

    print(render(run(quick="--quick" in sys.argv)))
