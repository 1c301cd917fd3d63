"""Benchmark: text-only requests with the ConverseStream surface vs before it (commit 56e014a), cold and warm,
and what the opt-in paths (tools, reasoning, images) and the lazily loaded modules cost.

Cold: the image task root now vs the same root with that commit's runtime and handler, as
bench/openai_cold.py measures its pair (bench/surface_cold.py). Warm: the handler's own cost per request in
one worker process per root (bench/surface_worker.py, driven by bench/surface_warm.py), the two
alternating round by round. Run alone: `python -m bench --only surface`.
"""

from __future__ import annotations

import statistics
import sys

from bench import surface_cold, surface_warm, task_roots
from bench import surface_requests as requests
from bench.openai_path import median_ci, paired_differences
from bench.results import Row, Section, Spread, resolved

TARGET_COLD_SHARE = 0.02  # of the cold start before: about what the whole-start comparisons resolve here
TARGET_WARM_RATIO = 1.02  # now / before per request: about what the per-round ratios resolve here
NOW, BEFORE = surface_cold.OURS.name, surface_cold.BEFORE.name
TEXT_LABELS = {
    requests.NATIVE: f"native SSE, {requests.FEW} delta",
    requests.OPENAI: f"OpenAI stream, {requests.FEW} delta",
    requests.NATIVE_MANY: f"native SSE, {requests.MANY} deltas",
    requests.OPENAI_MANY: f"OpenAI stream, {requests.MANY} deltas",
}
SURFACE_LABELS = {
    requests.TOOL: "one tool definition",
    requests.REASONING: f'reasoning_effort "{requests.REASONING_EFFORT}"',
    requests.IMAGE: "one ~100 KB PNG as a data URL",
}


def _skipped(title: str) -> Section:
    return Section(title, rows=(), notes=[
        f"skipped: commit {surface_cold.SURFACE_COMMIT} (before the ConverseStream surface) is not in this "
        "checkout's git history (no git, a shallow clone or a source export)."])  # fmt: skip


def _ci_text(
    values: list[float], digits: int, unit: str = "", *, signed: bool = True
) -> tuple[str, float, float]:
    """The distribution-free 95% confidence interval of the median of `values`, as text and bounds."""
    low, high = median_ci(values)
    sign = "+" if signed else ""
    return f"95% CI of the median {low:{sign}.{digits}f} to {high:{sign}.{digits}f}{unit}", low, high


