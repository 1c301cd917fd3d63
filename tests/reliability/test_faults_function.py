"""Fault matrix, function side: handler exceptions, an import failure until fixed, and the function
timeout mid-stream (the handler's deadline stop, or the emulator killing the runtime as Lambda would).

The handler rows run `fault_handlers.handler` (tests/reliability/fault_handlers.py) with the real
runtime/bootstrap under the emulator, the function timeout before the first byte too; the deadline rows
run the real Bedrock handler and stand-in, sharing one emulator (neither kills its runtime).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability import fault_handlers
from tests.reliability.fault_support import (
    expect_full_reply,
    expect_json_error,
    group_alive,
    invocation_record,
    log_mark,
    post,
    request_id,
    runtime_pid,
    wait_for_log_after,
    wait_for_runtime,
)
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

HANDLERS_SOURCE = Path(fault_handlers.__file__)
FUNCTION_TIMEOUT_S = 2
# The deadline rows: the handler stops itself 1.5 s into the invocation, 2.5 s before the emulator's kill.
DEADLINE_TIMEOUT_S = 4
DEADLINE_MARGIN_MS = 2500


def full_body(count: int) -> bytes:
    return "".join(fault_handlers.piece(index) for index in range(count)).encode()


def expect_handler_reply(emulator: EmulatorProcess) -> Response:
    """The next request succeeds: the test handler's complete five-piece reply."""
    reply = post(emulator.url, {"fault": "none", "pieces": 5})
    assert (reply.status, reply.body) == (200, full_body(5))
    return reply


@pytest.fixture(scope="module")
def handler_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    root = tmp_path_factory.mktemp("fault_task_root")
    shutil.copy(HANDLERS_SOURCE, root / "fault_handlers.py")
    args = ["--task-root", str(root), "--handler", "fault_handlers.handler"]
    with EmulatorProcess([*args, "--timeout", str(FUNCTION_TIMEOUT_S)]) as running:
        yield running


@pytest.fixture(scope="module")
def deadline_emulator() -> Iterator[EmulatorProcess]:
    """The Bedrock handler and stand-in with a short function timeout, warmed up: a deadline row's clock
    (which starts when the request is handed to the sandbox) does not also pay for the runtime's init."""
    args = ["--timeout", str(DEADLINE_TIMEOUT_S), "--env", f"DEADLINE_MARGIN_MS={DEADLINE_MARGIN_MS}"]
    with EmulatorProcess(args) as running:
        expect_full_reply(running, "warm-up")
        yield running


# --- the handler raises ----------------------------------------------------------------------------


def test_handler_exception_before_the_first_byte_is_502_json(handler_emulator: EmulatorProcess) -> None:
    pid = wait_for_runtime(handler_emulator, other_than=None)
    reply = post(handler_emulator.url, {"fault": "raise-early"})
    error = expect_json_error(reply, 502, "ValueError")
    assert error["message"] == fault_handlers.EARLY_MESSAGE
    rid = request_id(reply)
    handler_emulator.wait_for_log(rf"Invocation failed: ValueError: {fault_handlers.EARLY_MESSAGE}")
    handler_emulator.wait_for_log(rf"\[{rid}\] function error ValueError: {fault_handlers.EARLY_MESSAGE}")
    expect_handler_reply(handler_emulator)
    assert runtime_pid(handler_emulator) == pid  # the runtime survived the handler's exception


def test_handler_exception_after_the_first_byte_ends_the_body_with_trailers(
    handler_emulator: EmulatorProcess,
) -> None:
    pid = wait_for_runtime(handler_emulator, other_than=None)
    reply = post(handler_emulator.url, {"fault": "raise-late", "pieces": 5})
    assert (reply.status, reply.body) == (200, full_body(2))  # what was sent, then a normal end
    rid = request_id(reply)
    handler_emulator.wait_for_log(rf"Handler failed mid-stream: RuntimeError: {fault_handlers.LATE_MESSAGE}")
    handler_emulator.wait_for_log(rf"\[{rid}\] mid-stream error RuntimeError: {fault_handlers.LATE_MESSAGE}")
    expect_handler_reply(handler_emulator)
    assert runtime_pid(handler_emulator) == pid


# --- the function times out ------------------------------------------------------------------------


def test_timeout_before_the_first_byte_is_502_and_kills_the_runtime(
    handler_emulator: EmulatorProcess,
) -> None:
    """A handler that never returns: the emulator kills the runtime's process group, then answers 502."""
    before = wait_for_runtime(handler_emulator, other_than=None)
    mark = log_mark(handler_emulator)
    reply = post(handler_emulator.url, {"fault": "hang-early"})
    error = expect_json_error(reply, 502, "Sandbox.Timedout")
    assert error["message"] == f"Task timed out after {FUNCTION_TIMEOUT_S}.00 seconds"
    wait_for_log_after(handler_emulator, mark, rf"Task timed out after {FUNCTION_TIMEOUT_S}\.00 seconds")
    assert not group_alive(before)  # killed before the 502 went out
    expect_handler_reply(handler_emulator)
    assert wait_for_runtime(handler_emulator, other_than=before) != before


