"""Cold start: process spawn to the first body byte at the client, ours vs the seed-style baseline and floor.

Each sample spawns a fresh function process from a task root laid out as in the image
(bench/task_roots.py) with one invocation already queued on a local Runtime API
(bench/runtime_api.py); the clock stops when the API receives the first chunk of response body (after
our streaming prelude). The handler calls the offline Bedrock stand-in, which runs as its own process.
Rounds interleave the contenders in a rotating order, so the machine's noise hits each alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench import cold_harness as harness
from bench import task_roots
from bench.results import Row, Section, Spread

PROMPT = "Say hello @stub:tokens=4"
OURS = harness.ours("image", "ours")
OURS_NOPYC = harness.ours("nopyc", "ours, no .pyc")
OURS_FULL = harness.ours("full", "ours, botocore/data not pruned")
FLOOR_EXIT = "floor, spawn -> exit"
FLOOR_READY = "floor, spawn -> client created"
_READY_CODE = harness.FLOOR_CODE + "; import time; print(repr(time.monotonic()))"


def _floor_ready(roots: task_roots.TaskRoots, bedrock_url: str) -> float:
    """Spawn -> the moment the floor's client exists (its own CLOCK_MONOTONIC stamp; no exit cost)."""
    started = time.monotonic()
    _, output = harness.floor_run(roots, code=_READY_CODE, bedrock_url=bedrock_url)
    return float(output.strip()) - started


_CPU_CODE = harness.FLOOR_CODE + "; import time; print(repr(time.process_time()))"


def _cpu_rounds(
    roots: task_roots.TaskRoots, url: str, contenders: tuple[harness.Contender, ...], rounds: int
) -> dict[str, Spread]:
    """Init CPU time of each contender and of the floor (its own process time once the client exists)."""
    cpu: dict[str, list[float]] = {name: [] for name in [c.name for c in contenders] + [FLOOR_READY]}
    for index in range(rounds):
        order = [*contenders, None]
        shift = index % len(order)
        for contender in order[shift:] + order[:shift]:
            if contender is None:
                _, output = harness.floor_run(roots, code=_CPU_CODE, bedrock_url=url)
                cpu[FLOOR_READY].append(float(output.strip()))
            else:
                cpu[contender.name].append(harness.init_cpu(contender, roots, bedrock_url=url))
    return {name: Spread.of(values, scale=1000) for name, values in cpu.items()}


