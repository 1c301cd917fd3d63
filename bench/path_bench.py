"""Benchmark: the whole warm path - added first-byte latency, 20,000-delta streams, deltas 20 ms apart.

HTTP client (this process) -> `python -m emulator serve` (its own process) -> runtime process ->
handler -> botocore (ours) or boto3 (seed-style) -> the Bedrock stand-in (its own process, time-stamping
each text delta it sends), all on 127.0.0.1. Three contenders, measured in the same run with the order
rotating every round: ours (runtime/bootstrap + bedrock_handler, raw text), the seed-style baseline
(bench/baseline_bootstrap.py + bench/seed_handler.py through the same emulator) and the floor (boto3
reading the stand-in directly in this process). Run alone: `python -m bench --only path_bench`.
"""

from __future__ import annotations

import statistics
import sys

from bench.path_consumers import BASELINE, FLOOR, LONG_DELTAS, OURS, Stream, contenders, rounds
from bench.results import Row, Section, Spread
from bench.stub_probe import ProbedStub

SPACED_DELTAS, SPACED_GAP_MS = 50, 20
# The first delta 5 ms after the stream opens (as a real model's first token comes after the headers),
# so it travels alone; the rest 2 ms apart.
PROMPT_WARM = "warm path probe @stub:tokens=8 @stub:first-token-ms=5 @stub:delay-ms=2"
PROMPT_LONG = f"long stream probe @stub:tokens={LONG_DELTAS}"
PROMPT_SPACED = f"spaced chunks probe @stub:tokens={SPACED_DELTAS} @stub:delay-ms={SPACED_GAP_MS}"
TARGET_WARM_RATIO, TARGET_WARM_FLOOR_MS = 0.5, 3.0
TARGET_LONG_RATIO = 0.5
TARGET_SPACED_WORST_MS = 5.0


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