def test_timeout_mid_stream_kills_the_runtime_and_the_next_request_works(
    handler_emulator: EmulatorProcess,
) -> None:
    """A handler that ignores its deadline is killed at the function timeout, as Lambda does."""
    before = wait_for_runtime(handler_emulator, other_than=None)
    mark = log_mark(handler_emulator)
    reply = post(handler_emulator.url, {"fault": "ignore-deadline", "pieces": 100, "gap_ms": 100})
    assert reply.status == 200
    assert 0 < len(reply.body) < len(full_body(100)) and full_body(100).startswith(reply.body)
    rid = request_id(reply)
    wait_for_log_after(handler_emulator, mark, rf"Task timed out after {FUNCTION_TIMEOUT_S}\.00 seconds")
    wait_for_log_after(handler_emulator, mark, rf"\[{rid}\] stream ended by Sandbox\.Timedout")
    report_line = rf"REPORT RequestId: {rid}\t.*Max Memory Used: (\d+) MB"
    report = wait_for_log_after(handler_emulator, mark, report_line)
    assert int(report.group(1)) > 0  # measured on the process that served it, before it was killed
    expect_handler_reply(handler_emulator)
    assert wait_for_runtime(handler_emulator, other_than=before) != before
    assert not group_alive(before)  # the kill ends before the sandbox takes the next request


def test_deadline_stop_fires_before_the_function_timeout(deadline_emulator: EmulatorProcess) -> None:
    """With enough margin the Bedrock handler ends the stream itself: `done` with stopReason deadline."""
    emulator = deadline_emulator
    pid = wait_for_runtime(emulator, other_than=None)
    reply = post(
        emulator.url, {"prompt": "deadline @stub:delay-ms=100 @stub:tokens=100"}, query="format=ndjson"
    )
    events = reply.ndjson()
    assert reply.status == 200 and [e["type"] for e in events[:-1]] == ["delta"] * (len(events) - 1)
    assert events[-1]["type"] == "done" and events[-1]["stopReason"] == "deadline"
    assert 1 <= len(events) - 1 < 100
    record = invocation_record(emulator, request_id(reply))
    assert (record["status"], record["stopReason"], record["errorType"]) == (200, "deadline", None)
    expect_full_reply(emulator)
    assert runtime_pid(emulator) == pid  # nothing was killed
    assert "Task timed out" not in emulator.log()
    # Fault injection is off unless asked for.
    expect_json_error(request(emulator.url, "/_emulator/faults", body={}), 404, "NotFound")


def test_deadline_stops_a_stalled_model_before_the_function_timeout(
    deadline_emulator: EmulatorProcess,
) -> None:
    """The stand-in stalls after its first delta: the handler's watchdog ends the stream at the deadline,
    not the function timeout."""
    emulator = deadline_emulator
    pid = wait_for_runtime(emulator, other_than=None)
    reply = post(
        emulator.url, {"prompt": "stalled @stub:delay-ms=6000 @stub:tokens=3"}, query="format=ndjson"
    )
    events = reply.ndjson()
    assert reply.status == 200
    assert [e["type"] for e in events] == ["delta", "done"]  # not cut off by the function timeout
    assert events[-1]["stopReason"] == "deadline"
    record = invocation_record(emulator, request_id(reply))
    assert (record["status"], record["stopReason"], record["errorType"]) == (200, "deadline", None)
    expect_full_reply(emulator)
    assert runtime_pid(emulator) == pid
    assert "Task timed out" not in emulator.log()


# --- the handler cannot be imported ----------------------------------------------------------------

BROKEN_MODULE = "import fault_matrix_module_that_does_not_exist\n"
FIXED_MODULE = "from fault_handlers import handler\n\n__all__ = ['handler']\n"


def test_import_failure_is_502_on_every_request_until_fixed(tmp_path: Path) -> None:
    """The handler's module missing, then failing to import, then fixed: every request is a fresh init."""
    shutil.copy(HANDLERS_SOURCE, tmp_path / "fault_handlers.py")
    entry = tmp_path / "fault_entry.py"  # not written yet: no such module
    args = ["--task-root", str(tmp_path), "--handler", "fault_entry.handler", "--timeout", "10"]
    with EmulatorProcess(args, env={"PYTHONDONTWRITEBYTECODE": "1"}) as emulator:
        for source in (None, None, BROKEN_MODULE, BROKEN_MODULE):
            if source is not None:
                entry.write_text(source)
            reply = post(emulator.url, {"fault": "none"})
            error = expect_json_error(reply, 502, "Runtime.ImportModuleError")
            assert "fault_entry" in error["message"]
            assert "Traceback" not in "".join(error.values())
            # The client gets the type and message the runtime posted to /init/error, as they were logged.
            logged = rf"(?m)init error Runtime\.ImportModuleError: {re.escape(error['message'])}$"
            emulator.wait_for_log(logged)
        entry.write_text(FIXED_MODULE)  # the fix: the next cold start imports the module
        expect_handler_reply(emulator)
        expect_handler_reply(emulator)
