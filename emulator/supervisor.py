"""Runtime child processes: the Lambda environment they get, spawning in their own session, memory
readings, and killing the whole process group."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from emulator.config import EmulatorConfig
from emulator.runtime_output import OutputRouting, RuntimeOutput

log = logging.getLogger("emulator")

# How long the end of a runtime's output may trail its exit (a child still holding the pipe).
_OUTPUT_DRAIN_S = 1.0
# Environment the runtime inherits from the emulator; everything else is built as Lambda would.
_PASSED_THROUGH = ("HOME", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


@dataclass(frozen=True, slots=True)
class Credentials:
    """AWS credentials handed to the runtime (and accepted by the SigV4 check)."""

    access_key: str
    secret_key: str
    token: str | None = None


# Fixed, obviously fake credentials: the stand-in needs a signed request but never checks it.
DUMMY_CREDENTIALS = Credentials(access_key="AKIDLOCALEMULATOR", secret_key="local-emulator-secret")  # noqa: S106


def function_arn(config: EmulatorConfig) -> str:
    return f"arn:aws:lambda:{config.region}:000000000000:function:{config.function_name}"


def runtime_environment(
    *,
    config: EmulatorConfig,
    runtime_api: str,
    credentials: Credentials | None,
    bedrock_url: str | None,
    host_environ: Mapping[str, str],
    max_concurrency: int | None = None,
) -> dict[str, str]:
    """The environment of one runtime process: PROTOCOL.md §1.5 plus minimal host needs and --env;
    with `max_concurrency`, a Lambda Managed Instances environment (JSON logs, the only format LMI has)."""
    interpreter_dir = str(Path(sys.executable).parent)
    path = host_environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{secrets.token_hex(16)}"
    env = {name: host_environ[name] for name in _PASSED_THROUGH if name in host_environ}
    env.update({name: value for name, value in host_environ.items() if name.startswith("PYTHON")})
    env.update(
        {
            # The emulator's interpreter first, so `python3` in bootstrap finds the same packages.
            "PATH": f"{interpreter_dir}{os.pathsep}{path}",
            "LANG": host_environ.get("LANG", "en_US.UTF-8"),
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "_HANDLER": config.handler,
            "LAMBDA_TASK_ROOT": str(config.task_root),
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }
    )
    if credentials is not None:
        env["AWS_ACCESS_KEY_ID"] = credentials.access_key
        env["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key
        if credentials.token:
            env["AWS_SESSION_TOKEN"] = credentials.token
    if bedrock_url:
        env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = bedrock_url
    if max_concurrency is not None:
        env["AWS_LAMBDA_MAX_CONCURRENCY"] = str(max_concurrency)
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "lambda-managed-instances"
    env.update(dict(config.env))  # config refuses --env values that contradict the ones above
    return env


class RuntimeProcess:
    """One runtime child in its own session; `on_exit(self, returncode)` runs when it exits (after the
    last of its output has been read, or `_OUTPUT_DRAIN_S` later)."""

    def __init__(
        self,
        *,
        command: tuple[str, ...],
        env: Mapping[str, str],
        cwd: Path,
        on_exit: Callable[[RuntimeProcess, int], None],
        output: OutputRouting | None = None,
    ) -> None:
        self.spawned_at = time.monotonic()
        self.killed = False
        self.max_memory_mb = 0
        # stdout and stderr of the runtime share one pipe, read by a thread that copies every line to
        # the emulator's stderr (like a function's CloudWatch log) and counts the EMF documents. The
        # emulator keeps a write end of its own (not inherited: os.pipe's ends are not), for sync markers.
        read_fd, write_fd = os.pipe()
        try:
            self._popen = subprocess.Popen(
                list(command),
                env=dict(env),
                cwd=str(cwd),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,
            )
        except BaseException:
            os.close(read_fd)
            os.close(write_fd)
            raise
        self.pid = self._popen.pid
        self._output = RuntimeOutput(
            read_fd, write_fd, name=f"runtime-output-{self.pid}", routing=output or OutputRouting()
        )
        self._on_exit = on_exit
        self._exited = threading.Event()
        threading.Thread(target=self._watch, name=f"runtime-{self.pid}", daemon=True).start()

    @property
    def exited(self) -> bool:
        """Whether the watcher has seen the exit (Popen.poll() is unreliable while another thread waits)."""
        return self._exited.is_set()

    def sync_output(self, timeout: float) -> bool:
        """Wait until every line the process wrote so far has been read and routed (see RuntimeOutput)."""
        return self._output.sync(timeout)

    def _watch(self) -> None:
        returncode = self._popen.wait()
        # Its last words (a traceback) reach the log before the emulator says it exited.
        self._output.close_writer()
        self._output.join(_OUTPUT_DRAIN_S)
        self._exited.set()
        self._on_exit(self, returncode)

    def sample_memory(self) -> int:
        """Peak resident memory (VmHWM) in MB summed over the process group; remembered."""
        total_kb = 0
        for pid in _group_pids(self.pid):
            total_kb += _vm_hwm_kb(pid)
        if total_kb:
            self.max_memory_mb = max(self.max_memory_mb, -(-total_kb // 1024))
        return self.max_memory_mb

    def kill(self, *, grace_s: float = 0.0) -> None:
        """Signal the whole process group (SIGTERM then SIGKILL after `grace_s`) and reap the child."""
        self.killed = True
        if grace_s > 0:
            _signal_group(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._popen.wait(timeout=grace_s)
        _signal_group(self.pid, signal.SIGKILL)
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("runtime process %d did not exit after SIGKILL", self.pid)
        self._output.close_writer()
        self._output.join(_OUTPUT_DRAIN_S)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 5 (pgrp) comes after the parenthesised command, which may itself contain spaces.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            pids.append(int(entry.name))
    return pids


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
