"""Benchmark: which CloudWatch EMF writer the function uses (ours vs aws-embedded-metrics and Powertools for
AWS Lambda's Metrics), and what its one metrics document per invocation costs, cold and warm.

Writers: each contender of bench/metrics_contenders.py in fresh function processes on its own task root
(bench/metrics_probe.py, driven by bench/metrics_rounds.py), interleaved round by round: its import and
first document, then its warm documents. The handler: METRICS=emf vs off per request warm, and the cold
start now vs the commit before the metrics (bench/metrics_handler.py). Run alone: `python -m bench --only
metrics`.
"""

from __future__ import annotations

import statistics
import sys

from bench import metrics_contenders as contenders
from bench import metrics_handler, metrics_rounds, task_roots
from bench import surface_requests as requests
from bench.metrics_rounds import Placed, ProbeReading
from bench.openai_cold import Samples
from bench.openai_path import median_ci, paired_differences
from bench.results import Row, Section, Spread, resolved

COLD_BUDGET_MS = 5.0  # what emitting metrics may add to the cold start (issue 15)
WARM_BUDGET_US = 500.0  # ... and to each warm request
OURS, BASELINE = contenders.OURS.name, contenders.BASELINE.name
Readings = dict[str, list[ProbeReading]]


def version(placed: Placed) -> str:
    """The library's installed version (from its root's .dist-info), or `this tree` for ours."""
    library = placed.contender.library
    if library is None:
        return "this tree"
    wanted = library.replace("-", "_").lower()
    for pin in placed.installed:
        name, _, found = pin.partition("==")
        if name.replace("-", "_").lower() == wanted:
            return found
    raise RuntimeError(f"{library} is not installed in {placed.root}")


def _ci(values: list[float], digits: int, unit: str) -> tuple[str, float, float]:
    low, high = median_ci(values)
    return f"95% CI of the median {low:.{digits}f} to {high:.{digits}f}{unit}", low, high


def cold_added(readings: Readings, name: str) -> list[float]:
    """Per round: the contender's import + first document minus the baseline process's (ms)."""
    return paired_differences([r.cold_ms for r in readings[name]], [r.cold_ms for r in readings[BASELINE]])


def warm_round_medians(readings: Readings, name: str) -> list[float]:
    return [statistics.median(r.warm_us) for r in readings[name]]


def meets_budgets(readings: Readings, name: str) -> tuple[bool | None, bool | None]:
    """(cold, warm): whether the 95% CIs of the writer's added cold cost and of its per-round warm medians
    sit under the budgets (None: this run cannot tell)."""
    _, cold_low, cold_high = _ci(cold_added(readings, name), 2, "")
    _, warm_low, warm_high = _ci(warm_round_medians(readings, name), 1, "")
    return resolved(cold_low, cold_high, COLD_BUDGET_MS), resolved(warm_low, warm_high, WARM_BUDGET_US)


def decision(readings: Readings) -> str:
    """The rule: a well-kept library (less code of our own to keep) when it meets both budgets, the
    cheaper of two such; otherwise our own writer, if it meets them."""
    fitting = [c.name for c in contenders.LIBRARIES if meets_budgets(readings, c.name) == (True, True)]
    if fitting:
        best = min(fitting, key=lambda name: statistics.median(cold_added(readings, name)))
        return f"use {best}: it meets both budgets"
    if meets_budgets(readings, OURS) == (True, True):
        return "keep our own writer (bedrock_handler.metrics): no library meets both budgets, ours does"
    return "undecided: neither ours nor a library is shown to meet both budgets in this run"


