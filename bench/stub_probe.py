"""The offline Bedrock stand-in in its own process, time-stamping every text-delta frame it sends.

`ProbedStub.start()` runs `python -m bench.stub_probe`: the real stand-in (emulator.bedrock_stub) with
its frame writer wrapped so that each ConverseStream text-delta frame gets a CLOCK_MONOTONIC stamp
just before it is handed to the kernel (`time.monotonic()` is the same clock in every process on
Linux). Its own process, so the stand-in never competes for a GIL with the client or boto3 being
timed. The parent reads the stamps of each request over the child's stdin/stdout:
`probe.take()` -> the stamps of the request that finished last (waiting for it to finish).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from bench.processes import end_process

REPO = Path(__file__).resolve().parents[1]
READY_PREFIX = "Bedrock stand-in: "
_DELTA_EVENT = b"contentBlockDelta"  # the :event-type header value of a ConverseStream text delta
_TAKE_TIMEOUT_S = 30.0


class _Recorder:
    """Per-request lists of delta stamps, published when the request's handler returns."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._finished: list[list[float]] = []
        self._changed = threading.Condition()

    def begin(self) -> None:
        self._local.stamps = []

    def stamp(self, frame: bytes, at: float) -> None:
        if _DELTA_EVENT in frame[:96]:  # prelude (12 bytes) then the headers: the event type is early
            self._local.stamps.append(at)

    def end(self) -> None:
        with self._changed:
            self._finished.append(self._local.stamps)
            self._changed.notify_all()

    def take(self) -> list[float] | None:
        """The stamps of the most recent finished request (older untaken ones are dropped)."""
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._finished), timeout=_TAKE_TIMEOUT_S):
                return None
            latest = self._finished[-1]
            self._finished.clear()
            return latest


def _install(recorder: _Recorder) -> None:
    from emulator import bedrock_stub

    handler_class: Any = bedrock_stub._StubHandler
    write_chunk: Callable[[Any, bytes], None] = handler_class._write_chunk
    do_post: Callable[[Any], None] = handler_class.do_POST

    def probed_write_chunk(handler: Any, frame: bytes) -> None:
        # Stamped just before the frame is written: a stamp taken after sendall returns can come late,
        # when the kernel runs the woken reader (and the whole path after it) before the stand-in
        # again; with 2 busy cores that made deltas "arrive" ms before they were "sent".
        at = time.monotonic()
        write_chunk(handler, frame)
        recorder.stamp(frame, at)

    def probed_do_post(handler: Any) -> None:
        recorder.begin()
        try:
            do_post(handler)
        finally:
            recorder.end()

    handler_class._write_chunk = probed_write_chunk
    handler_class.do_POST = probed_do_post


def _child_main() -> int:
    from emulator.bedrock_stub import BedrockStub

    recorder = _Recorder()
    _install(recorder)
    stub = BedrockStub.start(host="127.0.0.1", port=0)
    print(f"{READY_PREFIX}{stub.url}", flush=True)
    try:
        for line in sys.stdin:  # one command per line; EOF (the parent closed stdin) stops the stand-in
            if line.strip() == "take":
                print(json.dumps(recorder.take()), flush=True)
    finally:
        stub.close()
    return 0


class ProbedStub:
    """The parent's handle on the stand-in process: `.url`, `.take()`, `.close()` (or `with`)."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self._process = process
        self.url = url

    @classmethod
    def start(cls) -> ProbedStub:
        """Spawn the stand-in process and wait for its address."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), str(REPO / "runtime"), env.get("PYTHONPATH", "")) if p
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.stub_probe"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = _readline(process.stdout)
        if not line.startswith(READY_PREFIX):
            end_process(process)
            raise RuntimeError(f"the probed stand-in did not start: {line!r}")
        return cls(process, line[len(READY_PREFIX) :].strip())

    def take(self) -> list[float]:
        """CLOCK_MONOTONIC send times of each text delta of the request that finished last."""
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the probed stand-in has no pipes")
        stdin.write("take\n")
        stdin.flush()
        stamps = json.loads(_readline(stdout))
        if stamps is None:
            raise TimeoutError("no request finished at the probed stand-in")
        return [float(value) for value in stamps]

    def close(self) -> None:
        """Close its stdin (it stops on EOF), then make sure it is gone."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        end_process(self._process, grace_s=10, polite=None)

    def __enter__(self) -> ProbedStub:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _readline(stream: IO[str] | None) -> str:
    if stream is None:
        raise RuntimeError("no pipe to read")
    return stream.readline()


if __name__ == "__main__":
    sys.exit(_child_main())
