"""Cold start of a text-only request with and without the ConverseStream surface: the image's task root as
it is now vs the same root with the runtime and handler of the commit before the surface
(bench/task_roots.prepare_at_commit), measured as bench/openai_cold.py measures its pair; plus which
handler modules init imports, and what first importing each lazily loaded surface module costs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from bench import cold_contenders, openai_cold, task_roots
from bench import cold_harness as harness

SURFACE_COMMIT = "56e014a"  # the last commit before the ConverseStream surface (issue 13)
PRE_SURFACE = "pre_surface"
PROMPT = openai_cold.PROMPT  # a text-only request both handlers answer
OURS = openai_cold.OURS
BEFORE = cold_contenders.ours(PRE_SURFACE, f"ours before the ConverseStream surface ({SURFACE_COMMIT})")
# Loaded on first use only (by a request that uses them, or at init with EMBEDDING_MODEL_IDS), in the order
# they are timed: embedding_formats before embeddings, which imports it.
LAZY_MODULES = tuple(
    f"{openai_cold.HANDLER_PACKAGE}.{name}"
    for name in (
        "attachments",
        "openai_tools",
        "reasoning",
        "prompt_cache",
        "embedding_formats",
        "embeddings",
    )
)
_PLACEHOLDER_URL = "http://127.0.0.1:9"  # the client is built at import, never called

_MODULES_CODE = (
    "import json, sys; import bedrock_handler.app; "
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'bedrock_handler')))"
)
# The runtime imports the handler with the GC paused; each lazy import is timed the same way (a collection
# landing inside one would add ~1 ms of unrelated work), and lists the other modules it loads with it.
_LAZY_CODE = """\
import gc, json, sys, time
gc.disable()
import bedrock_handler.app
readings = {}
for name in sys.argv[1:]:
    loaded = set(sys.modules)
    started = time.perf_counter()
    __import__(name)
    seconds = time.perf_counter() - started
    new = sorted(m for m in set(sys.modules) - loaded if m.split('.')[0] != 'bedrock_handler')
    readings[name] = [seconds, new]
print(json.dumps(readings))
"""


def _run_in_root(roots: task_roots.TaskRoots, variant: str, code: str, *args: str) -> str:
    """`python3 -c code args` in the task root with Lambda's environment; its stdout."""
    root = roots.root(variant)
    env = cold_contenders.function_env(
        root=root,
        handler=f"{openai_cold.APP_MODULE}.handler",
        api="127.0.0.1:9",
        bedrock_url=_PLACEHOLDER_URL,
    )
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        [str(roots.interpreter), "-c", code, *args],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant}: {done.stderr.strip()[-500:]}")
    return done.stdout


def init_modules(roots: task_roots.TaskRoots, variant: str) -> tuple[str, ...]:
    """The handler modules importing bedrock_handler.app loads (what init imports)."""
    names: list[str] = json.loads(_run_in_root(roots, variant, _MODULES_CODE))
    return tuple(names)


@dataclass(frozen=True, slots=True)
class LazyImport:
    """First importing one lazy module after init: seconds, and the non-handler modules it loaded."""

    seconds: float
    others: tuple[str, ...]


def lazy_imports(roots: task_roots.TaskRoots, variant: str = "image") -> dict[str, LazyImport]:
    """One process: init's import, then each of LAZY_MODULES imported and timed in turn."""
    readings = json.loads(_run_in_root(roots, variant, _LAZY_CODE, *LAZY_MODULES))
    return {name: LazyImport(float(seconds), tuple(others)) for name, (seconds, others) in readings.items()}


@dataclass(frozen=True, slots=True)
class ColdReadings:
    """Per contender name: the samples of each measure (seconds; HandlerImport for the imports) and the
    handler modules init imports."""

    first_byte: dict[str, list[float]]
    init: dict[str, list[float]]
    init_cpu: dict[str, list[float]]
    imports: dict[str, list[openai_cold.HandlerImport]]
    modules: dict[str, tuple[str, ...]]
    roots: task_roots.TaskRoots


def measure(
    roots: task_roots.TaskRoots, *, cold_rounds: int, cpu_rounds: int, import_rounds: int
) -> ColdReadings:
    """Every measure, the two contenders alternating (AB BA BA AB ...) after one unmeasured round of each;
    `roots` must hold the PRE_SURFACE root (task_roots.prepare_at_commit)."""
    contenders = (OURS, BEFORE)
    names = [c.name for c in contenders]
    first_byte: dict[str, list[float]] = {name: [] for name in names}
    init: dict[str, list[float]] = {name: [] for name in names}
    init_cpu: dict[str, list[float]] = {name: [] for name in names}
    imports: dict[str, list[openai_cold.HandlerImport]] = {name: [] for name in names}
    modules = {c.name: init_modules(roots, c.variant) for c in contenders}
    with cold_contenders.StandIn() as stand_in:
        url = stand_in.url

        def cold(contender: cold_contenders.Contender, record: bool) -> None:
            sample = harness.cold_start(contender, roots, bedrock_url=url, prompt=PROMPT)
            if not sample.body:
                raise RuntimeError(f"{contender.name}: empty response body")
            if record:
                first_byte[contender.name].append(sample.seconds)
                init[contender.name].append(sample.init_s)

        def cpu(contender: cold_contenders.Contender, record: bool) -> None:
            seconds = harness.init_cpu(contender, roots, bedrock_url=url)
            if record:
                init_cpu[contender.name].append(seconds)

        def imported(contender: cold_contenders.Contender, record: bool) -> None:
            reading = openai_cold.handler_import(roots, contender.variant, bedrock_url=url)
            if record:
                imports[contender.name].append(reading)

        steps: list[tuple[Callable[[cold_contenders.Contender, bool], None], int]] = [
            (imported, import_rounds), (cold, cold_rounds), (cpu, cpu_rounds),
        ]  # fmt: skip
        for step, count in steps:
            for contender in contenders:
                step(contender, False)
            for index in range(count):
                for contender in harness.round_order(contenders, index):
                    step(contender, True)
    return ColdReadings(first_byte, init, init_cpu, imports, modules, roots)
