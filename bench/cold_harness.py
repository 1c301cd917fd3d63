"""Spawns function runtimes from laid-out task roots against a local Runtime API and the stand-in process.

Shared by the cold-start, memory and awslambdaric benchmarks, for the contenders of
bench/cold_contenders.py: the rotating order of rounds, one cold start with its invocation already
waiting, the init phase's CPU time, the floor's run, and where a function's modules and their byte code
come from.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.cold_contenders import FLOOR, FLOOR_CODE, Contender, function_env
from bench.proc_readings import cpu_seconds
from bench.processes import end_process
from bench.runtime_api import BenchApi, Result
from bench.task_roots import TaskRoots

T = TypeVar("T")
PRELUDE_END = b"\0" * 8


def round_order(items: Sequence[T], index: int) -> list[T]:
    """Round `index`'s order of `items`: rounds come in pairs, the second the reverse of the first, and
    each pair is rotated one further, so each contender runs before and after each other one equally
    often (for two: AB, BA, BA, AB, ...) and early and late alike."""
    shift = (index // 2) % len(items)
    order = [*items[shift:], *items[:shift]]
    return order[::-1] if index % 2 else order


def first_body_index(result: Result, *, prelude: bool) -> int:
    """Index of the first chunk that carries response body bytes (after the prelude, if any)."""
    seen = b""
    for index, chunk in enumerate(result.chunks):
        seen += chunk
        if not prelude and seen:
            return index
        if prelude and PRELUDE_END in seen and seen.split(PRELUDE_END, 1)[1]:
            return index
    raise RuntimeError(f"no body in the response: {b''.join(result.chunks)[:200]!r}")


def body_text(result: Result, *, prelude: bool) -> bytes:
    data = b"".join(result.chunks)
    return data.split(PRELUDE_END, 1)[1] if prelude else data


class Invoker:
    """Queues one event on `api` and waits for its response in a thread, so the invocation is already
    waiting when the runtime first asks for one."""

    def __init__(self, api: BenchApi, event: dict[str, Any], *, timeout: float = 60.0) -> None:
        self.result: Result | None = None
        self.error: BaseException | None = None
        self._queued = threading.Event()
        self._thread = threading.Thread(target=self._invoke, args=(api, event, timeout), daemon=True)
        self._thread.start()

    def _invoke(self, api: BenchApi, event: dict[str, Any], timeout: float) -> None:
        try:
            self.result = api.invoke(event, timeout=timeout)
        except BaseException as exc:  # re-raised in wait()
            self.error = exc

    def wait(self, process: subprocess.Popen[bytes] | None = None) -> Result:
        """The response; fails at once if `process` (the function) exits before it has answered."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.05)
            if process is not None and process.poll() is not None and self._thread.is_alive():
                raise RuntimeError(f"the function exited with status {process.returncode} before responding")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass(frozen=True, slots=True)
class ColdSample:
    """One cold start: seconds from spawn to the first body byte at the API, split at the first /next."""

    seconds: float
    init_s: float  # spawn -> first GET /next (the init phase: imports, handler module, Bedrock client)
    first_call_s: float  # event handed out -> first body byte (the first invocation's own cost)
    body: bytes


def spawn(contender: Contender, root: Path, *, api: BenchApi, bedrock_url: str) -> subprocess.Popen[bytes]:
    """Start `contender`'s process in `root` with Lambda's environment for `api`, its output discarded."""
    return subprocess.Popen(
        contender.argv(root),
        env=contender.env(root, api=api.address, bedrock_url=bedrock_url),
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cold_start(contender: Contender, roots: TaskRoots, *, bedrock_url: str, prompt: str) -> ColdSample:
    """Spawn `contender` with one invocation already queued; time spawn -> first body chunk received."""
    root = roots.root(contender.variant)
    with BenchApi() as api:
        invoker = Invoker(api, contender.event(prompt))
        time.sleep(0.005)  # the invoker thread queues at once; be sure it did before the spawn
        started = time.monotonic()
        process = spawn(contender, root, api=api, bedrock_url=bedrock_url)
        try:
            result = invoker.wait(process)
        finally:
            end_process(process)
    index = first_body_index(result, prelude=contender.prelude)
    first_byte = result.chunk_times[index]
    return ColdSample(
        seconds=first_byte - started,
        init_s=api.next_times[0] - started,
        first_call_s=first_byte - result.dispatched,
        body=body_text(result, prelude=contender.prelude),
    )


def init_cpu(contender: Contender, roots: TaskRoots, *, bedrock_url: str) -> float:
    """CPU seconds `contender` spends from spawn to its first GET /next (no invocation waiting, so it then
    blocks): the init phase's cost as CPU time, which other work on the machine barely distorts."""
    root = roots.root(contender.variant)
    with BenchApi() as api:
        process = spawn(contender, root, api=api, bedrock_url=bedrock_url)
        try:
            deadline = time.monotonic() + 60
            while not api.first_next.wait(0.05):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{contender.name} never asked for an invocation")
            time.sleep(0.02)  # its request is out; let it settle in the blocking read
            return cpu_seconds(process.pid)
        finally:
            end_process(process)


def floor_run(roots: TaskRoots, *, code: str = FLOOR_CODE, bedrock_url: str) -> tuple[float, str]:
    """Spawn -> exit of `python3 -c code` on the image task root; (seconds, its stdout)."""
    root = roots.root(FLOOR.variant)
    env = FLOOR.env(root, api="127.0.0.1:9", bedrock_url=bedrock_url)
    started = time.monotonic()
    done = subprocess.run(
        ["python3", "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=60, check=False
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the floor failed: {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout


def module_origins(roots: TaskRoots, variant: str, modules: tuple[str, ...]) -> dict[str, str]:
    """Where each module is imported from in a function's environment (proves nothing leaks in)."""
    root = roots.root(variant)
    code = (
        "import importlib, json, sys\n"
        "print(json.dumps({m: importlib.import_module(m).__file__ for m in sys.argv[1:]}))"
    )
    env = function_env(root=root, handler="-", api="127.0.0.1:9", bedrock_url="http://127.0.0.1:9")
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        ["python3", "-c", code, *modules],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    origins: dict[str, str] = json.loads(done.stdout)
    return origins


@dataclass(frozen=True, slots=True)
class BytecodeUse:
    """How a task root's modules were loaded by one import run (`python3 -v`)."""

    cache_tag: str  # the interpreter's, e.g. cpython-312
    from_pyc: tuple[str, ...]  # .pyc files under the root that were loaded
    compiled: tuple[str, ...]  # .py files under the root compiled from source (no usable .pyc)


_CODE_OBJECT = "# code object from "


def bytecode_use(root: Path, code: str) -> BytecodeUse:
    """Run `python3 -v -c code` in the task root `root` (on PYTHONPATH) with a function's environment and
    sort the root's modules by where their code came from (the -v lines: `code object from '<x>.pyc'`
    when a valid cached file was used, `code object from <x>.py` when the source had to be compiled)."""
    env = function_env(root=root, handler="-", api="127.0.0.1:9", bedrock_url="http://127.0.0.1:9")
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        ["python3", "-v", "-c", "import sys; print(sys.implementation.cache_tag); " + code],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    from_pyc: list[str] = []
    compiled: list[str] = []
    for line in done.stderr.splitlines():
        if not line.startswith(_CODE_OBJECT):
            continue
        origin = line[len(_CODE_OBJECT) :].strip("'")
        if Path(origin).is_relative_to(root):
            (from_pyc if origin.endswith(".pyc") else compiled).append(origin)
    return BytecodeUse(done.stdout.split()[0], tuple(from_pyc), tuple(compiled))
