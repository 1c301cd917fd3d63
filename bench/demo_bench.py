"""Benchmark: the `make demo` path end to end - time to first byte and total, warm and on the first request.

Client (stream_client, as `make demo` calls it) -> emulator Function URL -> runtime/bootstrap ->
bedrock_handler -> botocore -> the offline Bedrock stand-in, all on 127.0.0.1, the emulator in-process.
Run alone: `python -m bench --only demo_bench`.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.results import Row, Section, Spread
from emulator import bedrock_stub
from emulator.config import EmulatorConfig
from emulator.local_lambda import Emulator
from stream_client import StreamOptions, open_stream

PROMPT_FAST = "bench @stub:tokens=48 @stub:delay-ms=0"
PROMPT_PACED = "bench @stub:tokens=48 @stub:delay-ms=20"
LOG_PATH = Path(__file__).resolve().parent / "out" / "demo_bench.log"
_CONVERSE_DELTA = b"contentBlockDelta"  # the event type inside a ConverseStream text-delta frame


@dataclass(frozen=True, slots=True)
class Call:
    """One streamed request as the client and the stand-in saw it (ms from sending the request)."""

    ttfb_ms: float
    total_ms: float
    stub_first_delta_ms: float | None  # when the stand-in had written its first text delta
    first_text_ms: float  # when the client's iterator yielded the first text piece


class StubProbe:
    """When the in-process stand-in writes its first text-delta frame of the current request.

    The stand-in keeps no timestamps (a hook there is requested), so this wraps its private
    `_StubHandler._write_chunk` for the duration of the benchmark; if that name has changed, the
    probe is unavailable and the split of the first-byte time is left out rather than guessed.
    """

    def __init__(self) -> None:
        self.first_delta_at: float | None = None
        self.available = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.first_delta_at = None

    def _seen(self, frame: bytes) -> None:
        if _CONVERSE_DELTA in frame[:256]:  # the headers, not the (base64-free) payload, come first
            now = time.perf_counter()
            with self._lock:
                if self.first_delta_at is None:
                    self.first_delta_at = now

    @contextlib.contextmanager
    def installed(self) -> Iterator[StubProbe]:
        handler_class = getattr(bedrock_stub, "_StubHandler", None)
        original: Callable[..., None] | None = getattr(handler_class, "_write_chunk", None)
        if handler_class is None or original is None:
            yield self
            return
        probe = self

        def write_chunk(handler: object, frame: bytes) -> None:
            original(handler, frame)  # time stamped after the frame is flushed to the socket
            probe._seen(frame)

        setattr(handler_class, "_write_chunk", write_chunk)  # noqa: B010 - patching a private name
        self.available = True
        try:
            yield self
        finally:
            setattr(handler_class, "_write_chunk", original)  # noqa: B010
            self.available = False


def call(url: str, prompt: str, probe: StubProbe) -> Call:
    """Stream one prompt the way `make demo` does (a fresh client session, unsigned, SSE)."""
    probe.reset()
    sent = time.perf_counter()
    first_text: float | None = None
    with open_stream(url, prompt, options=StreamOptions(sign=False)) as stream:
        for _piece in stream:
            if first_text is None:
                first_text = time.perf_counter()
    result = stream.result
    if not result.complete or result.stats.ttfb_ms is None or first_text is None:
        raise RuntimeError(f"incomplete demo stream for {prompt!r}: {result.stats.line()}")
    stub_at = probe.first_delta_at
    return Call(
        ttfb_ms=result.stats.ttfb_ms,
        total_ms=result.stats.total_ms,
        stub_first_delta_ms=None if stub_at is None else (stub_at - sent) * 1000,
        first_text_ms=(first_text - sent) * 1000,
    )


@dataclass(frozen=True, slots=True)
class Cold:
    """The first request to a freshly started emulator."""

    call: Call
    init_ms: float  # runtime process spawn -> its first GET /next
    waited_for_init: bool


def cold_call(config: EmulatorConfig, probe: StubProbe, *, wait_for_init: bool) -> Cold:
    """Start an emulator, send one request (at once, or once the runtime is ready), stop it."""
    with Emulator(config) as emulator:
        sandbox = emulator.pool.sandboxes[0]
        deadline = time.monotonic() + 60
        while wait_for_init and sandbox.slot.first_next_at is None:
            if time.monotonic() > deadline:
                raise TimeoutError("the runtime never asked for an invocation")
            time.sleep(0.002)
        process = sandbox.process
        result = call(emulator.url, PROMPT_FAST, probe)
        first_next = sandbox.slot.first_next_at
        if process is None or first_next is None:
            raise RuntimeError("the runtime process is gone after the first request")
        return Cold(result, (first_next - process.spawned_at) * 1000, wait_for_init)


def warm_calls(
    contenders: Mapping[str, EmulatorConfig], probe: StubProbe, *, rounds: int
) -> dict[str, dict[str, list[Call]]]:
    """One warm emulator per contender, all running at once; each round sends the fast prompt twice
    around one paced prompt to each contender in turn (one contender today; a baseline runtime is
    one more entry)."""
    calls: dict[str, dict[str, list[Call]]] = {n: {PROMPT_FAST: [], PROMPT_PACED: []} for n in contenders}
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(Emulator(config)).url for name, config in contenders.items()}
        for url in urls.values():
            for _ in range(3):  # warm-up: runtime init, first boto3 call, connection pools; not measured
                call(url, PROMPT_FAST, probe)
        for _ in range(rounds):
            for name, url in urls.items():
                for prompt in (PROMPT_FAST, PROMPT_PACED, PROMPT_FAST):
                    calls[name][prompt].append(call(url, prompt, probe))
    return calls


def _stub_split(calls: Sequence[Call]) -> tuple[list[float], list[float]]:
    """(request sent -> stand-in's first delta, stand-in's first delta -> first text at the client)."""
    timed = [c for c in calls if c.stub_first_delta_ms is not None]
    before = [c.stub_first_delta_ms for c in timed if c.stub_first_delta_ms is not None]
    return before, [c.first_text_ms - b for c, b in zip(timed, before, strict=True)]


def _rows(warm: dict[str, list[Call]], cold: Sequence[Cold]) -> list[Row]:
    rows: list[Row] = []
    for prompt, label in ((PROMPT_FAST, "48 tokens, no delay"), (PROMPT_PACED, "48 tokens 20 ms apart")):
        calls = warm[prompt]
        rows.append(Row.of(f"warm, {label}: time to first byte", Spread.of([c.ttfb_ms for c in calls]),
                           None, "ms"))  # fmt: skip
        rows.append(Row.of(f"warm, {label}: total", Spread.of([c.total_ms for c in calls]), None, "ms"))
        _, added = _stub_split(calls)
        if added:
            rows.append(Row.of(f"warm, {label}: stand-in's first delta -> first text at the client",
                               Spread.of(added), None, "ms"))  # fmt: skip
    before, _ = _stub_split([c for calls in warm.values() for c in calls])
    if before:
        rows.append(Row.of("warm, both prompts: request sent -> stand-in sends its first delta",
                           Spread.of(before), None, "ms"))  # fmt: skip
    for waited, label in ((False, "sent right after start"), (True, "sent once the runtime is ready")):
        firsts = [c.call for c in cold if c.waited_for_init is waited]
        rows.append(Row.of(f"first request, {label}: time to first byte",
                           Spread.of([c.ttfb_ms for c in firsts]), None, "ms"))  # fmt: skip
    rows.append(Row.of("runtime init: spawn -> first GET /next", Spread.of([c.init_ms for c in cold]),
                       None, "ms"))  # fmt: skip
    return rows


def run(*, quick: bool) -> list[Section]:
    """Cold-ish rounds (a fresh emulator each), then warm rounds on one emulator."""
    config = EmulatorConfig(port=0)  # the `make demo` defaults, on a free port
    probe = StubProbe()
    cold_rounds, warm_rounds = (2, 4) if quick else (5, 10)
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    # The runtime's and emulator's logs (START/END/REPORT, one line per invocation) go to a file: the
    # same logging work as `make demo`, without flooding the terminal.
    with LOG_PATH.open("w", encoding="utf-8") as log, contextlib.redirect_stderr(log), probe.installed():
        cold: list[Cold] = []
        for _ in range(cold_rounds):
            for wait in (False, True):  # alternate, so slow spells on the machine hit both kinds alike
                cold.append(cold_call(config, probe, wait_for_init=wait))
        warm = warm_calls({"ours": config}, probe, rounds=warm_rounds)["ours"]
    probed = statistics.median(c.first_text_ms - c.ttfb_ms for calls in warm.values() for c in calls)
    notes = [
        "client = stream_client.open_stream(url, prompt, options=StreamOptions(sign=False)) as `make demo` "
        "calls it (SSE, a fresh connection per request); emulator = emulator.local_lambda.Emulator in "
        "this process with its defaults (runtime/bootstrap, bedrock_handler, ConverseStream, the offline "
        "stand-in, concurrency 1); runtime logs at INFO go to bench/out/demo_bench.log.",
        f"warm: {warm_rounds} rounds of (no-delay, 20 ms, no-delay) prompts after 3 warm-up requests, so "
        f"{len(warm[PROMPT_FAST])} and {len(warm[PROMPT_PACED])} samples; time to first byte and total are "
        "the client's own stats (ms from sending the request to the first body byte / the end).",
        f"first request: {cold_rounds} fresh emulators for each kind, alternating; 'right after start' is "
        "what `make demo` does (the runtime is spawned by start() and still initialising, so this includes "
        "most of its init); 'once ready' waits for its first GET /next, isolating the first invocation's "
        "own cost (first Bedrock connection, lazy imports).",
    ]
    if probe_split := any(c.stub_first_delta_ms is not None for calls in warm.values() for c in calls):
        notes.append(
            "the split of the first-byte time uses the stand-in's first text-delta frame, time-stamped in "
            "this process (same perf_counter clock) by wrapping the stand-in's frame writer; the client "
            f"side is when the first text piece was yielded ({probed:.2f} ms median after the first byte). "
            "With no delay the stand-in, emulator and client share this process's GIL while the other 47 "
            "deltas are written at once, which inflates that row; the 20 ms row is the clean hop time."
        )
    if not probe_split:
        notes.append("the stand-in's frame writer was not found, so the first-byte split is left out.")
    return [Section(title="`make demo` path end to end (client -> emulator -> runtime -> handler -> "
                          "stand-in)", rows=_rows(warm, cold), notes=notes)]  # fmt: skip


if __name__ == "__main__":
    from bench.results import render

    print(render(run(quick="--quick" in sys.argv)))
