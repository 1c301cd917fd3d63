"""Our streaming runtime vs the seed-style baseline, and vs AWS's awslambdaric, against the same local
Runtime API, in one run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import task_roots
from bench.cold_harness import cpu_seconds, function_env, round_order
from bench.processes import end_process
from bench.results import Row, Section, Spread
from bench.runtime_api import BenchApi, Result

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


def _proc_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} missing from /proc/{pid}/status")


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
            peaks = {name: _proc_kib(process.pid, "VmHWM") for name, process in processes.items()}
            growth: dict[str, int] = {}
            for name, process in processes.items():
                before = _proc_kib(process.pid, "VmRSS")
                for _ in range(invocations):
                    apis[name].invoke({"kind": "tiny"})
                growth[name] = _proc_kib(process.pid, "VmRSS") - before
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


# --- Runtime start-up: ours vs AWS's runtime interface client (awslambdaric) -------------------------

TRIVIAL_HANDLER = "trivial_handler.handler"  # bench/trivial_handler.py: imports nothing, returns a dict
PROBE_EVENT = {"kind": "tiny"}


@dataclass(frozen=True, slots=True)
class RootContender:
    """A runtime started from its own task root with the trivial handler: its command and that root."""

    name: str
    root: Path
    argv: tuple[str, ...]

    def start(self, api: BenchApi) -> subprocess.Popen[bytes]:
        """Spawn it as Lambda would: the function's environment built from nothing, cwd = the task root."""
        env = function_env(root=self.root, handler=TRIVIAL_HANDLER, api=api.address,
                           bedrock_url="http://127.0.0.1:9")  # fmt: skip
        return subprocess.Popen(self.argv, env=env, cwd=self.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def awslambdaric_contenders() -> tuple[RootContender, RootContender]:
    """(ours, awslambdaric): runtime/bootstrap from the `runtime` task root, and `python3 -m awslambdaric
    trivial_handler.handler` (the Lambda base image's entry point) from the awslambdaric root."""
    roots = task_roots.prepare()
    ours_root = roots.root("runtime")
    ric_root = task_roots.prepare_awslambdaric(roots)
    return (
        RootContender("ours", ours_root, (str(ours_root / "bootstrap"),)),
        RootContender("awslambdaric", ric_root, ("python3", "-m", "awslambdaric", TRIVIAL_HANDLER)),
    )


def check_answer(name: str, result: Result, event: object) -> None:
    """The runtime posted the handler's JSON result to /response (not /error, not something else)."""
    body = b"".join(result.chunks)
    if not result.path.endswith("/response") or json.loads(body) != {"ok": True, "echo": event}:
        raise RuntimeError(f"{name} answered {result.path}: {body[:300]!r}")


@dataclass(frozen=True, slots=True)
class RicReadings:
    spawn_ms: dict[str, Spread]
    cpu_ms: dict[str, Spread]
    init_peak_mib: dict[str, Spread]
    peak_mib: dict[str, Spread]
    answer_ms: dict[str, Spread]
    processes: int
    invocations: int
    installed: tuple[str, ...]  # name==version of what the awslambdaric root holds


def _served_pair(contenders: tuple[RootContender, ...], index: int, invocations: int,
                 answers: dict[str, list[float]]) -> dict[str, tuple[int, int]]:  # fmt: skip
    """Both runtimes alive at once, each on its own API; alternate invocations between them; return each
    one's (VmHWM at its first /next, VmHWM after serving) in KiB."""
    with BenchApi() as api_a, BenchApi() as api_b:
        apis = dict(zip((c.name for c in contenders), (api_a, api_b), strict=True))
        processes: dict[str, subprocess.Popen[bytes]] = {}
        init_peaks: dict[str, int] = {}
        try:
            for contender in round_order(contenders, index):  # one after the other: no start-up contention
                processes[contender.name] = contender.start(apis[contender.name])
                if not apis[contender.name].first_next.wait(30):
                    raise TimeoutError(f"{contender.name} never called /next")
                time.sleep(0.05)  # settled in its blocking read
                init_peaks[contender.name] = _proc_kib(processes[contender.name].pid, "VmHWM")
            for _ in range(20):  # warm-up, not measured
                for name, api in apis.items():
                    check_answer(name, api.invoke(PROBE_EVENT), PROBE_EVENT)
            for turn in range(invocations):
                for contender in round_order(contenders, turn):
                    result = apis[contender.name].invoke(PROBE_EVENT)
                    check_answer(contender.name, result, PROBE_EVENT)
                    answers[contender.name].append(result.finished - result.dispatched)
            return {
                name: (init_peaks[name], _proc_kib(process.pid, "VmHWM"))
                for name, process in processes.items()
            }
        finally:
            for process in processes.values():
                end_process(process)


def _spawn_sample(contender: RootContender) -> tuple[float, float]:
    """(seconds from Popen to the first GET /next, CPU seconds the process had used by then): the CPU time
    is read once it blocks in that request (sh's share included: the bootstrap execs python3)."""
    with BenchApi() as api:
        started = time.monotonic()
        process = contender.start(api)
        try:
            if not api.first_next.wait(30):
                raise TimeoutError(f"{contender.name} never called /next")
            time.sleep(0.02)  # its request is out; let it settle in the blocking read
            return api.next_times[0] - started, cpu_seconds(process.pid)
        finally:
            end_process(process)


def awslambdaric_readings(*, quick: bool) -> RicReadings:
    contenders = awslambdaric_contenders()
    names = [c.name for c in contenders]
    for contender in contenders:  # the page cache; not measured
        _spawn_sample(contender)
    spawns: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for index in range(8 if quick else 25):
        for contender in round_order(contenders, index):
            wall, cpu = _spawn_sample(contender)
            spawns[contender.name].append(wall)
            cpus[contender.name].append(cpu)
    pairs, invocations = (2, 50) if quick else (4, 200)
    answers: dict[str, list[float]] = {name: [] for name in names}
    peaks: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for index in range(pairs):
        for name, reading in _served_pair(contenders, index, invocations, answers).items():
            peaks[name].append(reading)
    return RicReadings(
        spawn_ms={name: Spread.of(values, scale=1000) for name, values in spawns.items()},
        cpu_ms={name: Spread.of(values, scale=1000) for name, values in cpus.items()},
        init_peak_mib={name: Spread.of([i / 1024 for i, _ in values]) for name, values in peaks.items()},
        peak_mib={name: Spread.of([p / 1024 for _, p in values]) for name, values in peaks.items()},
        answer_ms={name: Spread.of(values, scale=1000) for name, values in answers.items()},
        processes=pairs,
        invocations=invocations,
        installed=task_roots.installed_distributions(contenders[1].root),
    )


def awslambdaric_section(*, quick: bool) -> Section:
    ric = awslambdaric_readings(quick=quick)
    spawn, peak = ric.spawn_ms, ric.peak_mib
    executable, version = task_roots.interpreter()
    rows = [
        Row.of("runtime spawn -> first GET /next: ours vs awslambdaric", spawn["ours"], spawn["awslambdaric"],
               "ms", target="<= 1.1x", passed=spawn["ours"].median <= 1.1 * spawn["awslambdaric"].median),
        Row.of("runtime init CPU time (user+sys, spawn -> first GET /next): ours vs awslambdaric",
               ric.cpu_ms["ours"], ric.cpu_ms["awslambdaric"], "ms"),
        Row.of(f"peak RSS (VmHWM) after {ric.invocations} invocations: ours vs awslambdaric", peak["ours"],
               peak["awslambdaric"], "MiB", target="<= 1.05x",
               passed=peak["ours"].median <= 1.05 * peak["awslambdaric"].median),
        Row.of("peak RSS (VmHWM) at the first GET /next: ours vs awslambdaric", ric.init_peak_mib["ours"],
               ric.init_peak_mib["awslambdaric"], "MiB"),
        Row.of("invocation -> buffered trivial result received: ours vs awslambdaric", ric.answer_ms["ours"],
               ric.answer_ms["awslambdaric"], "ms"),
    ]  # fmt: skip
    notes = [
        "ours = runtime/bootstrap (the shell script, then `python3 -u -m streaming_runtime`) from a task "
        "root holding only bootstrap, streaming_runtime/ and bench/trivial_handler.py, compiled as the "
        "Dockerfile compiles /var/task; awslambdaric = `python3 -m awslambdaric trivial_handler.handler`, "
        "the Lambda base image's entry point, from a task root holding the client pinned in "
        f"bench/requirements-awslambdaric.txt ({', '.join(ric.installed)}; awslambdaric's C++ "
        "runtime_client extension from its cp312 manylinux wheel, installed by `pip install --target "
        "--only-binary :all:`, byte-compiled by pip) and the same handler, compiled. awslambdaric cannot "
        "stream, so the handler returns a small dict that both post as one buffered JSON response; every "
        "answer is checked to be that JSON on POST .../response.",
        f"same interpreter ({executable}, {version}) and the same clean Lambda environment as the cold-start "
        "section (no AWS_EXECUTION_ENV, so awslambdaric polls /next on the main thread; no "
        "AWS_LAMBDA_LOG_LEVEL: both at their INFO default), cwd = the task root; both on the same local "
        "API (bench/runtime_api.py).",
        f"spawn: {spawn['ours'].count} fresh processes each after one unmeasured each, the order alternating "
        "every round; the CPU time of each (sum of its threads' schedstat run time; the bootstrap's sh is "
        "included since it execs python3 in the same process, child processes the script forks are not, "
        "so their cost shows in the wall-clock row only) is read once it blocks on that first request.",
        f"RSS and answers: {ric.processes} pairs of processes, both alive at once on their own APIs, started "
        "one after the other (which first alternates); 20 warm-up invocations each, then "
        f"{ric.invocations} rounds alternating between them; VmHWM read at the first /next and after the "
        "run; the answer time is the API's: event sent -> whole response received.",
    ]
    return Section(title="Runtime start-up: ours vs AWS's runtime interface client (awslambdaric)", rows=rows,
                   notes=notes)  # fmt: skip


def run(*, quick: bool) -> list[Section]:
    """Both runtimes, spawn test interleaved so machine noise hits both alike; then ours vs awslambdaric."""
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
    return [
        Section(title="Streaming runtime vs seed-style baseline", rows=rows, notes=notes),
        awslambdaric_section(quick=quick),
    ]