def writers_section(readings: Readings, placed: dict[str, Placed], warm: int) -> Section:
    ours = readings[OURS]
    rows: list[Row] = []
    for contender in contenders.LIBRARIES:
        theirs = readings[contender.name]
        label = f"{contender.label} {version(placed[contender.name])}"
        pairs = zip(
            warm_round_medians(readings, OURS), warm_round_medians(readings, contender.name), strict=True
        )
        ratios = [o / t for o, t in pairs]
        ratio_ci, _, _ = _ci(ratios, 3, "")
        cold_ours, cold_theirs = Spread.of([r.cold_ms for r in ours]), Spread.of([r.cold_ms for r in theirs])
        rows += [
            Row.of(f"import + first document in a fresh function process: ours vs {label} (theirs "
                   f"{cold_theirs.median / cold_ours.median:,.0f}x ours)", cold_ours, cold_theirs, "ms"),
            Row.of(f"warm, per document: ours vs {label} (ours / theirs per round: {ratio_ci})",
                   Spread.of([v for r in ours for v in r.warm_us]),
                   Spread.of([v for r in theirs for v in r.warm_us]), "µs"),
            Row(f"modules the writer loads on top of the runtime's: ours vs {label}", len(ours[0].modules),
                len(theirs[0].modules), "count"),
        ]  # fmt: skip
    for contender in (contenders.OURS, *contenders.LIBRARIES):
        name = contender.name
        cold_ci, cold_low, cold_high = _ci(cold_added(readings, name), 2, " ms")
        warm_ci, warm_low, warm_high = _ci(warm_round_medians(readings, name), 1, " µs")
        rows += [
            Row.of(f"{contender.label}: added to the cold start, import + first document - the baseline's, "
                   f"per round ({cold_ci})", Spread.of(cold_added(readings, name)), None, "ms",
                   target=f"<= {COLD_BUDGET_MS:g} ms",
                   passed=resolved(cold_low, cold_high, COLD_BUDGET_MS)),
            Row.of(f"{contender.label}: per warm document, per-round medians ({warm_ci})",
                   Spread.of(warm_round_medians(readings, name)), None, "µs",
                   target=f"<= {WARM_BUDGET_US:g} µs", passed=resolved(warm_low, warm_high, WARM_BUDGET_US)),
        ]  # fmt: skip
    extras = {c.label: readings[c.name][0].extras for c in contenders.LIBRARIES if readings[c.name][0].extras}
    split = ", ".join(
        f"{c.label} {statistics.median(r.import_ms for r in readings[c.name]):.2f} / "
        f"{statistics.median(r.first_ms for r in readings[c.name]):.2f} ms"
        for c in (contenders.OURS, *contenders.LIBRARIES)
    )
    libraries = "; ".join(f"{c.label}: {', '.join(placed[c.name].installed)}" for c in contenders.LIBRARIES)
    notes = [
        "Each writer emits the same document (the contract's two dimension sets FunctionName/Api/ModelId "
        f"and FunctionName, {len(contenders.METRICS)} metrics with their units, "
        f"{len(contenders.PROPERTIES)} properties) as its users write it (bench/metrics_contenders.py): ours "
        "`bedrock_handler.metrics.document` + `write`; aws-embedded-metrics' `@metric_scope` "
        "(`set_namespace`, `set_dimensions`, `put_metric`, `set_property`; flushed by the decorator to its "
        "Lambda stdout sink, chosen because AWS_LAMBDA_FUNCTION_NAME is set); Powertools' module-level "
        "`Metrics(namespace=...)` with `@metrics.log_metrics` (`add_dimension`, `add_dimensions`, "
        "`add_metric` with `MetricUnit`, `add_metadata`). Each process's first document is parsed and "
        "checked against the invocation; members a library adds on its own: "
        + ("; ".join(f"{k}: {', '.join(v)}" for k, v in extras.items()) or "none")
        + ".",
        f"Libraries pinned in bench/requirements-metrics-libs.txt, each installed into its own task root "
        f"by `pip install --target --only-binary :all:` (byte-compiled by pip): {libraries}. Ours from the "
        "image task root; the baseline (imports and writes nothing) from the `runtime` root.",
        f"{len(ours)} rounds, each one fresh process per writer and the baseline in rotating order (after "
        "one unmeasured process each): `python3 -u` with the function's environment, stdout a pipe, our "
        "runtime's modules (json, logging, socket, ...) imported first as when it loads a handler. Timed in "
        "the process (time.perf_counter_ns): the writer's import (its code run with the GC paused, as the "
        "runtime imports a handler) and its first document to the pipe; then "
        f"{metrics_rounds.WARM_UP} unrecorded and {warm} timed documents, one by one, to /dev/null "
        "through a write-through stream (each write a system call, as under `python3 -u`). Medians of "
        f"the import / the first document: {split}.",
        f"Budgets: metrics may add <= {COLD_BUDGET_MS:g} ms to the cold start and <= "
        f"{WARM_BUDGET_US:g} µs per warm request, read on the 95% confidence interval of the median "
        "('-' when it straddles the budget). Ratios: ours / the library. Decision rule: a well-kept library "
        "when it meets both budgets (the cheaper of two), else our own writer. This run: "
        f"{decision(readings)}.",
    ]
    return Section("Metrics: which EMF writer (ours vs aws-embedded-metrics and Powertools)", rows, notes)


def _handler_warm_rows(warm: metrics_handler.HandlerWarm) -> list[Row]:
    rows: list[Row] = []
    on, off = warm.series[metrics_handler.EMF], warm.series[metrics_handler.OFF]
    for kind, label in ((requests.NATIVE, "native SSE"), (requests.OPENAI, "OpenAI stream")):
        added = paired_differences(on[kind].round_medians, off[kind].round_medians)
        ci, low, high = _ci(added, 1, " µs")
        rows += [
            Row.of(f"handler, {label}, 1 delta: METRICS=emf vs off", Spread.of(on[kind].samples),
                   Spread.of(off[kind].samples), "µs"),
            Row.of(f"added by the metrics document, {label}, per round ({ci})", Spread.of(added), None, "µs",
                   target=f"<= {WARM_BUDGET_US:g} µs", passed=resolved(low, high, WARM_BUDGET_US)),
        ]  # fmt: skip
    return rows


