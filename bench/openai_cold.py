"""Cold start with and without the OpenAI layer: the image's task root as it is now vs the same root with
the runtime and handler of the commit before the layer (bench/task_roots.prepare_at_commit).

Both are spawned by the cold-start harness (bench/cold_harness.py), interleaved round by round: spawn ->
first body byte with the invocation already waiting, spawn -> first GET /next, and the init phase's CPU
time; and the handler's own import, read from `python3 -X importtime` importing bedrock_handler.app
in the function's environment.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from bench import cold_contenders, task_roots
from bench import cold_harness as harness

PRE_OPENAI_COMMIT = "6861df1"  # stream_client.openai_auth; the commit after it added the handler's layer
PRE_OPENAI = "pre_openai"
PROMPT = "Say hello @stub:tokens=4"
OURS = cold_contenders.ours("image", "ours")
BEFORE = cold_contenders.ours(PRE_OPENAI, f"ours before the OpenAI layer ({PRE_OPENAI_COMMIT})")
HANDLER_PACKAGE = "bedrock_handler"
APP_MODULE = "bedrock_handler.app"
# The runtime imports the handler with the cyclic GC paused (streaming_runtime.__main__); without that, a
# collection lands inside whichever module happens to cross the allocation threshold (~1 ms each).
IMPORT_PREFIX = "import gc; gc.disable(); "


@dataclass(frozen=True, slots=True)
class HandlerImport:
    """What one `-X importtime` run says about the handler package (microseconds)."""

    own_us: int  # self time of the handler's modules except the app module (whose body builds the client)
    modules: int  # handler modules imported, the app module included
    app_cumulative_us: int  # the whole `import bedrock_handler.app`: botocore, the client, everything
    others: frozenset[str]  # every other module the import loaded (to check the layer adds none)


def parse_importtime(stderr: str) -> HandlerImport:
    """Sum the handler package's lines of `-X importtime` output
    (`import time: <self us> | <cumulative us> | <indented module name>`)."""
    own = modules = 0
    app_cumulative: int | None = None
    others: set[str] = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue  # the header line
        self_us, cumulative_us, name = int(fields[0]), int(fields[1]), fields[2].strip()
        if name != HANDLER_PACKAGE and not name.startswith(HANDLER_PACKAGE + "."):
            others.add(name)
            continue
        modules += 1
        if name == APP_MODULE:
            app_cumulative = cumulative_us
        else:
            own += self_us
    if app_cumulative is None:
        raise ValueError(f"no {APP_MODULE} line in the -X importtime output")
    return HandlerImport(own, modules, app_cumulative, frozenset(others))


def handler_import(roots: task_roots.TaskRoots, variant: str, *, bedrock_url: str) -> HandlerImport:
    """`python3 -X importtime -c "import gc; gc.disable(); import bedrock_handler.app"` in the task
    root with Lambda's environment (the GC paused as the runtime pauses it for the handler's import)."""
    root = roots.root(variant)
    env = cold_contenders.function_env(
        root=root, handler=f"{APP_MODULE}.handler", api="127.0.0.1:9", bedrock_url=bedrock_url
    )
    env["PYTHONPATH"] = str(root)  # what the bootstrap does before it imports the handler
    done = subprocess.run(
        [str(roots.interpreter), "-X", "importtime", "-c", f"{IMPORT_PREFIX}import {APP_MODULE}"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{variant}: importing the handler failed: {done.stderr.strip()[-500:]}")
    return parse_importtime(done.stderr)


@dataclass(frozen=True, slots=True)
class ColdReadings:
    """Per contender name: the samples of each measure (seconds; HandlerImport for the imports)."""

    first_byte: dict[str, list[float]]
    init: dict[str, list[float]]
    init_cpu: dict[str, list[float]]
    imports: dict[str, list[HandlerImport]]
    roots: task_roots.TaskRoots
    commit: str


def measure(*, cold_rounds: int, cpu_rounds: int, import_rounds: int) -> ColdReadings | None:
    """Every measure, the two contenders alternating (AB BA BA AB ...) after one unmeasured round of each;
    None when this checkout has no git history with the commit before the OpenAI layer."""
    commit = task_roots.commit_available(PRE_OPENAI_COMMIT)
    if commit is None:
        return None
    roots = task_roots.prepare_at_commit(task_roots.prepare(), commit, PRE_OPENAI)
    samples = measure_alternating(
        roots,
        (OURS, BEFORE),
        prompt=PROMPT,
        cold_rounds=cold_rounds,
        cpu_rounds=cpu_rounds,
        import_rounds=import_rounds,
    )
    return ColdReadings(samples.first_byte, samples.init, samples.init_cpu, samples.imports, roots, commit)


@dataclass(frozen=True, slots=True)
class Samples:
    """Per contender name: spawn -> first byte and -> first GET /next, init CPU (seconds), imports."""

    first_byte: dict[str, list[float]]
    init: dict[str, list[float]]
    init_cpu: dict[str, list[float]]
    imports: dict[str, list[HandlerImport]]


def measure_alternating(
    roots: task_roots.TaskRoots,
    contenders: tuple[cold_contenders.Contender, ...],
    *,
    prompt: str,
    cold_rounds: int,
    cpu_rounds: int,
    import_rounds: int,
) -> Samples:
    """The handler's import, the cold start (answering `prompt`) and the init CPU of each contender, one
    measure after the other, the contenders alternating (AB BA BA AB ...) after one unmeasured round."""
    names = [c.name for c in contenders]
    first_byte: dict[str, list[float]] = {name: [] for name in names}
    init: dict[str, list[float]] = {name: [] for name in names}
    init_cpu: dict[str, list[float]] = {name: [] for name in names}
    imports: dict[str, list[HandlerImport]] = {name: [] for name in names}
    with cold_contenders.StandIn() as stand_in:
        url = stand_in.url

        def cold(contender: cold_contenders.Contender, record: bool) -> None:
            sample = harness.cold_start(contender, roots, bedrock_url=url, prompt=prompt)
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
            reading = handler_import(roots, contender.variant, bedrock_url=url)
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
    return Samples(first_byte, init, init_cpu, imports)
