"""The handler's per-request cost with and without the ConverseStream surface: one worker process per task
root (bench/surface_worker.py), driven round by round from here.

Text-only native and OpenAI requests run in the image root now and in the root at the commit before the
surface, the two workers alternating round by round (AB BA BA AB ...); then the opt-in requests (one tool,
reasoning_effort, one PNG) run in another worker on the current root against text-only OpenAI in the same
rounds.
Each worker checks every kind's reply and Converse request once before it is timed.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from bench import surface_requests as requests
from bench.cold_harness import round_order
from bench.processes import end_process
from bench.task_roots import TaskRoots

WORKER = Path(__file__).with_name("surface_worker.py")
NOW = "now"


class Worker:
    """bench/surface_worker.py on one task root, with the task root's interpreter and nothing else on its
    path (`-P`: not even the script's folder)."""

    def __init__(self, roots: TaskRoots, variant: str, setup: dict[str, Any]) -> None:
        self.variant = variant
        root = roots.root(variant)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(root),
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}  # fmt: skip
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [str(roots.interpreter), "-P", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=root,
            env=env,
            text=True,
        )
        try:
            ready = self.ask(setup)
            if not Path(ready["handler"]).is_relative_to(root):
                raise RuntimeError(f"{variant}: the worker imported the handler from {ready['handler']}")
        except BaseException:
            self.close()
            raise
        self.init_modules: list[str] = ready["modules"]

    def ask(self, command: dict[str, Any]) -> Any:
        """Send one command; its answer (the worker's error output when it died instead)."""
        assert self._process.stdin is not None and self._process.stdout is not None
        try:
            self._process.stdin.write(json.dumps(command) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._log.seek(0)
            error = self._log.read().decode(errors="replace").strip()[-1000:]
            raise RuntimeError(f"the {self.variant} worker failed: {error}")
        return json.loads(line)

    def measure(
        self, kinds: tuple[str, ...], iterations: int, index: int, *, blocks: bool = False
    ) -> dict[str, list[float]]:
        """Round `index`: per kind, the microseconds of each of its `iterations` invocations."""
        command = {"op": "measure", "kinds": list(kinds), "iterations": iterations, "round": index}
        answer: dict[str, list[float]] = self.ask({**command, "blocks": blocks})
        return answer

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        end_process(self._process, grace_s=5, polite=None)
        self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Series:
    """One kind's samples: every invocation (µs) and each round's median."""

    samples: list[float]
    round_medians: list[float]


def _empty(names: tuple[str, ...]) -> dict[str, Series]:
    return {name: Series([], []) for name in names}


def _add(series: dict[str, Series], answer: dict[str, list[float]]) -> None:
    for kind, values in answer.items():
        series[kind].samples.extend(values)
        series[kind].round_medians.append(statistics.median(values))


@dataclass(frozen=True, slots=True)
class WarmReadings:
    """Per version (NOW or the commit's variant), per text kind; the opt-in kinds (NOW only); which handler
    modules the current worker had loaded after init, after the text-only requests and after the rest."""

    text: dict[str, dict[str, Series]]
    surface: dict[str, Series]
    init_modules: list[str]
    text_modules: list[str]
    surface_modules: list[str]
    image_bytes: int
    iterations: int
    surface_iterations: int


def _checked(worker: Worker, kinds: tuple[str, ...], built: requests.Kinds) -> dict[str, Any]:
    answer: dict[str, Any] = worker.ask({"op": "check", "kinds": list(kinds)})
    for kind in kinds:
        requests.check_reply(kind, answer[kind], built)
    return answer


def measure(
    roots: TaskRoots,
    before: str | None,
    *,
    rounds: int,
    iterations: int,
    surface_rounds: int,
    surface_iterations: int,
) -> WarmReadings:
    """Round 0 of each phase is a warm-up, not recorded. Without `before` (no commit to compare with), only
    the opt-in phase runs (the text kinds then hold no samples)."""
    built = requests.Kinds.build()
    kinds = requests.TEXT_KINDS
    versions = (NOW,) if before is None else (NOW, before)
    text = {version: _empty(kinds) for version in versions}
    with Worker(roots, "image", built.setup(kinds)) as now:
        init_modules = now.init_modules
        text_modules = _checked(now, kinds, built)[kinds[-1]]["modules"]
        if before is not None:
            with Worker(roots, before, built.setup(kinds)) as old:
                _checked(old, kinds, built)
                workers = {NOW: now, before: old}
                for index in range(rounds + 1):
                    for version in round_order(versions, index):
                        answer = workers[version].measure(kinds, iterations, index)
                        if index:
                            _add(text[version], answer)
    # A worker of its own, each kind's invocations in a row: a ~136 KB request leaves the allocator and
    # the caches in another state, which would otherwise land on whichever kind follows it.
    surface = _empty(requests.SURFACE_KINDS)
    with Worker(roots, "image", built.setup(requests.SURFACE_KINDS)) as now:
        surface_modules = _checked(now, requests.SURFACE_KINDS, built)[requests.IMAGE]["modules"]
        for index in range(surface_rounds + 1):
            answer = now.measure(requests.SURFACE_KINDS, surface_iterations, index, blocks=True)
            if index:
                _add(surface, answer)
    return WarmReadings(text, surface, init_modules, text_modules, surface_modules, len(built.image),
                        iterations, surface_iterations)  # fmt: skip
