"""The handler with and without its metrics document: its own cost per request warm (METRICS=emf vs
METRICS=off) and the function's cold start now vs at the commit before the metrics (bddf3a0).

Warm: two workers on the image task root (bench/surface_worker.py, driven as bench/surface_warm.py drives
it), one with METRICS=off, alternating round by round; each checks once that emf writes exactly one
document per invocation and off none. Cold: the image root now vs the same root with that commit's runtime
and handler (bench/task_roots.prepare_at_commit), measured as bench/openai_cold.py measures its pair.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

from bedrock_handler.metrics import API_NATIVE, API_OPENAI, EMF_PREFIX

from bench import cold_contenders, openai_cold, task_roots
from bench import surface_requests as requests
from bench.cold_harness import round_order
from bench.surface_warm import Series, Worker

PRE_METRICS_COMMIT = "bddf3a0"  # the last commit before the handler's metrics document (252bdc0)
PRE_METRICS = "pre_metrics"
OURS = openai_cold.OURS
BEFORE = cold_contenders.ours(PRE_METRICS, f"ours before the metrics ({PRE_METRICS_COMMIT})")
KINDS = (requests.NATIVE, requests.OPENAI)  # one delta each: the fixed cost per request, where a
# per-invocation document weighs the most
EMF, OFF = "emf", "off"


def check_documents(mode: str, answer: dict[str, Any]) -> None:
    """Raise unless each kind's invocation wrote one EMF document (METRICS=emf) or nothing (off) to
    stdout, the document naming the kind's API."""
    for kind in KINDS:
        written = answer[kind]["stdout"].splitlines()
        if mode == OFF:
            if written:
                raise RuntimeError(f"METRICS=off: {kind} wrote {written[0][:200]!r}")
            continue
        if len(written) != 1 or not written[0].startswith(EMF_PREFIX):
            raise RuntimeError(f"METRICS=emf: {kind} wrote {written!r}, not one EMF document")
        api = API_NATIVE if kind == requests.NATIVE else API_OPENAI
        if json.loads(written[0]).get("Api") != api:
            raise RuntimeError(f"METRICS=emf: {kind}'s document does not name the {api} API")


@dataclass(frozen=True, slots=True)
class HandlerWarm:
    """Per mode (EMF, OFF), per kind: every invocation's µs and each round's median."""

    series: dict[str, dict[str, Series]]
    iterations: int


def measure_warm(roots: task_roots.TaskRoots, *, rounds: int, iterations: int) -> HandlerWarm:
    """Round 0 is a warm-up, not recorded; then `rounds` rounds, the two workers alternating
    (AB BA BA AB ...), each running `iterations` invocations of each kind per round."""
    built = requests.Kinds.build()
    series = {mode: {kind: Series([], []) for kind in KINDS} for mode in (EMF, OFF)}
    setup = built.setup(KINDS)
    with Worker(roots, "image", {**setup, "environ": {"METRICS": EMF}}) as on, \
            Worker(roots, "image", {**setup, "environ": {"METRICS": OFF}}) as off:  # fmt: skip
        workers = {EMF: on, OFF: off}
        for mode, worker in workers.items():
            answer = worker.ask({"op": "check", "kinds": list(KINDS)})
            for kind in KINDS:
                requests.check_reply(kind, answer[kind], built)
            check_documents(mode, answer)
        for index in range(rounds + 1):
            for mode in round_order((EMF, OFF), index):
                answer = workers[mode].measure(KINDS, iterations, index)
                if not index:
                    continue
                for kind, values in answer.items():
                    series[mode][kind].samples.extend(values)
                    series[mode][kind].round_medians.append(statistics.median(values))
    return HandlerWarm(series, iterations)


def measure_cold(
    roots: task_roots.TaskRoots, *, cold_rounds: int, cpu_rounds: int, import_rounds: int
) -> openai_cold.Samples | None:
    """Now vs PRE_METRICS_COMMIT, alternating (bench/openai_cold.measure_alternating); None when this
    checkout's history lacks that commit."""
    commit = task_roots.commit_available(PRE_METRICS_COMMIT)
    if commit is None:
        return None
    roots = task_roots.prepare_at_commit(roots, commit, PRE_METRICS)
    return openai_cold.measure_alternating(
        roots,
        (OURS, BEFORE),
        prompt=openai_cold.PROMPT,
        cold_rounds=cold_rounds,
        cpu_rounds=cpu_rounds,
        import_rounds=import_rounds,
    )
