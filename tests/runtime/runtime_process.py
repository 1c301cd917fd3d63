"""The real runtime/bootstrap as a test subprocess: its paths, the Lambda environment and a process handle."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO / "runtime" / "bootstrap"
HANDLERS_SOURCE = Path(__file__).with_name("runtime_handlers.py")


@dataclass
class RuntimeProcess:
    """A running runtime/bootstrap; `log()` is its combined stdout/stderr so far."""

    process: Popen[bytes]
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


# The `start_runtime` fixture: start_runtime("handlers.fn", extra_env={...}, args=(...)) -> RuntimeProcess.
StartRuntime = Callable[..., RuntimeProcess]
