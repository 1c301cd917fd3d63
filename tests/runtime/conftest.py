"""Fixtures for the runtime tests: the recording Runtime API and the real bootstrap as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from recording_api import RecordingApi
from runtime_process import BOOTSTRAP, HANDLERS_SOURCE, RuntimeProcess, StartRuntime, runtime_env


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
