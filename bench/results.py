"""The shared results table: benchmark modules return sections, this module renders bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Spread:
    """Repeated measurements summarised: the median and the range around it."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float], *, scale: float = 1.0) -> Spread:
        """Median, min and max of `values` (each multiplied by `scale`, e.g. 1000 for s -> ms)."""
        if not values:
            raise ValueError("no samples to summarise")
        scaled = [value * scale for value in values]
        return cls(statistics.median(scaled), min(scaled), max(scaled), len(scaled))


@dataclass(frozen=True, slots=True)
class Row:
    """One measured metric: ours vs the baseline, the ratio and the target it must meet.

    `ours_range`/`baseline_range` are the (min, max) of the samples the median came from, when the
    figure is a median; build such rows with `Row.of`.
    """

    metric: str
    ours: float
    baseline: float | None
    unit: str
    target: str = ""
    passed: bool | None = None
    ours_range: tuple[float, float] | None = None
    baseline_range: tuple[float, float] | None = None

    @classmethod
    def of(
        cls,
        metric: str,
        ours: Spread,
        baseline: Spread | None,
        unit: str,
        *,
        target: str = "",
        passed: bool | None = None,
    ) -> Row:
        """A row of medians with their min-max ranges."""
        return cls(
            metric=metric,
            ours=ours.median,
            baseline=None if baseline is None else baseline.median,
            unit=unit,
            target=target,
            passed=passed,
            ours_range=(ours.low, ours.high),
            baseline_range=None if baseline is None else (baseline.low, baseline.high),
        )

    @property
    def ratio(self) -> float | None:
        """ours / baseline (of the medians), when there is a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


def resolved(low: float, high: float, limit: float) -> bool | None:
    """A verdict only when the confidence interval settles it: True if all of it is at or under `limit`,
    False if all of it is over, None (shown as -) when this run cannot tell."""
    if high <= limit:
        return True
    return False if low > limit else None


@dataclass(frozen=True, slots=True)
class Section:
    """A titled table of rows plus free-text notes (method, sample sizes)."""

    title: str
    rows: Sequence[Row]
    notes: Sequence[str] = field(default_factory=tuple)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("chunks", "invocations", "count"):
        return f"{value:,.0f}"
    if abs(value) < 1:
        return f"{value:.3f}"
    if abs(value) < 10:
        return f"{value:,.2f}"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


def _cell(value: float | None, spread: tuple[float, float] | None, unit: str) -> str:
    text = _number(value, unit)
    if spread is not None:
        text += f" ({_number(spread[0], unit)}–{_number(spread[1], unit)})"
    return text


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def machine_description() -> str:
    """CPU model and count, memory, OS, Python: what the absolute figures depend on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    memory = f", {mem_kib / 1024 / 1024:.1f} GiB RAM" if mem_kib else ""
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs{memory}; {platform.system()} {platform.release()} "
        f"({platform.machine()}); Python {platform.python_version()}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages (other work on a shared machine skews absolute times)."""
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def render(sections: Sequence[Section], *, run_notes: Sequence[str] = ()) -> str:
    """The whole RESULTS.md text."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench` on {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.",
        "",
        f"- Machine: {machine_description()}.",
        *[f"- {note}" for note in run_notes],
        "- Cells read `median (min–max)` over the repeated samples; a ratio is ours / baseline of the "
        "medians, both measured side by side in the same run. Absolute times vary with the machine's "
        "load; compare ratios.",
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [
            "| metric | ours | baseline | unit | ratio | target | met |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in section.rows:
            ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
            met = {True: "yes", False: "**no**", None: "-"}[row.passed]
            ours = _cell(row.ours, row.ours_range, row.unit)
            baseline = _cell(row.baseline, row.baseline_range, row.unit)
            lines.append(
                f"| {row.metric} | {ours} | {baseline} | {row.unit} | {ratio} | {row.target} | {met} |"
            )
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
    return "\n".join(lines)


def write_results(sections: Sequence[Section], path: Path, *, run_notes: Sequence[str] = ()) -> None:
    """Write the rendered table to `path`."""
    path.write_text(render(sections, run_notes=run_notes), encoding="utf-8")
