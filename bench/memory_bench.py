"""Memory: peak RSS of the function process with the Bedrock handler, against python + a Bedrock client.

Each process runs from its task root as in the image (bench/task_roots.py) against a local Runtime API
and the stand-in process (bench/cold_contenders.py). Peak RSS is the kernel's VmHWM of the process; growth
is VmRSS after a warm-up against VmRSS after 2,000 more invocations. Processes are started one kind
after the other in alternating order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench import cold_contenders, task_roots
from bench import cold_harness as harness
from bench.proc_readings import proc_kib
from bench.processes import end_process
from bench.results import Row, Section, Spread
from bench.runtime_api import BenchApi

MIB = 1024
PROMPT = "Tell me something @stub:tokens=12"
OURS = cold_contenders.ours("image", "ours")
WARM_UP = 200
GROWTH_INVOCATIONS = 2_000


@dataclass(frozen=True, slots=True)
class Reading:
    """One function process: peak after init, peak after serving, and RSS before/after the long run."""

    init_peak_kib: int
    served_peak_kib: int
    rss_before_kib: int | None = None
    rss_after_kib: int | None = None


def measure_function(
    contender: cold_contenders.Contender,
    roots: task_roots.TaskRoots,
    bedrock_url: str,
    *,
    served: int,
    growth: int,
) -> Reading:
    """Start `contender`, read VmHWM at its first /next, serve `served` invocations, read VmHWM again; with
    `growth`, read VmRSS, serve `growth` more and read VmRSS again."""
    root = roots.root(contender.variant)
    with BenchApi() as api:
        process = harness.spawn(contender, root, api=api, bedrock_url=bedrock_url)
        try:
            if not api.first_next.wait(60):
                raise TimeoutError(f"{contender.name} never asked for an invocation")
            time.sleep(0.05)  # let the process settle in its blocking read
            init_peak = proc_kib(process.pid, "VmHWM")
            expected: bytes | None = None
            for _ in range(served):
                result = api.invoke(contender.event(PROMPT))
                body = harness.body_text(result, prelude=contender.prelude)
                expected = expected or body
                if not body or body != expected:
                    raise RuntimeError(f"{contender.name}: unexpected body {body[:200]!r}")
            served_peak = proc_kib(process.pid, "VmHWM")
            if not growth:
                return Reading(init_peak, served_peak)
            before = proc_kib(process.pid, "VmRSS")
            for _ in range(growth):
                api.invoke(contender.event(PROMPT))
            after = proc_kib(process.pid, "VmRSS")
            return Reading(init_peak, served_peak, before, after)
        finally:
            end_process(process)


def measure_floor(roots: task_roots.TaskRoots, bedrock_url: str) -> int:
    """VmHWM (KiB) of the floor (`python3 -c FLOOR_CODE`: a bedrock-runtime client), read by itself."""
    _, output = harness.floor_run(roots, code=cold_contenders.FLOOR_RSS_CODE, bedrock_url=bedrock_url)
    fields = dict(line.split(":", 1) for line in output.splitlines() if ":" in line)
    return int(fields["VmHWM"].split()[0])


def run(*, quick: bool) -> list[Section]:
    """Alternate floor, ours and the baseline; the first ours process also runs the growth test."""
    roots = task_roots.prepare()
    repeats = 2 if quick else 3
    growth = 300 if quick else GROWTH_INVOCATIONS
    floors: list[int] = []
    ours: list[Reading] = []
    seeds: list[Reading] = []
    started = time.monotonic()
    with cold_contenders.StandIn() as stand_in:
        url = stand_in.url
        for index in range(repeats):
            floors.append(measure_floor(roots, url))
            ours.append(
                measure_function(OURS, roots, url, served=WARM_UP, growth=growth if index == 0 else 0)
            )
            seeds.append(measure_function(cold_contenders.BASELINE, roots, url, served=WARM_UP, growth=0))
            floors.append(measure_floor(roots, url))
    elapsed = time.monotonic() - started

    def mib(values: list[int]) -> Spread:
        return Spread.of([value / MIB for value in values])

    floor = mib(floors)
    ours_init = mib([r.init_peak_kib for r in ours])
    ours_served = mib([r.served_peak_kib for r in ours])
    seed_served = mib([r.served_peak_kib for r in seeds])
    grown = ours[0]
    assert grown.rss_before_kib is not None and grown.rss_after_kib is not None
    growth_mib = (grown.rss_after_kib - grown.rss_before_kib) / MIB
    rows = [
        Row.of("peak RSS (VmHWM) after init: ours vs floor", ours_init, floor, "MiB", target="<= 1.15x",
               passed=ours_init.median <= 1.15 * floor.median),
        Row.of(f"peak RSS after {WARM_UP} invocations: ours vs floor", ours_served, floor, "MiB",
               target="<= 1.15x", passed=ours_served.median <= 1.15 * floor.median),
        Row.of(f"peak RSS after {WARM_UP} invocations: ours vs seed-style baseline",
               ours_served, seed_served, "MiB"),
        Row(f"RSS growth over {growth:,} invocations after {WARM_UP} warm-up ones", growth_mib, None,
            "MiB", "<= 1 MiB", growth_mib <= 1.0),
        Row("VmRSS after the growth run (ours) vs after warm-up (baseline column)",
            grown.rss_after_kib / MIB, grown.rss_before_kib / MIB, "MiB"),
    ]  # fmt: skip
    notes = [
        f"{repeats} processes of each kind, alternating (floor, ours, baseline, floor); {elapsed:.0f} s. "
        "ours = runtime/bootstrap + bedrock_handler on the image task root; floor = "
        f'`python3 -c "{cold_contenders.FLOOR_CODE}"` on the same task root, reading its own VmHWM; '
        "baseline = the seed-style bootstrap and handler on the seed-style task root, laid out as in the "
        "cold-start section (its packages byte-compiled by pip's default, as the seed's own image would "
        "have them). Same interpreter and clean environment as the cold-start section.",
        "after init = VmHWM at the process's first GET /next (handler module imported, Bedrock client "
        f"built); each invocation streams {PROMPT.split('=')[1]} deltas from the stand-in "
        "(ConverseStream for both).",
        "growth: the first ours process only; VmRSS read after the warm-up and after the growth run.",
    ]
    return [Section(title="Memory (peak RSS and growth)", rows=rows, notes=notes)]
