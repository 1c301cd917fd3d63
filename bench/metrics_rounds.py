"""Runs the metrics benchmark's probe processes (bench/metrics_probe.py): every contender of
bench/metrics_contenders.py in fresh processes on its own task root, round by round in rotating order,
each process's first document checked.

Where each contender runs: ours from the image task root (bedrock_handler as the Dockerfile lays it out),
each library from its own root (bench/task_roots.prepare_metrics_library) with the `runtime` root (our
runtime alone) after it on PYTHONPATH, the baseline from the `runtime` root. The same interpreter (the
task roots'), the function's environment (bench/cold_contenders.function_env: AWS_LAMBDA_FUNCTION_NAME
set, so aws-embedded-metrics picks its Lambda stdout sink), cwd = the root, stdout a pipe read here.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench import metrics_contenders as contenders
from bench import task_roots
from bench.cold_contenders import function_env
from bench.cold_harness import round_order

PROBE = Path(__file__).with_name("metrics_probe.py")
WARM_UP = 50  # warm documents of each process not recorded (the first calls after the first document)


@dataclass(frozen=True, slots=True)
class Placed:
    """A contender and where it runs: the root it starts in (cwd), its PYTHONPATH, what that root holds."""

    contender: contenders.Contender
    root: Path
    pythonpath: str
    installed: tuple[str, ...]  # name==version of the library's root ((): ours and the baseline)


def place(roots: task_roots.TaskRoots) -> dict[str, Placed]:
    """Every contender of metrics_contenders.ALL with its root; the libraries' roots are installed on the
    first run (InstallError when pip cannot)."""
    runtime_root = roots.root("runtime")
    placed = {
        contenders.BASELINE.name: Placed(contenders.BASELINE, runtime_root, str(runtime_root), ()),
        contenders.OURS.name: Placed(contenders.OURS, roots.root("image"), str(roots.root("image")), ()),
    }
    for contender in contenders.LIBRARIES:
        assert contender.library is not None
        root = task_roots.prepare_metrics_library(roots, contender.library)
        placed[contender.name] = Placed(contender, root, os.pathsep.join((str(root), str(runtime_root))),
                                        task_roots.installed_distributions(root))  # fmt: skip
    return placed


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """One fresh process: its import, first document and warm documents (after WARM_UP), the modules the
    contender loaded and the extra members its document carried."""

    import_ms: float
    first_ms: float
    warm_us: list[float]
    modules: tuple[str, ...]
    extras: tuple[str, ...]

    @property
    def cold_ms(self) -> float:
        """What the contender adds to a cold start: its import and its first document."""
        return self.import_ms + self.first_ms


def probe(placed: Placed, interpreter: Path, *, warm: int) -> ProbeReading:
    """One probe process for `placed`, its first document checked (the baseline must write none)."""
    spec = {"setup": placed.contender.setup, "invocation": contenders.invocation(), "warm": WARM_UP + warm}
    env = function_env(root=placed.root, handler="-", api="127.0.0.1:9", bedrock_url="http://127.0.0.1:9")
    env["PYTHONPATH"] = placed.pythonpath
    done = subprocess.run(
        [str(interpreter), "-u", "-P", str(PROBE), json.dumps(spec)],
        env=env,
        cwd=placed.root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    name = placed.contender.name
    if done.returncode != 0:
        raise RuntimeError(f"the {name} probe failed: {done.stderr.strip()[-1000:]}")
    *written, last = done.stdout.splitlines() or [""]
    readings = json.loads(last)
    extras: tuple[str, ...] = ()
    if placed.contender.writes:
        if len(written) != 1:
            raise contenders.DocumentMismatchError(f"{name} wrote {len(written)} lines, not one document")
        extras = contenders.check_document(written[0])
    elif written:
        raise contenders.DocumentMismatchError(f"{name} wrote {written[:1]!r}, expected nothing")
    return ProbeReading(
        import_ms=readings["import_ns"] / 1e6,
        first_ms=readings["first_ns"] / 1e6,
        warm_us=[value / 1e3 for value in readings["warm_ns"][WARM_UP:]],
        modules=tuple(readings["modules"]),
        extras=extras,
    )


def measure(
    placed: dict[str, Placed], interpreter: Path, *, rounds: int, warm: int
) -> dict[str, list[ProbeReading]]:
    """One unmeasured process of each (the page cache), then `rounds` rounds of one process of each, the
    order rotating and reversing from round to round (bench/cold_harness.round_order)."""
    names = list(placed)
    for name in names:
        probe(placed[name], interpreter, warm=warm)
    readings: dict[str, list[ProbeReading]] = {name: [] for name in names}
    for index in range(rounds):
        for name in round_order(names, index):
            readings[name].append(probe(placed[name], interpreter, warm=warm))
    return readings