def cold_section(readings: surface_cold.ColdReadings | None) -> Section:
    title = "ConverseStream surface: cold start, text-only, before vs after"
    if readings is None:
        return _skipped(title)
    first = {name: Spread.of(values, scale=1000) for name, values in readings.first_byte.items()}
    init = {name: Spread.of(values, scale=1000) for name, values in readings.init.items()}
    cpu = {name: Spread.of(values, scale=1000) for name, values in readings.init_cpu.items()}
    first_pairs = [
        d * 1000 for d in paired_differences(readings.first_byte[NOW], readings.first_byte[BEFORE])
    ]
    cpu_pairs = [d * 1000 for d in paired_differences(readings.init_cpu[NOW], readings.init_cpu[BEFORE])]
    own = {n: Spread.of([i.own_us for i in values], scale=1e-3) for n, values in readings.imports.items()}
    app = {n: Spread.of([i.app_cumulative_us for i in values], scale=1e-3)
           for n, values in readings.imports.items()}  # fmt: skip
    first_limit = TARGET_COLD_SHARE * first[BEFORE].median
    cpu_limit = TARGET_COLD_SHARE * cpu[BEFORE].median
    first_ci, first_low, first_high = _ci_text(first_pairs, 1, " ms")
    cpu_ci, cpu_low, cpu_high = _ci_text(cpu_pairs, 1, " ms")
    added_ms = own[NOW].median - own[BEFORE].median
    modules = readings.modules
    loaded_lazy = sorted(set(modules[NOW]) & set(surface_cold.LAZY_MODULES))
    share = f"<= {TARGET_COLD_SHARE:.0%} of before"
    rows = [
        Row.of("spawn -> first byte: now vs before the surface", first[NOW], first[BEFORE], "ms"),
        Row.of(f"now - before, spawn -> first byte, per round ({first_ci})", Spread.of(first_pairs), None,
               "ms", target=f"{share} ({first_limit:.1f} ms)",
               passed=resolved(first_low, first_high, first_limit)),
        Row.of("init, spawn -> first GET /next: now vs before", init[NOW], init[BEFORE], "ms"),
        Row.of("init CPU time (user+sys, spawn -> first GET /next): now vs before", cpu[NOW], cpu[BEFORE],
               "ms"),
        Row.of(f"now - before, init CPU time, per round ({cpu_ci})", Spread.of(cpu_pairs), None, "ms",
               target=f"{share} ({cpu_limit:.1f} ms)", passed=resolved(cpu_low, cpu_high, cpu_limit)),
        Row.of("handler modules' own import (-X importtime self, app excluded): now vs before", own[NOW],
               own[BEFORE], "ms"),
        Row("added by the surface (own import, now - before) vs the cold start before (spawn -> first "
            "byte)", added_ms, first[BEFORE].median, "ms", target=f"{share} ({first_limit:.1f} ms)",
            passed=added_ms <= first_limit),
        Row("handler modules imported at init: now vs before", len(modules[NOW]), len(modules[BEFORE]),
            "count"),
        Row("lazily loaded modules among them (attachments, openai_tools, reasoning, prompt_cache, "
            "embeddings, embedding_formats, direct_event)", len(loaded_lazy), None, "count", target="0",
            passed=not loaded_lazy),
        Row.of("import bedrock_handler.app, cumulative (botocore, the client): now vs before", app[NOW],
               app[BEFORE], "ms"),
    ]  # fmt: skip
    others = {n: values[0].others for n, values in readings.imports.items()}
    extra = sorted(others[NOW] - others[BEFORE])
    added = [m.removeprefix("bedrock_handler.") for m in modules[NOW] if m not in modules[BEFORE]]
    short = ", ".join(m.removeprefix("bedrock_handler.") for m in modules[NOW])
    notes = [
        f"now = the image task root (bench/task_roots.py) with the working tree's runtime and handler; "
        f"before = the same root (packages hard-linked) with runtime/bootstrap, streaming_runtime and "
        f"bedrock_handler from `git archive {surface_cold.SURFACE_COMMIT}` (the commit before the surface), "
        f"compiled the same way. Same interpreter ({readings.roots.interpreter_version}), Lambda's "
        f'environment, stand-in and text-only event (`POST /` `{{"prompt": "{surface_cold.PROMPT}"}}`).',
        f"{len(readings.first_byte[NOW])} cold-start rounds, {len(readings.init_cpu[NOW])} init-CPU rounds "
        f"and {len(readings.imports[NOW])} import rounds, each after one unmeasured run of both, the two "
        "alternating (AB BA BA AB ...); per-round rows pair the two samples of a round. Measured as in the "
        "OpenAI layer's cold-start section (bench/cold_harness.py, `-X importtime` with the GC paused).",
        f"handler modules init imports now ({len(modules[NOW])}): {short}. New since "
        f"{surface_cold.SURFACE_COMMIT}: {', '.join(added) or 'none'}; none of the lazily loaded surface "
        "modules" + (f" except {', '.join(loaded_lazy)}" if loaded_lazy else "") + ". Other modules "
        "(botocore, the standard library): "
        + (f"now adds {', '.join(extra)}" if extra else "the same set in both")
        + ".",
        f"target: text-only requests no slower cold, read as the per-round difference's 95% confidence "
        f"interval at or under {TARGET_COLD_SHARE:.0%} of the cold start before (about the smallest "
        "difference these whole-start comparisons resolve; '-' when the interval straddles it), and the "
        "own-import difference of the medians under the same limit.",
    ]
    return Section(title, rows=rows, notes=notes)


