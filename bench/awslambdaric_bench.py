"""Runtime start-up: ours vs AWS's runtime interface client (awslambdaric), each with a trivial handler.

Both run from their own task root (bench/task_roots.py: `runtime` and `awslambdaric`) with Lambda's clean
environment against the same local Runtime API: spawn -> first GET /next and its CPU time, peak RSS, and
the time to answer a buffered invocation, every answer checked.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import task_roots
from bench.cold_contenders import function_env
from bench.cold_harness import round_order
from bench.image_build import interpreter
from bench.proc_readings import cpu_seconds, proc_kib
from bench.processes import end_process
from bench.results import Row, Section, Spread
from bench.runtime_api import BenchApi, Result

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
    """Both runtimes' readings by name (spawn, init CPU, peaks, answer times) and the run's sizes."""

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
                init_peaks[contender.name] = proc_kib(processes[contender.name].pid, "VmHWM")
            for _ in range(20):  # warm-up, not measured
                for name, api in apis.items():
                    check_answer(name, api.invoke(PROBE_EVENT), PROBE_EVENT)
            for turn in range(invocations):
                for contender in round_order(contenders, turn):
                    result = apis[contender.name].invoke(PROBE_EVENT)
                    check_answer(contender.name, result, PROBE_EVENT)
                    answers[contender.name].append(result.finished - result.dispatched)
            return {
                name: (init_peaks[name], proc_kib(process.pid, "VmHWM"))
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
    executable, version = interpreter()
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
    """Ours vs awslambdaric: spawns in alternating order, then pairs of processes serving in turn."""
    return [awslambdaric_section(quick=quick)]