def _handler_cold_rows(cold: Samples) -> list[Row]:
    now, before = metrics_handler.OURS.name, metrics_handler.BEFORE.name
    own = {n: Spread.of([i.own_us for i in values], scale=1e-3) for n, values in cold.imports.items()}
    first = {n: Spread.of(values, scale=1000) for n, values in cold.first_byte.items()}
    first_pairs = [d * 1000 for d in paired_differences(cold.first_byte[now], cold.first_byte[before])]
    cpu_pairs = [d * 1000 for d in paired_differences(cold.init_cpu[now], cold.init_cpu[before])]
    first_ci, first_low, first_high = _ci(first_pairs, 1, " ms")
    cpu_ci, cpu_low, cpu_high = _ci(cpu_pairs, 1, " ms")
    added = own[now].median - own[before].median
    budget = f"<= {COLD_BUDGET_MS:g} ms"
    return [
        Row.of("handler modules' own import (-X importtime self, app excluded): now vs before the metrics",
               own[now], own[before], "ms"),
        Row("added by the metrics at init (own import, now - before)", added, None, "ms", target=budget,
            passed=added <= COLD_BUDGET_MS),
        Row.of("cold start, spawn -> first byte: now vs before the metrics", first[now], first[before], "ms"),
        Row.of(f"now - before, spawn -> first byte, per round ({first_ci})", Spread.of(first_pairs), None,
               "ms", target=budget, passed=resolved(first_low, first_high, COLD_BUDGET_MS)),
        Row.of(f"now - before, init CPU time, per round ({cpu_ci})", Spread.of(cpu_pairs), None, "ms",
               target=budget, passed=resolved(cpu_low, cpu_high, COLD_BUDGET_MS)),
    ]  # fmt: skip


def handler_section(warm: metrics_handler.HandlerWarm, cold: Samples | None) -> Section:
    rows = _handler_warm_rows(warm)
    commit = metrics_handler.PRE_METRICS_COMMIT
    if cold is not None:
        rows += _handler_cold_rows(cold)
    rounds = len(warm.series[metrics_handler.EMF][requests.NATIVE].round_medians)
    notes = [
        "warm: `bedrock_handler.invocation.respond` as bench/surface_worker.py times it (the real "
        "BedrockModelStream over a fake client answering one text delta from memory), in two worker "
        "processes on the image task root, METRICS=emf and METRICS=off, the document going to /dev/null "
        f"through a write-through stream; {rounds} rounds after a warm-up round, the two alternating (AB BA "
        f"BA AB ...), {warm.iterations} invocations of each kind per round, kinds interleaved. Checked once: "
        "emf writes exactly one EMF document per invocation naming its API, off none. Per-round rows: the "
        "difference of the two workers' medians in the same round.",
        (f"cold: the image task root now vs the same root with runtime/ and bedrock_handler/ from `git "
         f"archive {commit}` (the commit before the metrics), METRICS unset (emf, the default); "
         f"{len(cold.first_byte[metrics_handler.OURS.name])} cold-start, "
         f"{len(cold.init_cpu[metrics_handler.OURS.name])} init-CPU and "
         f"{len(cold.imports[metrics_handler.OURS.name])} import rounds, alternating, measured as the "
         "OpenAI layer's cold-start section (bench/openai_cold.py). The first document is written after "
         "the last body byte, so spawn -> first byte holds only the import; the writers section times the "
         "first document itself.") if cold is not None else
        f"cold: skipped, commit {commit} (before the metrics) is not in this checkout's git history.",
    ]  # fmt: skip
    return Section("Metrics: the handler with and without its document (METRICS=emf vs off; now vs "
                   f"{commit})", rows, notes)  # fmt: skip


def run(*, quick: bool) -> list[Section]:
    """The writers in fresh processes, then the handler warm (emf vs off) and cold (now vs before)."""
    roots = task_roots.prepare()
    placed = metrics_rounds.place(roots)
    warm_docs = 200 if quick else 1000
    readings = metrics_rounds.measure(placed, roots.interpreter, rounds=4 if quick else 30, warm=warm_docs)
    handler_warm = metrics_handler.measure_warm(roots, rounds=4 if quick else 60,
                                                iterations=20 if quick else 200)  # fmt: skip
    cold = metrics_handler.measure_cold(roots, cold_rounds=3 if quick else 12, cpu_rounds=3 if quick else 15,
                                        import_rounds=3 if quick else 15)  # fmt: skip
    return [writers_section(readings, placed, warm_docs), handler_section(handler_warm, cold)]


if __name__ == "__main__":
    from bench.results import render

    print(render(run(quick="--quick" in sys.argv)))