def run(*, quick: bool) -> list[Section]:
    """Every contender once per round, the order rotating; one unmeasured round first (page cache)."""
    roots = task_roots.prepare()
    origins = harness.module_origins(roots, "seed", ("boto3", "botocore", "requests"))
    leaks = {name: path for name, path in origins.items() if not path.startswith(str(roots.root("seed")))}
    if leaks:
        raise RuntimeError(f"modules imported from outside the task root: {leaks}")
    contenders = (OURS, harness.BASELINE, OURS_NOPYC, OURS_FULL)
    totals: dict[str, list[float]] = {
        name: [] for name in [c.name for c in contenders] + [FLOOR_EXIT, FLOOR_READY]
    }
    inits: dict[str, list[float]] = {c.name: [] for c in contenders}
    first_calls: dict[str, list[float]] = {c.name: [] for c in contenders}
    with harness.StandIn() as stand_in:
        url = stand_in.url

        def sample(contender: harness.Contender) -> Callable[[bool], None]:
            def measure(record: bool) -> None:
                cold = harness.cold_start(contender, roots, bedrock_url=url, prompt=PROMPT)
                if not cold.body:
                    raise RuntimeError(f"{contender.name}: empty response body")
                if record:
                    totals[contender.name].append(cold.seconds)
                    inits[contender.name].append(cold.init_s)
                    first_calls[contender.name].append(cold.first_call_s)

            return measure

        def floor_exit(record: bool) -> None:
            seconds, _ = harness.floor_run(roots, bedrock_url=url)
            if record:
                totals[FLOOR_EXIT].append(seconds)

        def floor_ready(record: bool) -> None:
            seconds = _floor_ready(roots, url)
            if record:
                totals[FLOOR_READY].append(seconds)

        steps = [sample(c) for c in contenders] + [floor_exit, floor_ready]
        for step in steps:
            step(False)
        rounds = 4 if quick else 12
        for index in range(rounds):
            shift = index % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step(True)

        cpu_rounds = 3 if quick else 8
        cpu = _cpu_rounds(roots, url, contenders, cpu_rounds)

    ms = {name: Spread.of(values, scale=1000) for name, values in totals.items()}
    init_ms = {name: Spread.of(values, scale=1000) for name, values in inits.items()}
    call_ms = {name: Spread.of(values, scale=1000) for name, values in first_calls.items()}
    ours, base = ms[OURS.name], ms[harness.BASELINE.name]
    rows = [
        Row.of("spawn -> first byte: ours vs seed-style baseline", ours, base, "ms", target="<= 0.8x",
               passed=ours.median <= 0.8 * base.median),
        Row.of("spawn -> first byte: ours vs floor (spawn -> exit)", ours, ms[FLOOR_EXIT], "ms",
               target="<= 1.3x", passed=ours.median <= 1.3 * ms[FLOOR_EXIT].median),
        Row.of("spawn -> first byte: ours vs floor (spawn -> client created)", ours, ms[FLOOR_READY], "ms",
               target="<= 1.3x", passed=ours.median <= 1.3 * ms[FLOOR_READY].median),
        Row.of("init, spawn -> first GET /next: ours vs baseline", init_ms[OURS.name],
               init_ms[harness.BASELINE.name], "ms"),
        Row.of("first invocation, event -> first byte: ours vs baseline", call_ms[OURS.name],
               call_ms[harness.BASELINE.name], "ms"),
        Row.of("spawn -> first byte: ours vs ours without .pyc (compile step)", ours, ms[OURS_NOPYC.name],
               "ms", target="< 1.0x", passed=ours.median < ms[OURS_NOPYC.name].median),
        Row.of("spawn -> first byte: ours (botocore/data pruned) vs not pruned", ours, ms[OURS_FULL.name],
               "ms", target="< 1.0x", passed=ours.median < ms[OURS_FULL.name].median),
        Row.of("init CPU time (user+sys, spawn -> first GET /next): ours vs baseline", cpu[OURS.name],
               cpu[harness.BASELINE.name], "ms", target="<= 0.8x",
               passed=cpu[OURS.name].median <= 0.8 * cpu[harness.BASELINE.name].median),
        Row.of("init CPU time: ours vs floor (its CPU time once the client exists)", cpu[OURS.name],
               cpu[FLOOR_READY], "ms", target="<= 1.3x",
               passed=cpu[OURS.name].median <= 1.3 * cpu[FLOOR_READY].median),
        Row.of("init CPU time: ours vs ours without .pyc", cpu[OURS.name], cpu[OURS_NOPYC.name], "ms"),
        Row.of("init CPU time: ours (pruned) vs not pruned", cpu[OURS.name], cpu[OURS_FULL.name], "ms"),
    ]  # fmt: skip
    notes = [
        f"{rounds} rounds after one unmeasured round; each round runs every contender once in a rotating "
        f"order; cells are medians (min–max) over the rounds. Interpreter: {roots.interpreter} "
        f"({roots.interpreter_version}; the image's is python3.12) with a clean environment (only Lambda's "
        "variables, PYTHONDONTWRITEBYTECODE=1, PYTHONNOUSERSITE=1; no PYTHON* or venv variables), cwd = "
        f"the task root; boto3/botocore/requests checked to import from the task root.",
        "ours = runtime/bootstrap + bedrock_handler (ConverseStream, defaults) in the image layout "
        "(pip install -r runtime/requirements.txt --target, botocore/data pruned as the Dockerfile "
        "prunes it, the runtime copied, compileall); baseline = "
        "bench/baseline_bootstrap.py + bench/seed_handler.py (boto3 client at import, "
        "ConverseStream, text bytes yielded) with requests in its task root and no .pyc; floor = "
        f'`python3 -c "{harness.FLOOR_CODE}"` on ours\' task root.',
        "first byte = the first response-body chunk received by the Runtime API (bench/runtime_api.py), the "
        "invocation queued before the spawn; the handler calls the stand-in (`python -m emulator "
        "bedrock-stub`, its own process) with dummy credentials through AWS_ENDPOINT_URL_BEDROCK_RUNTIME.",
        "floor, spawn -> exit is the issue's command timed to its exit (interpreter teardown included); "
        "floor, spawn -> client created stops at the floor's own CLOCK_MONOTONIC stamp once the client "
        "exists (no teardown, no Bedrock call): the stricter reference.",
        f"init CPU time: {cpu_rounds} rounds, rotating order; each contender is spawned with no invocation "
        "waiting and its CPU time (sum of its threads' schedstat run time) read once it blocks on its first "
        "GET /next; the floor prints its own time.process_time() once the client exists. CPU time hardly "
        "moves with other work on the machine, so these rows check the wall-clock ones under noise.",
        f"task roots: bench/out/.task_roots/{roots.cache_key}/ "
        f"({'reused from the cache' if roots.cached else 'laid out in this run'}).",
    ]
    return [Section(title="Cold start (spawn -> first byte, invocation waiting)", rows=rows, notes=notes)]
