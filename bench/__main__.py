"""`python -m bench [--quick] [--only NAME]`: run the benchmark modules and write bench/RESULTS.md."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from bench.results import Section, load_average, render, write_results

# Each module exposes `run(*, quick: bool) -> list[Section]`; other benchmark modules are added here.
MODULES = [
    "bench.runtime_bench",
    "bench.awslambdaric_bench",
    "bench.emulator_relay_bench",
    "bench.demo_bench",
    "bench.path_bench",
    "bench.cold_start_bench",
    "bench.memory_bench",
    "bench.task_root_bench",
    "bench.openai_bench",
    "bench.lmi_bench",
    "bench.surface_bench",
    "bench.metrics_bench",
]
RESULTS_PATH = Path(__file__).with_name("RESULTS.md")


def _short_names(module: str) -> set[str]:
    """What `--only` accepts for a module: its name, and its name without `_bench` (`openai`)."""
    name = module.rsplit(".", 1)[-1]
    return {name, name.removesuffix("_bench")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="run only this module, e.g. path_bench or path (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the table")
    args = parser.parse_args(argv)
    modules = [name for name in MODULES if not args.only or _short_names(name) & set(args.only)]
    if not modules:
        parser.error(f"--only matched none of {', '.join(MODULES)}")
    sections: list[Section] = []
    load_before = load_average()
    durations: list[str] = []
    for name in modules:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        sections.extend(importlib.import_module(name).run(quick=args.quick))
        durations.append(f"{name.rsplit('.', 1)[-1]} {time.monotonic() - started:.0f} s")
    run_notes = [
        f"Run: {'--quick (fewer repetitions, a smoke run)' if args.quick else 'full'}; "
        f"{', '.join(durations)}; load average (1/5/15 min) {load_before} before, {load_average()} after.",
    ]
    write_results(sections, args.output, run_notes=run_notes)
    print(render(sections, run_notes=run_notes))
    failed = [row.metric for section in sections for row in section.rows if row.passed is False]
    if failed:
        print(f"targets missed: {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
