"""Cold start of a text-only request with and without the ConverseStream surface: the image's task root as
it is now vs the same root with the runtime and handler of the commit before the surface
(bench/task_roots.prepare_at_commit), measured as bench/openai_cold.py measures its pair; plus which
handler modules init imports, and what first importing each lazily loaded surface module costs.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from bench import cold_contenders, openai_cold, task_roots

SURFACE_COMMIT = "56e014a"  # the last commit before the ConverseStream surface (issue 13)
PRE_SURFACE = "pre_surface"
PROMPT = openai_cold.PROMPT  # a text-only request both handlers answer
OURS = openai_cold.OURS
BEFORE = cold_contenders.ours(PRE_SURFACE, f"ours before the ConverseStream surface ({SURFACE_COMMIT})")
# Loaded on first use only (by a request that uses them, or at init with EMBEDDING_MODEL_IDS; direct_event by
# the first direct invocation), in the order they are timed: embedding_formats before embeddings, which
# imports it.
LAZY_MODULES = tuple(
    f"{openai_cold.HANDLER_PACKAGE}.{name}"
    for name in (
        "attachments",
        "openai_tools",
        "reasoning",
        "prompt_cache",
        "embedding_formats",
        "embeddings",
        "direct_event",
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
    modules = {c.name: init_modules(roots, c.variant) for c in contenders}
    samples = openai_cold.measure_alternating(
        roots,
        contenders,
        prompt=PROMPT,
        cold_rounds=cold_rounds,
        cpu_rounds=cpu_rounds,
        import_rounds=import_rounds,
    )
    return ColdReadings(samples.first_byte, samples.init, samples.init_cpu, samples.imports, modules, roots)