def _per_delta(series: dict[str, surface_warm.Series], many: str, few: str) -> float:
    gap = requests.MANY - requests.FEW
    return (statistics.median(series[many].samples) - statistics.median(series[few].samples)) / gap


def warm_section(readings: surface_warm.WarmReadings, before: str | None) -> Section:
    title = "ConverseStream surface: warm handler cost per request, text-only, before vs after"
    if before is None:
        return _skipped(title)
    now_series, old_series = readings.text[surface_warm.NOW], readings.text[before]
    rows: list[Row] = []
    for kind, label in TEXT_LABELS.items():
        ratios = [n / o for n, o in zip(now_series[kind].round_medians, old_series[kind].round_medians,
                                        strict=True)]  # fmt: skip
        ci, low, high = _ci_text(ratios, 3, signed=False)
        rows += [
            Row.of(f"handler, {label}: now vs before", Spread.of(now_series[kind].samples),
                   Spread.of(old_series[kind].samples), "µs"),
            Row.of(f"now / before, {label}, per round ({ci})", Spread.of(ratios), None, "ratio",
                   target=f"<= {TARGET_WARM_RATIO:g}", passed=resolved(low, high, TARGET_WARM_RATIO)),
        ]  # fmt: skip
    for api, many, few in (("native SSE", requests.NATIVE_MANY, requests.NATIVE),
                           ("OpenAI stream", requests.OPENAI_MANY, requests.OPENAI)):  # fmt: skip
        rows.append(Row(f"handler, per delta after the first ({api}, {requests.MANY} vs {requests.FEW} "
                        "deltas): now vs before", _per_delta(now_series, many, few),
                        _per_delta(old_series, many, few), "µs"))  # fmt: skip
    rounds = len(now_series[requests.NATIVE].round_medians)
    notes = [
        "`bedrock_handler.invocation.respond` with the real `BedrockModelStream`, whose bedrock-runtime "
        "client is the only fake: it takes the ConverseStream arguments the handler built and answers at "
        "once with botocore-shaped events (messageStart, N text deltas, contentBlockStop, messageStop, "
        "metadata) from memory. Timed from the call until every body piece is encoded to UTF-8 (what the "
        "runtime sends): routing, request parsing, the Converse request, the event translation, the "
        "encoder, the deadline watchdog and the log line; no sockets. Bodies: native `POST /` "
        f'`{{"prompt": "{requests.PROMPT}"}}` with `Accept: text/event-stream`; OpenAI `POST '
        '/v1/chat/completions` `{"model", "messages": [user], "stream": true}`.',
        "each version runs in its own worker process (bench/surface_worker.py) on its own task root, the "
        "same interpreter, nothing else on its path, the collector frozen after init as the runtime leaves "
        f"it. {rounds} rounds after one warm-up round, the two workers alternating (AB BA BA AB ...); in a "
        f"round each worker runs {readings.iterations} invocations of each of the four kinds, the kinds "
        "rotating from one invocation to the next. Cells: all invocations; per-round rows: the ratio of "
        "the two workers' medians in the same round. Every reply and Converse request is checked once "
        "before timing.",
        f"per delta = (median at {requests.MANY} deltas - median at {requests.FEW}) / "
        f"{requests.MANY - requests.FEW}.",
        f"target: text-only requests no slower warm, read as the 95% confidence interval of the per-round "
        f"ratio at or under {TARGET_WARM_RATIO:g} (a {TARGET_WARM_RATIO - 1:.0%} tolerance, about what "
        "these per-round ratios resolve; '-' when the interval straddles it, **no** when all of it is "
        "over).",
    ]
    return Section(title, rows=rows, notes=notes)


