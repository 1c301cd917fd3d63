"""Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY): the real bootstrap serves that many invocations
at once from forked workers, each answer under its own request id, and survives failing workers."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from recording_api import Post, RecordingApi
from runtime_process import RuntimeProcess, StartRuntime

N = 8
LMI_ENV = {"AWS_LAMBDA_MAX_CONCURRENCY": str(N)}


def workers_of(runtime: RuntimeProcess) -> list[int]:
    """The pids of the runtime's child processes (its workers)."""
    pid = runtime.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def children_of(pid: int) -> list[int]:
    """Every live process whose parent is `pid`, read from /proc (also after `pid` itself is gone)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:  # it exited while we looked
            continue
        if f"\nPPid:\t{pid}\n" in text and "State:\tZ" not in text:
            found.append(int(status.parent.name))
    return found


def wait_for_workers(runtime: RuntimeProcess, count: int, *, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(pids := workers_of(runtime)) == count:
            return pids
        time.sleep(0.02)
    raise TimeoutError(f"{len(workers_of(runtime))} workers, not {count}; log:\n{runtime.log()}")


def expected_body(request_id: str, tag: str, pieces: int = 5) -> bytes:
    return "".join(f"{request_id}:{tag}:{index}\n" for index in range(pieces)).encode()


def completed(api: RecordingApi, request_ids: list[str], *, timeout: float = 20.0) -> list[Post]:
    return [api.wait_post(kind="response", request_id=rid, timeout=timeout) for rid in request_ids]


def test_eight_slow_streams_take_about_as_long_as_one(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    api.wait_next_calls(N)  # every worker is waiting for an event
    sleep_s, pieces = 0.25, 5
    one_stream_s = sleep_s * (pieces - 1)  # 1 s of sleeping per stream; eight in turn would take 8 s
    started = time.monotonic()
    ids = [api.enqueue({"tag": f"t{index}", "sleep": sleep_s, "pieces": pieces}) for index in range(N)]
    posts = completed(api, ids)
    elapsed = time.monotonic() - started
    assert elapsed < one_stream_s * 3, f"{elapsed:.2f} s for {N} streams of {one_stream_s} s each"
    for index, (rid, post) in enumerate(zip(ids, posts, strict=True)):
        assert post.complete and post.body == expected_body(rid, f"t{index}", pieces)
        assert post.header("Lambda-Runtime-Function-Response-Mode") == "streaming"
    ports = {post.client_port for post in posts}
    assert len(ports) == N, "each stream went over a worker's own connection"
    assert len(workers_of(runtime)) == N and runtime.alive()


def test_a_failing_invocation_and_a_dying_worker_leave_the_others_alone(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    before = set(wait_for_workers(runtime, N))
    api.wait_next_calls(N)
    slow = [api.enqueue({"tag": f"s{index}", "sleep": 0.2}) for index in range(4)]
    failing = api.enqueue({"tag": "boom", "raise": True})
    dying = api.enqueue({"tag": "exit", "exit": True})
    error = api.wait_post(kind="error", request_id=failing)
    assert error.json()["errorType"] == "ValueError" and "asked to fail boom" in error.json()["errorMessage"]
    for rid, post in zip(slow, completed(api, slow), strict=True):
        assert post.body == expected_body(rid, post.body.decode().split(":")[1])
    after = set(wait_for_workers(runtime, N))  # the dead worker was replaced
    assert len(before - after) == 1, "exactly the worker that exited was replaced"
    # Nothing answered for the invocation whose worker died: Lambda times it out.
    assert dying not in {post.request_id for post in api.posts}
    again = [api.enqueue({"tag": f"again{index}", "sleep": 0.01}) for index in range(N)]
    for rid, post in zip(again, completed(api, again), strict=True):
        assert post.body.startswith(f"{rid}:again".encode())
    assert "exited with status 9; starting another" in runtime.log()


def test_a_killed_worker_is_replaced(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    victim = wait_for_workers(runtime, N)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while victim in (pids := workers_of(runtime)) or len(pids) != N:
        assert time.monotonic() < deadline, f"not replaced: {pids}"
        time.sleep(0.05)
    rid = api.enqueue({"tag": "after", "sleep": 0.01})
    assert api.wait_post(kind="response", request_id=rid).body == expected_body(rid, "after")


def test_json_logs_carry_each_invocations_request_id(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)  # no AWS_LAMBDA_LOG_FORMAT: JSON anyway
    ids = {api.enqueue({"tag": f"log{index}", "sleep": 0.05}): f"log{index}" for index in range(N)}
    completed(api, list(ids))
    lines = [json.loads(line) for line in runtime.log().splitlines() if line.startswith("{")]
    served = {line["requestId"]: line["message"] for line in lines if line.get("logger") == "lmi"}
    assert set(served) == set(ids)
    for rid, tag in ids.items():
        assert served[rid].startswith(f"serving {tag} in ")
    pids = {int(message.rsplit(" ", 1)[1]) for message in served.values()}
    assert len(pids) > 1, "the invocations were spread over several workers"


def test_sigterm_stops_the_parent_and_every_worker(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    pids = wait_for_workers(runtime, N)
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.wait() == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_sigterm_while_the_workers_are_starting_stops_them_all(
    api: RecordingApi, start_runtime: StartRuntime
) -> None:
    # Forking 128 workers takes far longer than the first one needs to reach GET /next.
    runtime = start_runtime("handlers.lmi_stream", extra_env={"AWS_LAMBDA_MAX_CONCURRENCY": "128"})
    api.wait_next_calls(1)  # the first worker is up; most of the others are still being forked
    runtime.process.send_signal(signal.SIGTERM)
    assert runtime.wait(timeout=10) == 0
    time.sleep(0.3)  # the kernel delivers the workers' parent-death signal
    assert children_of(runtime.process.pid) == [], "a worker outlived the runtime"


def test_the_runtime_api_going_away_stops_everything(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    wait_for_workers(runtime, N)
    api.wait_next_calls(N)
    api.stop()  # every waiting GET /next loses its connection
    assert runtime.wait(timeout=20) == 3
    assert "lost the Runtime API; stopping every worker" in runtime.log()


def test_workers_share_the_initialised_memory(api: RecordingApi, start_runtime: StartRuntime) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env=LMI_ENV)
    ids = [api.enqueue({"tag": f"m{index}", "sleep": 0.01}) for index in range(4 * N)]
    completed(api, ids)
    for pid in wait_for_workers(runtime, N):
        rollup = dict(
            (line.split(":")[0], int(line.split()[1]))
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
        )
        private_mib = (rollup["Private_Clean"] + rollup["Private_Dirty"]) / 1024
        shared_mib = (rollup["Shared_Clean"] + rollup["Shared_Dirty"]) / 1024
        assert private_mib < 8, f"worker {pid}: {private_mib:.1f} MiB of its own"
        assert shared_mib > private_mib, f"worker {pid}: little shared with the parent ({shared_mib:.1f} MiB)"


@pytest.mark.parametrize("value", ["", "1"])
def test_without_managed_instances_nothing_is_forked(
    api: RecordingApi, start_runtime: StartRuntime, value: str
) -> None:
    runtime = start_runtime("handlers.lmi_stream", extra_env={"AWS_LAMBDA_MAX_CONCURRENCY": value})
    rid = api.enqueue({"tag": "classic", "sleep": 0.01})
    assert api.wait_post(kind="response", request_id=rid).body == expected_body(rid, "classic")
    assert workers_of(runtime) == []
    assert not runtime.log().startswith("{")  # the text log format, as before
