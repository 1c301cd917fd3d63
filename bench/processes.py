"""Ending the benchmarks' child processes: a polite signal, a grace period, then SIGKILL; always reaped."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from typing import Any

_REAP_TIMEOUT_S = 10.0


def end_process(
    process: subprocess.Popen[Any], *, grace_s: float = 0.0, polite: signal.Signals | None = signal.SIGTERM
) -> None:
    """Send `polite` (None: none; the caller has already asked, e.g. by closing its stdin) and wait up to
    `grace_s` for `process` to exit, SIGKILL it if it has not, reap it and close its stdout pipe."""
    if process.poll() is None and grace_s > 0:
        if polite is not None:
            process.send_signal(polite)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    if process.poll() is None:
        process.kill()
    process.wait(timeout=_REAP_TIMEOUT_S)
    if process.stdout is not None:
        process.stdout.close()
