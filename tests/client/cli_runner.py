"""Runs the stream client CLI as a subprocess with a clean, offline AWS environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """A clean environment: no inherited AWS settings or profiles, no metadata probes; `extra` on top."""
    # PYTHONUNBUFFERED is dropped so the streaming test proves the CLI flushes each piece itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONUNBUFFERED"}
    env.update(
        PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'runtime'}",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return env


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream_client", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env or cli_env(),
        timeout=timeout,
        check=False,
    )
