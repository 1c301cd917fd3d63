"""The shared results table: benchmark modules return sections, this module renders bench/RESULTS.md."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Row:
    """One measured metric: ours vs the baseline, the ratio and the target it must meet."""

    metric: str
    ours: float
    baseline: float | None
    unit: str
    target: str = ""
    passed: bool | None = None

    @property
    def ratio(self) -> float | None:
        """ours / baseline, when there is a baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.ours / self.baseline


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
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def render(sections: Sequence[Section]) -> str:
    """The whole RESULTS.md text."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench` on {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
        f"Python {platform.python_version()}, {platform.machine()}. Medians unless stated otherwise.",
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
            lines.append(
                f"| {row.metric} | {_number(row.ours, row.unit)} | {_number(row.baseline, row.unit)} | "
                f"{row.unit} | {ratio} | {row.target} | {met} |"
            )
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
        lines.append("")
    return "\n".join(lines)


def write_results(sections: Sequence[Section], path: Path) -> None:
    """Write the rendered table to `path`."""
    path.write_text(render(sections), encoding="utf-8")
