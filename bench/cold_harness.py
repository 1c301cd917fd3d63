"""Spawns function runtimes from laid-out task roots against a local Runtime API and the stand-in process.

Shared by the cold-start and memory benchmarks: the offline Bedrock stand-in as its own process
(`python -m emulator bedrock-stub --port 0`), the environment Lambda gives a function (and nothing
from this shell or .venv), the contenders (ours, the seed-style baseline, the Bedrock-client floor), and the
Function URL events they are invoked with.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.processes import end_process
from bench.runtime_api import BenchApi, Result
from bench.task_roots import REPO, TaskRoots, python_shim_dir
from emulator.url_event import HttpRequest, build_event

T = TypeVar("T")
REGION = "us-east-1"
PRELUDE_END = b"\0" * 8
_READY = re.compile(r"Bedrock stand-in: (http://\S+)")
# The floor: what any Python function using Bedrock pays before it can do anything. The image holds botocore
# only (its handler builds the client from a botocore session), so the floor is that same call on the same
# task root; boto3.client() delegates to it after importing boto3 (the seed-style root pays that import).
FLOOR_CODE = "import botocore.session; botocore.session.get_session().create_client('bedrock-runtime')"
# The floor kept alive long enough to read its peak RSS: the same, then its own VmHWM on stdout.
FLOOR_RSS_CODE = (
    FLOOR_CODE + "\nfor line in open('/proc/self/status'):\n"
    "    if line.startswith(('VmHWM:', 'VmRSS:')): print(line.strip())"
)


class StandIn:
    """`python -m emulator bedrock-stub --port 0` in its own process; `.url` once it is listening."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = f"{REPO}{os.pathsep}{REPO / 'runtime'}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "emulator", "bedrock-stub", "--port", "0"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the ready line comes first; EOF if it died
        match = _READY.search(line)
        if match is None:
            self.stop()
            raise RuntimeError(f"the Bedrock stand-in did not start (printed {line!r})")
        self.url = match.group(1)

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        end_process(self._process, grace_s=10)


def function_env(*, root: Path, handler: str, api: str, bedrock_url: str) -> dict[str, str]:
    """Lambda's environment for a function in `root` (PROTOCOL.md §1.5), built from nothing: no PYTHON*
    or venv variables of this shell; PYTHONDONTWRITEBYTECODE as on Lambda's read-only file system."""
    return {
        "PATH": f"{python_shim_dir()}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "LAMBDA_TASK_ROOT": str(root),
        "_HANDLER": handler,
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHDUMMY",
        "AWS_SECRET_ACCESS_KEY": "bench-dummy-secret",
        "AWS_SESSION_TOKEN": "bench-dummy-token",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock_url,
        # No instance metadata probing, no ~/.aws files: the same for every contender.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def url_event(body: str, *, content_type: str) -> dict[str, Any]:
    """A Function URL (payload 2.0) POST event, as the emulator builds it."""
    request = HttpRequest(
        method="POST",
        target="/",
        headers=[("host", "localhost:3000"), ("content-type", content_type), ("user-agent", "bench")],
        body=body.encode(),
        source_ip="127.0.0.1",
        server_port=3000,
    )
    return build_event(request, request_id=str(uuid.uuid4()), epoch_ms=int(time.time() * 1000))


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of running a function: which task root, the command, its handler and its event."""

    name: str
    variant: str
    argv: Callable[[Path], list[str]]
    handler: str
    event: Callable[[str], dict[str, Any]]
    prelude: bool  # the response starts with the streaming prelude (status/headers JSON + 8 NULs)

    def env(self, root: Path, *, api: str, bedrock_url: str) -> dict[str, str]:
        env = function_env(root=root, handler=self.handler, api=api, bedrock_url=bedrock_url)
        if self.variant.startswith("seed") or self.name.startswith("floor"):
            # The seed's bootstrap imports requests before it puts the task root on sys.path: in its
            # image the packages were on the interpreter's path, as PYTHONPATH puts them here.
            env["PYTHONPATH"] = str(root)
        return env


def _ours_event(prompt: str) -> dict[str, Any]:
    return url_event(json.dumps({"prompt": prompt}), content_type="application/json")


def _seed_event(prompt: str) -> dict[str, Any]:
    return url_event(prompt, content_type="text/plain")


def ours(variant: str, name: str) -> Contender:
    """runtime/bootstrap with bedrock_handler, from the `variant` task root."""
    return Contender(name, variant, lambda root: [str(root / "bootstrap")], "bedrock_handler.app.handler",
                     _ours_event, prelude=True)  # fmt: skip


def seed(variant: str, name: str) -> Contender:
    """bench/baseline_bootstrap.py with bench/seed_handler.py, from the `variant` task root."""
    return Contender(name, variant, lambda root: ["python3", str(root / "baseline_bootstrap.py")],
                     "seed_handler.handler", _seed_event, prelude=False)  # fmt: skip


# The honest seed-style baseline: its packages byte-compiled by pip, as its own image would have them.
BASELINE = seed("seed", "baseline")
# The old baseline (pip --no-compile: boto3 compiled at every cold start), kept as an explanatory row.
BASELINE_NOPYC = seed("seed_nopyc", "baseline, no .pyc")
FLOOR = Contender(
    "floor", "image", lambda root: ["python3", "-c", FLOOR_CODE], "-", _ours_event, prelude=False
)


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


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, summed over its threads (ns-precise)."""
    total_ns = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        total_ns += int(stat.read_text().split()[0])
    return total_ns / 1e9


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