def optin_section(
    readings: surface_warm.WarmReadings, lazy: list[dict[str, surface_cold.LazyImport]]
) -> Section:
    series = readings.surface
    base = series[requests.OPENAI]
    rows: list[Row] = []
    for kind, label in SURFACE_LABELS.items():
        added = paired_differences(series[kind].round_medians, base.round_medians)
        ci, _, _ = _ci_text(added, 1, " µs")
        rows += [
            Row.of(f"handler, OpenAI stream with {label} vs text-only", Spread.of(series[kind].samples),
                   Spread.of(base.samples), "µs"),
            Row.of(f"added by {label}, per round ({ci})", Spread.of(added), None, "µs"),
        ]  # fmt: skip
    for module in surface_cold.LAZY_MODULES:
        rows.append(Row.of(f"first import of {module} after init", Spread.of(
            [reading[module].seconds for reading in lazy], scale=1000), None, "ms"))  # fmt: skip
    totals = [sum(reading[m].seconds for m in surface_cold.LAZY_MODULES) for reading in lazy]
    rows.append(Row.of("first import of all six, together", Spread.of(totals, scale=1000), None, "ms"))
    others = sorted({m for reading in lazy for r in reading.values() for m in r.others})
    later = [m.removeprefix("bedrock_handler.") for m in readings.surface_modules
             if m not in readings.text_modules]  # fmt: skip
    notes = [
        "the warm section's timing in a worker of its own on the current root: "
        f"{len(base.round_medians)} rounds after one warm-up round, in each "
        f"{readings.surface_iterations} invocations of one kind in a row, then the next kind's, the "
        "order of the kinds rotating from round to round (interleaved invocation by invocation, a "
        "~136 KB image request left the allocator and the caches slowing whichever kind came next by up "
        "to 20 µs); added = the kind's round median - text-only OpenAI's in the same round. "
        f"Bodies: the text-only OpenAI body plus `tools` = one function (get_weather, one string "
        f'parameter), or `reasoning_effort: "{requests.REASONING_EFFORT}"` (the default model, Claude Haiku '
        f"4.5: a thinking budget), or the user content as a text part and an `image_url` part holding a "
        f"{readings.image_bytes:,}-byte PNG as a base64 data URL; the fake reply is one text delta. Each "
        "Converse request is checked to carry the tool, the thinking field or the image bytes.",
        "handler modules loaded by the worker after the text-only requests: "
        + (
            "the same as after init"
            if readings.text_modules == readings.init_modules
            else ", ".join(m for m in readings.text_modules if m not in readings.init_modules)
        )
        + f"; after the opt-in requests too: + {', '.join(later) or 'none'}.",
        f"lazy imports: {len(lazy)} processes on the image task root, each importing bedrock_handler.app "
        "(init) and then each module in the order listed, timed with time.perf_counter and the GC paused "
        "(so a collection cannot land in one); embeddings after embedding_formats, which it imports. "
        "Other modules they load on top of init's: " + (", ".join(others) or "none") + ". A request pays "
        "its module's import once per execution environment (embeddings at init, with "
        "EMBEDDING_MODEL_IDS).",
    ]
    return Section("ConverseStream surface: opt-in request paths and lazy imports (informational)",
                   rows=rows, notes=notes)  # fmt: skip


def run(*, quick: bool) -> list[Section]:
    """The cold-start pair, the warm text-only pair, then the opt-in paths and the lazy imports."""
    commit = task_roots.commit_available(surface_cold.SURFACE_COMMIT)
    roots = task_roots.prepare()
    before = None
    cold = None
    if commit is not None:
        roots = task_roots.prepare_at_commit(roots, commit, surface_cold.PRE_SURFACE)
        before = surface_cold.PRE_SURFACE
        cold = surface_cold.measure(roots, cold_rounds=4 if quick else 30, cpu_rounds=4 if quick else 30,
                                    import_rounds=4 if quick else 20)  # fmt: skip
    warm = surface_warm.measure(
        roots,
        before,
        rounds=4 if quick else 100,
        iterations=20 if quick else 100,
        surface_rounds=4 if quick else 60,
        surface_iterations=20 if quick else 100,
    )
    lazy = [surface_cold.lazy_imports(roots) for _ in range(3 if quick else 15)]
    return [cold_section(cold), warm_section(warm, before), optin_section(warm, lazy)]


if __name__ == "__main__":
    from bench.results import render

    print(render(run(quick="--quick" in sys.argv)))
