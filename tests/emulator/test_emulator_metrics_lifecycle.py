"""The runtime output reader across process lifetimes, with small runtimes written for the test: every
restart reads a new pipe, partial and invalid document lines are counted as invalid and still logged on
their own line before the emulator's next line, and a process still holding a dead runtime's pipe never
holds up the emulator's shutdown."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path

from emulator.emf import EMF_PREFIX
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

VALID = (
    '{"_aws":{"Timestamp":1765017600123,"CloudWatchMetrics":[{"Namespace":"Test","Dimensions":[["ModelId"]],'
    '"Metrics":[{"Name":"OutputTokens","Unit":"Count"}]}]},"ModelId":"m","Outcome":"ok","OutputTokens":4}'
)
INVALID = '{"_aws":{"Timestamp":"soon","CloudWatchMetrics":[]}}'
PARTIAL = '{"_aws":{"Timest'

# Prints a valid document (stdout), an invalid one (stderr) and half a document, then fails its init.
CRASHING = f"""
import os, sys
os.write(1, {(VALID + chr(10)).encode()!r})
os.write(2, {(INVALID + chr(10)).encode()!r})
os.write(1, {PARTIAL.encode()!r})
sys.exit(3)
"""

# Starts a process in a session of its own (out of reach of the emulator's kill) that keeps the output
# pipe open, says its pid, and then never gets through its init.
LEAKING = """
import subprocess, sys, time
orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
print(f"orphan pid {orphan.pid}", flush=True)
time.sleep(120)
"""


def runtime(tmp_path: Path, name: str, source: str) -> list[str]:
    script = tmp_path / f"{name}.py"
    script.write_text(source, encoding="utf-8")
    return ["--runtime-cmd", f"{sys.executable} {script}", "--timeout", "10"]


def metrics(emulator: EmulatorProcess, *, lines: int) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while True:
        snapshot: dict[str, object] = request(emulator.url, "/_emulator/metrics", method="GET").json()
        counted = int(snapshot["documents"]) + int(snapshot["invalid"])  # type: ignore[call-overload]
        if counted >= lines or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.05)


def test_each_runtime_process_gets_a_new_pipe_and_broken_lines_are_invalid(tmp_path: Path) -> None:
    with EmulatorProcess(runtime(tmp_path, "crashing", CRASHING)) as emulator:
        first = metrics(emulator, lines=3)  # the pre-warmed process
        reply = request(emulator.url, "/", body={"prompt": "x"})  # a second process, which fails too
        second = metrics(emulator, lines=6)
        emulator.wait_for_log(r"(?s)(runtime exited.*){2}")
        log = emulator.log().splitlines()
    assert reply.status == 502
    assert (first["documents"], first["invalid"]) == (1, 2)
    assert (second["documents"], second["invalid"]) == (2, 4)
    total = second["total"]
    assert isinstance(total, dict) and total["outputTokens"] == 8 and total["outcomes"] == {"ok": 2}
    # Every line as the runtime wrote it, the half line completed on its own, before the exit is reported.
    assert log.count(VALID) == log.count(INVALID) == log.count(PARTIAL) == 2
    for index, line in enumerate(log):
        if line == PARTIAL:
            after = [later for later in log[index + 1 :] if not later.startswith("invalid EMF document")]
            assert re.search(r"runtime exited|Runtime\.ExitError", after[0]), log
    assert not [line for line in log if EMF_PREFIX in line and not line.startswith(EMF_PREFIX)]


def test_a_process_holding_the_pipe_does_not_hold_up_the_shutdown(tmp_path: Path) -> None:
    orphan = 0
    try:
        emulator = EmulatorProcess(runtime(tmp_path, "leaking", LEAKING))
        try:
            orphan = int(emulator.wait_for_log(r"orphan pid (\d+)").group(1))
        finally:
            started = time.monotonic()
            status = emulator.stop()
            stopped_in = time.monotonic() - started
        assert status == 0, emulator.log()
        assert stopped_in < 8, f"shutdown took {stopped_in:.1f} s"
        assert os.path.exists(f"/proc/{orphan}")  # it really was still holding the pipe
    finally:
        if orphan:
            with contextlib.suppress(ProcessLookupError):
                os.kill(orphan, signal.SIGKILL)
