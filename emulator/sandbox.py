"""One execution environment: a runtime process, its Runtime API server, timeouts, restarts and the
Lambda-style START/END/REPORT log lines."""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace

from emulator.config import EmulatorConfig
from emulator.faults import FaultInjector
from emulator.invocations import TIMED_OUT, FunctionFailed, Invocation, State
from emulator.runtime_api import RuntimeApiServer
from emulator.runtime_output import OutputRouting
from emulator.slot import EnvironmentSlot, InvocationSlot
from emulator.supervisor import Credentials, RuntimeProcess, function_arn, runtime_environment

log = logging.getLogger("emulator")
# How long an invocation's END line waits for the runtime's output to be read up to its answer.
_OUTPUT_SYNC_S = 1.0
lambda_log = logging.getLogger("emulator.lambda")


class Sandbox:
    """Runs one invocation at a time in one runtime process, respawning it when it is gone.

    Subclasses change how many invocations run at once (`_new_slot`) and what a timeout does.
    """

    def __init__(
        self,
        *,
        index: int,
        config: EmulatorConfig,
        credentials: Credentials | None,
        bedrock_url: str | None,
        host_environ: Mapping[str, str],
        on_free: Callable[[Sandbox], None],
        faults: FaultInjector | None = None,
        output: OutputRouting | None = None,
    ) -> None:
        self.index = index
        self.config = config
        self.slot = self._new_slot()
        self.slot.on_delivered = self._on_delivered
        self.api = RuntimeApiServer(slot=self.slot, function_arn=function_arn(config), faults=faults)
        self.api.serve_in_thread(f"runtime-api-{index}")
        self.process: RuntimeProcess | None = None
        self.invocations = 0
        self._credentials = credentials
        self._bedrock_url = bedrock_url
        self._host_environ = dict(host_environ)
        self._on_free = on_free
        # Every line of the runtime also goes to the log tail of the invocations in flight.
        self._output = replace(output or OutputRouting(), on_line=self._record_output)
        self._lock = threading.RLock()
        self._init_reported: RuntimeProcess | None = None
        self._served_by: dict[str, RuntimeProcess | None] = {}  # request id -> the process it went to
        # Delivered invocations whose log tail is still open: they get the runtime's lines until their END.
        self._open_logs: list[Invocation] = []
        self._closed = False

    def _new_slot(self) -> EnvironmentSlot:
        return InvocationSlot()

    @property
    def capacity(self) -> int:
        """How many invocations this environment runs at once."""
        return self.slot.capacity

    # --- lifecycle -------------------------------------------------------------------------------

    def ensure_process(self) -> RuntimeProcess:
        """The live runtime process, spawning a fresh one (a cold start) when there is none."""
        with self._lock:
            if self.process is not None and not self.process.exited:
                return self.process
            self.slot.reset()
            env = runtime_environment(
                config=self.config,
                runtime_api=self.api.address,
                credentials=self._credentials,
                bedrock_url=self._bedrock_url,
                host_environ=self._host_environ,
                max_concurrency=self.config.max_concurrency,
            )
            self.process = RuntimeProcess(
                command=self.config.runtime_cmd,
                env=env,
                cwd=self.config.task_root,
                on_exit=self._on_exit,
                output=self._output,
            )
            log.debug("sandbox %d: spawned runtime pid %d", self.index, self.process.pid)
            return self.process

    def close(self, *, grace_s: float = 2.0) -> None:
        """Stop the runtime process group and the Runtime API server."""
        with self._lock:
            self._closed = True
            process, self.process = self.process, None
        self.slot.close()
        if process is not None:
            process.kill(grace_s=grace_s)
        shutdown = FunctionFailed("Sandbox.Shutdown", "the emulator is shutting down")
        for invocation in [*self.slot.in_flight(), *self.slot.take_pending()]:
            invocation.fail(shutdown)
        self.api.shutdown()
        self.api.server_close()

    def state(self) -> dict[str, object]:
        process = self.process
        in_flight = len(self.slot.in_flight())
        return {
            "index": self.index,
            "pid": process.pid if process is not None and not process.exited else None,
            "runtimeApi": self.api.address,
            "busy": in_flight > 0,
            "invocations": self.invocations,
            "capacity": self.capacity,
            "inFlight": in_flight,
            "waitingNext": self.slot.waiting,
        }

    # --- invoking --------------------------------------------------------------------------------

    def invoke(self, payload: bytes, *, request_id: str | None = None) -> Invocation:
        """Hand an event to the runtime; the sandbox frees itself when the invocation is done."""
        invocation = Invocation(payload=payload, timeout_s=self.config.timeout, request_id=request_id)
        invocation.add_done_callback(self._on_done)
        timer = threading.Timer(self.config.timeout, self._on_timeout, args=(invocation,))
        timer.daemon = True
        invocation.add_done_callback(lambda _: timer.cancel())
        with self._lock:
            if self._closed:
                invocation.fail(FunctionFailed("Sandbox.Shutdown", "the emulator is shutting down"))
                return invocation
            self.ensure_process()
            self.slot.assign(invocation)
        timer.start()
        return invocation

    def _on_delivered(self, invocation: Invocation) -> None:
        with self._lock:
            self._served_by[invocation.request_id] = self.process
            self.invocations += 1
            self._open_logs.append(invocation)
        start = f"START RequestId: {invocation.request_id} Version: $LATEST"
        invocation.log.append_line(start)
        lambda_log.info("%s", start)

    def _record_output(self, line: bytes) -> None:
        with self._lock:
            open_logs = list(self._open_logs)
        for invocation in open_logs:
            invocation.log.append(line)

    def _on_done(self, invocation: Invocation) -> None:
        # The process that served it, even when a timeout or crash has already forgotten it.
        with self._lock:
            served_by = self._served_by.pop(invocation.request_id, None)
        process = served_by if invocation.delivered_at is not None else self.process
        if invocation.delivered_at is not None:
            # Claimed here, in completion order: the report threads may run in either order.
            init_ms = self._claim_init_duration(invocation, process)
            threading.Thread(target=self._report, args=(invocation, process, init_ms), daemon=True).start()
        else:
            invocation.log.close()  # it never reached a runtime: no END or REPORT
        self._on_free(self)

    def _claim_init_duration(self, invocation: Invocation, process: RuntimeProcess | None) -> float | None:
        """The process's init duration (ms) if this is its first reported invocation, else None."""
        if process is None or self._init_reported is process:
            return None
        self._init_reported = process
        first_next = self.slot.first_next_at or invocation.delivered_at or time.monotonic()
        return (first_next - process.spawned_at) * 1000

    def _report(self, invocation: Invocation, process: RuntimeProcess | None, init_ms: float | None) -> None:
        if process is not None:
            # What the runtime printed before it answered belongs before END, however late it is read.
            process.sync_output(_OUTPUT_SYNC_S)
        with self._lock:
            if invocation in self._open_logs:
                self._open_logs.remove(invocation)
        delivered = invocation.delivered_at or time.monotonic()
        duration_ms = ((invocation.finished_at or time.monotonic()) - delivered) * 1000
        memory_mb = process.sample_memory() if process is not None else 0
        fields = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms",
            f"Memory Size: {self.config.memory} MB",
            f"Max Memory Used: {memory_mb} MB",
        ]
        if init_ms is not None:
            fields.append(f"Init Duration: {init_ms:.2f} ms")
        end, report = f"END RequestId: {invocation.request_id}", "\t".join(fields)
        lambda_log.info("%s", end)
        lambda_log.info("%s", report)
        invocation.log.append_line(end)
        invocation.log.append_line(report)
        invocation.log.close()

    def _on_timeout(self, invocation: Invocation) -> None:
        """Lambda's classic timeout: the whole environment is reset (its runtime killed)."""
        if invocation.done:
            return
        failure = log_timeout(invocation)
        with self._lock:
            process, self.process = self.process, None
            if process is not None:
                process.sample_memory()
            if invocation.state is State.RESPONDING:
                # Mid-stream, fail first: the kill would otherwise end the stream as a truncated response.
                # Holding the lock until the kill is done keeps the next request (which the failure frees
                # the sandbox for) away from the old process's Runtime API.
                invocation.fail(failure)
            if process is not None:
                process.kill()
            invocation.fail(failure)  # before the first byte: the 502 goes out once the process is gone

    def _on_exit(self, process: RuntimeProcess, returncode: int) -> None:
        with self._lock:
            if self.process is not process:
                return  # killed on purpose (timeout or shutdown); already handled
            self.process = None
            init_error = self.slot.init_error
            # A runtime that got as far as GET /next died between or during invocations; one that
            # never did failed its init, and the request waiting for it fails too (as on Lambda).
            was_serving = self.slot.first_next_at is not None
            failure = init_error or FunctionFailed(
                "Runtime.ExitError", f"Runtime exited with error: {_exit_status(returncode)}"
            )
            for current in self.slot.in_flight():
                if current.fail(failure):
                    log.error("[%s] %s: %s", current.request_id, failure.error_type, failure.message)
            if self._closed:
                return
            if init_error is not None or was_serving:
                # A request handed over while this runtime was exiting never reached it: it gets a fresh
                # runtime. After an init error that is a fresh init attempt, as on Lambda (the request
                # that was waiting when the error came was failed with it by record_init_error).
                if self.slot.has_pending:
                    self.ensure_process()
            else:
                for pending in self.slot.take_pending():
                    if pending.fail(failure):
                        log.error("[%s] %s: %s", pending.request_id, failure.error_type, failure.message)
        if init_error is None:
            log.warning("sandbox %d: runtime exited (%s)", self.index, _exit_status(returncode))


def log_timeout(invocation: Invocation) -> FunctionFailed:
    """Log Lambda's timeout line for `invocation` (also in its log tail); the failure its client gets."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    line = f"{now} Task timed out after {invocation.timeout_s:.2f} seconds"
    lambda_log.info("%s", line)
    invocation.log.append_line(line)
    return FunctionFailed(TIMED_OUT, f"Task timed out after {invocation.timeout_s:.2f} seconds")


def _exit_status(returncode: int) -> str:
    if returncode < 0:
        return f"signal: {signal.strsignal(-returncode) or -returncode}"
    return f"exit status {returncode}"
