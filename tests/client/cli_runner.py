"""Runs the stream client CLI as a subprocess with a clean, offline AWS environment."""

from __future__ import annotations

import subprocess
import sys

from tests.support.emulator_process import REPO, hermetic_env


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m stream_client ARGS`; without PYTHONUNBUFFERED, so streaming tests prove it flushes."""
    return subprocess.run(
        [sys.executable, "-m", "stream_client", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env or hermetic_env(),
        timeout=timeout,
        check=False,
    )
