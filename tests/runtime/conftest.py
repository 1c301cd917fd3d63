"""Fixtures for the runtime tests: the recording Runtime API and the real bootstrap as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from recording_api import RecordingApi

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO / "runtime" / "bootstrap"
HANDLERS_SOURCE = Path(__file__).with_name("runtime_handlers.py")


@dataclass
class RuntimeProcess:
    """A running runtime/bootstrap; `log()` is its combined stdout/stderr so far."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = 15.0) -> int:
        return self.process.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.process.poll() is None


def runtime_env(
    *, api: str, task_root: Path, handler: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment Lambda gives a runtime, with python3 resolving to this venv's interpreter."""
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "AWS_LAMBDA_RUNTIME_API": api,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "test-function",
        "AWS_LAMBDA_FUNCTION_VERSION": "7",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/test-function",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/28/[7]abc",
        "TZ": ":UTC",
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


StartRuntime = Callable[..., RuntimeProcess]


@pytest.fixture
def api() -> Iterator[RecordingApi]:
    with RecordingApi() as server:
        yield server


@pytest.fixture
def task_root(tmp_path: Path) -> Path:
    root = tmp_path / "task"
    root.mkdir()
    shutil.copy(HANDLERS_SOURCE, root / "handlers.py")
    return root


@pytest.fixture
def start_runtime(api: RecordingApi, task_root: Path, tmp_path: Path) -> Iterator[StartRuntime]:
    """Factory: start_runtime("handlers.fn", extra_env={...}) -> RuntimeProcess; stopped afterwards."""
    started: list[RuntimeProcess] = []

    def start(
        handler: str, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()
    ) -> RuntimeProcess:
        log_path = tmp_path / f"runtime-{len(started)}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [str(BOOTSTRAP), *args],
                env=runtime_env(api=api.address, task_root=task_root, handler=handler, extra=extra_env),
                cwd=tmp_path,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        runtime = RuntimeProcess(process=process, log_path=log_path)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime.process.poll() is None:
            runtime.process.terminate()
            try:
                runtime.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                runtime.process.kill()
                runtime.process.wait(timeout=5)
