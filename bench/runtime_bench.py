"""Our streaming runtime vs the seed-style baseline against the same local Runtime API, in one run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.proc_readings import proc_kib
from bench.processes import end_process
from bench.results import Row, Section, Spread
from bench.runtime_api import BenchApi

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "bench"
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Contender:
    """A runtime process to measure: its name and command line."""

    name: str
    argv: tuple[str, ...]


OURS = Contender("ours", (str(REPO / "runtime" / "bootstrap"),))
BASELINE = Contender("baseline", ("python3", str(BENCH_DIR / "baseline_bootstrap.py")))


def _env(api: BenchApi) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(BENCH_DIR),
        "_HANDLER": "bench_handlers.dispatch",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    }


def _start(contender: Contender, api: BenchApi) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        contender.argv, env=_env(api), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/"
    )


def spawn_to_first_next(contender: Contender) -> float:
    """Seconds from Popen to the first GET /next reaching the API."""
    return _time_to_first_next(contender.name, lambda api: _start(contender, api))


def _time_to_first_next(name: str, start: Callable[[BenchApi], subprocess.Popen[bytes]]) -> float:
    with BenchApi() as api:
        started = time.monotonic()
        process = start(api)
        try:
            if not api.first_next.wait(30):
                raise TimeoutError(f"{name} never called /next")
            return api.next_times[0] - started
        finally:
            end_process(process)


@dataclass(frozen=True, slots=True)
class Steady:
    """Measurements of one long-running process."""

    ttfb_ms: Spread
    chunks_per_s: Spread
    chunks_seen: int
    paced_late_max_s: float
    paced_late_ms: Spread
    peak_rss_kib: int
    rss_growth_kib: int
    invocations: int


Samples = dict[str, list[float]]


def _alternating_rounds(apis: dict[str, BenchApi], *, quick: bool) -> dict[str, Samples]:
    """Every round measures each runtime once, so noise from other work hits both alike."""
    samples: dict[str, Samples] = {name: {"ttfb": [], "rate": [], "seen": [], "late": []} for name in apis}
    for _ in range(20):  # warm-up, not measured
        for api in apis.values():
            api.invoke({"kind": "first_byte"})
    for _ in range(20 if quick else 60):
        for name, api in apis.items():
            result = api.invoke({"kind": "first_byte"})
            samples[name]["ttfb"].append(result.chunk_times[0] - result.dispatched)
    for _ in range(3 if quick else 11):
        for name, api in apis.items():
            result = api.invoke({"kind": "many_chunks", "count": 10_000})
            samples[name]["rate"].append(10_000 / (result.finished - result.dispatched))
            samples[name]["seen"].append(len(result.chunks))
    for _ in range(2 if quick else 4):
        for name, api in apis.items():
            result = api.invoke({"kind": "paced", "count": 10, "gap_s": 0.02})
            samples[name]["late"] += [
                arrived - float(chunk)
                for chunk, arrived in zip(result.chunks, result.chunk_times, strict=True)
            ]
    return samples


def steady_state(*, quick: bool) -> dict[str, Steady]:
    """Both runtimes running at once, each on its own API, measured in alternating rounds."""
    contenders = (OURS, BASELINE)
    invocations = 500 if quick else 5_000
    with BenchApi() as api_ours, BenchApi() as api_base:
        apis = {OURS.name: api_ours, BASELINE.name: api_base}
        processes = {c.name: _start(c, apis[c.name]) for c in contenders}
        try:
            for name, api in apis.items():
                if not api.first_next.wait(30):
                    raise TimeoutError(f"{name} never called /next")
            samples = _alternating_rounds(apis, quick=quick)
            peaks = {name: proc_kib(process.pid, "VmHWM") for name, process in processes.items()}
            growth: dict[str, int] = {}
            for name, process in processes.items():
                before = proc_kib(process.pid, "VmRSS")
                for _ in range(invocations):
                    apis[name].invoke({"kind": "tiny"})
                growth[name] = proc_kib(process.pid, "VmRSS") - before
        finally:
            for process in processes.values():
                end_process(process)
    return {
        name: Steady(
            ttfb_ms=Spread.of(sample["ttfb"], scale=1000),
            chunks_per_s=Spread.of(sample["rate"]),
            chunks_seen=int(min(sample["seen"])),
            paced_late_max_s=max(sample["late"]),
            paced_late_ms=Spread.of(sample["late"], scale=1000),
            peak_rss_kib=peaks[name],
            rss_growth_kib=growth[name],
            invocations=invocations,
        )
        for name, sample in samples.items()
    }


def run(*, quick: bool) -> list[Section]:
    """Both runtimes, spawn test interleaved so machine noise hits both alike; then both running at once."""
    spawns: dict[str, list[float]] = {OURS.name: [], BASELINE.name: []}
    for contender in (OURS, BASELINE):  # warm the page cache and .pyc files; not measured
        spawn_to_first_next(contender)
    for _ in range(8 if quick else 25):
        for contender in (OURS, BASELINE):
            spawns[contender.name].append(spawn_to_first_next(contender))
    steady = steady_state(quick=quick)
    ours, base = steady[OURS.name], steady[BASELINE.name]
    spawn_ours = Spread.of(spawns["ours"], scale=1000)
    spawn_base = Spread.of(spawns["baseline"], scale=1000)
    rows = [
        Row.of("invocation -> first byte received", ours.ttfb_ms, base.ttfb_ms, "ms", target="<= 0.5x",
               passed=ours.ttfb_ms.median <= 0.5 * base.ttfb_ms.median),
        Row.of("process spawn -> first GET /next", spawn_ours, spawn_base, "ms", target="<= 0.6x",
               passed=spawn_ours.median <= 0.6 * spawn_base.median),
        Row.of("10,000 x 32-byte chunks throughput", ours.chunks_per_s, base.chunks_per_s, "chunks/s",
               target=">= 1.0x", passed=ours.chunks_per_s.median >= base.chunks_per_s.median),
        Row("chunks seen by the API per 10,000 yielded", ours.chunks_seen, base.chunks_seen, "chunks",
            "= 10,000", ours.chunks_seen == 10_000),
        Row("chunk yielded 20 ms apart: worst arrival delay", ours.paced_late_max_s * 1000,
            base.paced_late_max_s * 1000, "ms", "<= 2 ms", ours.paced_late_max_s <= 0.002),
        Row.of("chunk yielded 20 ms apart: arrival delay", ours.paced_late_ms, base.paced_late_ms, "ms"),
        Row("peak RSS (VmHWM)", ours.peak_rss_kib / 1024, base.peak_rss_kib / 1024, "MiB", "<= 0.75x",
            ours.peak_rss_kib <= 0.75 * base.peak_rss_kib),
        Row(f"RSS growth over {ours.invocations:,} invocations", ours.rss_growth_kib / 1024,
            base.rss_growth_kib / 1024, "MiB", "<= 1 MiB", ours.rss_growth_kib <= 1024),
    ]  # fmt: skip
    notes = [
        "ours = runtime/bootstrap (streaming_runtime); baseline = bench/baseline_bootstrap.py "
        "(the seed's requests.get / requests.post(data=generator) loop); same handler, same local API.",
        f"spawn: median of {len(spawns['ours'])} fresh processes each, interleaved; "
        f"first byte: median over {ours.ttfb_ms.count} invocations after 20 warm-up ones; throughput: "
        f"median of {ours.chunks_per_s.count} runs, time from /next answer to the last chunk received; "
        "rounds alternate between the two runtimes.",
        f"arrival delay: {ours.paced_late_ms.count} chunks per runtime; the worst-delay row is the maximum "
        "of those, so it has no range; RSS figures are single readings at the end of the run.",
        "arrival delay = API receive time - the handler's CLOCK_MONOTONIC time stamp inside the chunk.",
        "the API is bench/runtime_api.py (raw sockets, pre-started workers, TCP_NODELAY), so its own "
        "overhead does not dilute the ratios; both runtimes log at WARN.",
    ]
    return [Section(title="Streaming runtime vs seed-style baseline", rows=rows, notes=notes)]
