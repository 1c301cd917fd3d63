"""Lambda Managed Instances: serve AWS_LAMBDA_MAX_CONCURRENCY invocations at once from forked copies of
the initialised process, each running the ordinary loop, under a parent that replaces any that dies."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time

from streaming_runtime.client import RuntimeApiClient
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.errors import EXIT_OK, EXIT_RUNTIME_API_ERROR
from streaming_runtime.loop import serve

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from streaming_runtime.handler_loader import Handler

logger = logging.getLogger("streaming_runtime")

EXIT_WORKER_FAILED = 70  # a worker's loop raised something other than a Runtime API failure (a bug)
# A worker that dies sooner than this after its start is replaced only after this long, so a crash that
# repeats at once (a handler that kills its process on every event) cannot spin the parent.
_MIN_WORKER_LIFE_S = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerPool:
    """The parent's view: which worker pid serves which of the `size` slots, and whether it is stopping.

    Each worker is a fork of the process that loaded the handler, so it starts with the handler, its
    Bedrock client and every imported module already in memory, shared copy-on-write (init ran once and
    `gc.freeze()` keeps the collector from touching, and so copying, those pages). Each runs `loop.run` on
    a connection of its own: one invocation at a time per worker, `size` at a time in all, every answer
    under the request id its own GET /next received.
    """

    def __init__(self, *, config: RuntimeConfig, handler: Handler, size: int) -> None:
        self._config = config
        self._handler = handler
        self._prctl = _find_prctl()  # looked up once here rather than in every worker (~2.6 ms each)
        self.size = size
        self.workers: dict[int, tuple[int, float]] = {}  # pid -> (slot, started on the monotonic clock)
        self.stopping = False
        self.exit_status = EXIT_OK

    def serve(self) -> int:
        """Start the workers and supervise them until the Runtime API goes away, every worker finished
        (a set invocation limit) or SIGTERM/SIGINT; returns the process exit status."""
        previous = {sig: signal.signal(sig, self._on_stop_signal) for sig in _STOP_SIGNALS}
        try:
            for slot in range(self.size):
                if self.stopping:  # SIGTERM came while the workers were still being started
                    break
                self._spawn(slot)
            logger.info("Serving up to %d invocations at once (Lambda Managed Instances)", self.size)
            while self.workers:
                pid, status = os.wait()
                self._on_exit(pid, os.waitstatus_to_exitcode(status))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_status

    def _on_exit(self, pid: int, code: int) -> None:
        slot, started = self.workers.pop(pid, (-1, 0.0))
        if slot < 0 or self.stopping or code == EXIT_OK:  # stopping, or its invocation limit was reached
            return
        if code == EXIT_RUNTIME_API_ERROR:
            logger.critical("Worker %d lost the Runtime API; stopping every worker", slot)
            self.exit_status = EXIT_RUNTIME_API_ERROR
            self._stop()
            return
        logger.error("Worker %d (pid %d) exited with status %d; starting another", slot, pid, code)
        lived = time.monotonic() - started
        if lived < _MIN_WORKER_LIFE_S:
            time.sleep(_MIN_WORKER_LIFE_S - lived)
        if not self.stopping:
            self._spawn(slot)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        self.stopping = True
        for pid in list(self.workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _spawn(self, slot: int) -> None:
        # Stop signals are held back across the fork: a child must not run the parent's handler (it would
        # stop its siblings and carry on) before it has the default one.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid:
            self.workers[pid] = (slot, time.monotonic())
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
            return
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        _exit_with_parent(self._prctl, parent=os.getppid())
        os._exit(_work(self._config, self._handler))


def _work(config: RuntimeConfig, handler: Handler) -> int:
    """A worker's life: the ordinary loop on a client of its own; returns its exit status."""
    try:
        return serve(RuntimeApiClient(address=config.runtime_api), handler, config=config)
    except BaseException:
        logger.exception("Worker failed")
        return EXIT_WORKER_FAILED


def _find_prctl() -> Callable[..., int] | None:
    """libc's prctl (Linux), or None where there is none."""
    try:
        import ctypes  # noqa: PLC0415 - only Managed Instances pay for it, never the classic start-up

        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _exit_with_parent(prctl: Callable[..., int] | None, *, parent: int) -> None:
    """Have the kernel send this worker SIGTERM when its parent dies, so no worker outlives it (without
    prctl, the parent's own SIGTERM still reaches the workers)."""
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(EXIT_OK)
