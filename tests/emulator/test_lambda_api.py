"""`serve --lambda-api-port 0`: boto3's own Lambda client against the real emulator and the real
`runtime/bootstrap` running small handlers from a temporary task root. botocore decodes every
event-stream frame and every error; nothing here parses the Lambda API's bytes itself."""

from __future__ import annotations

import base64
import json
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.emulator_process import REPO, TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess
from tests.support.http_client import request

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)

FUNCTION_NAME = "direct-door-test"
REGION = "us-east-1"
TIMEOUT_S = 3
# The handlers the runtime runs; `dispatch` picks one by the event's "case" (other events are echoed).
HANDLERS = """
import json
import sys
import time


class ModelStreamErrorException(Exception):
    pass


def dispatch(event, context):
    if not isinstance(event, dict) or "case" not in event:
        return {"event": event}
    return globals()[event["case"]](event, context)


def stream(event, context):
    print(f"log marker {event.get('marker', '-')}", flush=True)
    document = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
            {"Namespace": "LambdaApiTest", "Dimensions": [["FunctionName"]],
             "Metrics": [{"Name": "Requests", "Unit": "Count"}]}]},
        "FunctionName": context.function_name, "Requests": 1,
    }
    print(json.dumps(document), flush=True)

    def pieces():
        for index in range(event.get("n", 3)):
            if index:
                time.sleep(event.get("delay_ms", 0) / 1000)
            yield f"piece {index};"
    return pieces()


def fail_mid(event, context):
    yield "partial;"
    yield "more;"
    raise ModelStreamErrorException("the model stream broke")


def fail_first(event, context):
    raise ValueError("refused before the first byte")


def text(event, context):
    return "plain text"


def sleep_mid(event, context):
    yield "before the silence;"
    time.sleep(60)
    yield "never"


def slow(event, context):
    time.sleep(event["s"])
    return "slept"
"""


def task_root(directory: Path) -> Path:
    (directory / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    return directory


def emulator_args(root: Path, *extra: str) -> list[str]:
    return [
        "--lambda-api-port", "0", "--task-root", str(root), "--handler", "handlers.dispatch",
        "--function-name", FUNCTION_NAME, "--timeout", str(TIMEOUT_S), *extra,
    ]  # fmt: skip


def lambda_client(emulator: EmulatorProcess, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "endpoint_url": emulator.lambda_api_url,
        "region_name": REGION,
        "aws_access_key_id": TEST_ACCESS_KEY,
        "aws_secret_access_key": TEST_SECRET_KEY,
        "config": Config(retries={"total_max_attempts": 1}, read_timeout=30),
    }
    return boto3.client("lambda", **{**settings, **overrides})


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(emulator_args(task_root(tmp_path_factory.mktemp("task_root")))) as running:
        yield running


@pytest.fixture(scope="module")
def lam(emulator: EmulatorProcess) -> Any:
    return lambda_client(emulator)


def stream(
    lam: Any, payload: object, **kwargs: Any
) -> tuple[dict[str, Any], list[tuple[float, dict[str, Any]]]]:
    """InvokeWithResponseStream: the response and each decoded event with its arrival time."""
    response = lam.invoke_with_response_stream(
        FunctionName=FUNCTION_NAME, Payload=json.dumps(payload).encode(), **kwargs
    )
    return response, [(time.monotonic(), event) for event in response["EventStream"]]


def chunks(events: Sequence[tuple[float, dict[str, Any]]]) -> list[bytes]:
    return [event["PayloadChunk"]["Payload"] for _, event in events if "PayloadChunk" in event]


def invocations(emulator: EmulatorProcess) -> int:
    health = request(emulator.url, "/_emulator/health", method="GET").json()
    return sum(int(sandbox["invocations"]) for sandbox in health["sandboxes"])


# --- InvokeWithResponseStream ----------------------------------------------------------------------


def test_payload_chunks_arrive_as_the_runtime_sends_them(lam: Any) -> None:
    response, events = stream(lam, {"case": "stream", "n": 6, "delay_ms": 150})
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/octet-stream"
    assert chunks(events) == [f"piece {i};".encode() for i in range(6)]  # one event per runtime chunk
    arrivals = [at for at, event in events if "PayloadChunk" in event]
    assert arrivals[-1] - arrivals[0] >= 0.5  # 5 gaps of 150 ms: the first long before the last
    assert len({round(at, 2) for at in arrivals}) >= 4  # not one burst at the end
    assert events[-1][1] == {"InvokeComplete": {}}  # success: an empty InvokeComplete, last
    assert sum("InvokeComplete" in event for _, event in events) == 1


def test_the_runtimes_content_type_is_the_streams(lam: Any) -> None:
    response, events = stream(lam, {"case": "text"})
    assert response["ResponseStreamContentType"] == "text/plain; charset=utf-8"
    assert chunks(events) == [b"plain text"] and events[-1][1] == {"InvokeComplete": {}}


def test_a_mid_stream_failure_ends_with_its_error_in_invoke_complete(lam: Any) -> None:
    response, events = stream(lam, {"case": "fail_mid"})
    assert response["StatusCode"] == 200
    assert chunks(events) == [b"partial;", b"more;"]
    complete = events[-1][1]["InvokeComplete"]
    assert complete == {"ErrorCode": "ModelStreamErrorException", "ErrorDetails": "the model stream broke"}


def test_a_failure_before_the_first_byte_is_an_invoke_complete_alone(lam: Any) -> None:
    response, events = stream(lam, {"case": "fail_first"})
    assert response["StatusCode"] == 200 and response["ResponseStreamContentType"] == "application/json"
    assert [event for _, event in events] == [
        {"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "refused before the first byte"}}
    ]


def test_log_type_tail_adds_the_invocations_log(lam: Any) -> None:
    response, events = stream(lam, {"case": "stream", "marker": "m-4711"}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    log = base64.b64decode(events[-1][1]["InvokeComplete"]["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert "log marker m-4711\n" in log
    assert f"\nEND RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: " in log
    assert log.endswith("\n") and len(log.encode()) <= 4096


def test_a_timeout_mid_stream_ends_with_sandbox_timedout(lam: Any) -> None:
    started = time.monotonic()
    _, events = stream(lam, {"case": "sleep_mid"})
    assert chunks(events) == [b"before the silence;"]
    complete = events[-1][1]["InvokeComplete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert complete["ErrorDetails"] == f"Task timed out after {TIMEOUT_S:.2f} seconds"
    assert TIMEOUT_S <= time.monotonic() - started < TIMEOUT_S + 5
    _, after = stream(lam, {"case": "text"})  # a fresh runtime serves the next one
    assert chunks(after) == [b"plain text"]


def test_a_caller_leaving_mid_stream_leaves_the_runtime_free(emulator: EmulatorProcess, lam: Any) -> None:
    response = lam.invoke_with_response_stream(
        FunctionName=FUNCTION_NAME, Payload=b'{"case": "stream", "n": 8, "delay_ms": 100}'
    )
    events = iter(response["EventStream"])
    assert next(events) == {"PayloadChunk": {"Payload": b"piece 0;"}}
    response["EventStream"].close()  # hangs up with seven chunks to come
    emulator.wait_for_log(r"client disconnected; draining the runtime's stream")
    _, after = stream(lam, {"case": "text"})  # the same runtime (concurrency 1) answers the next one
    assert chunks(after) == [b"plain text"]


def test_dry_run_is_204_and_invokes_nothing(emulator: EmulatorProcess, lam: Any) -> None:
    before = invocations(emulator)
    response = lam.invoke_with_response_stream(FunctionName=FUNCTION_NAME, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert lam.invoke(FunctionName=FUNCTION_NAME, InvocationType="DryRun")["StatusCode"] == 204
    assert invocations(emulator) == before


# --- Invoke (buffered) -----------------------------------------------------------------------------


def test_invoke_returns_the_whole_stream_at_once(lam: Any) -> None:
    response = lam.invoke(FunctionName=FUNCTION_NAME, Payload=json.dumps({"case": "stream", "n": 4}))
    assert response["StatusCode"] == 200 and response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response
    assert response["Payload"].read() == b"piece 0;piece 1;piece 2;piece 3;"


def test_invoke_passes_any_json_value_and_an_empty_payload_is_an_empty_object(lam: Any) -> None:
    for payload, event in ((b'"hi"', "hi"), (b"[1, 2]", [1, 2]), (b"", {}), (b"null", None)):
        response = lam.invoke(FunctionName=FUNCTION_NAME, Payload=payload)
        assert json.loads(response["Payload"].read()) == {"event": event}


def test_invoke_reports_a_function_error_in_the_payload(lam: Any) -> None:
    for case, error_type, message in (
        ("fail_first", "ValueError", "refused before the first byte"),
        ("fail_mid", "ModelStreamErrorException", "the model stream broke"),
    ):
        response = lam.invoke(FunctionName=FUNCTION_NAME, Payload=json.dumps({"case": case}))
        assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
        error = json.loads(response["Payload"].read())
        assert (error["errorType"], error["errorMessage"]) == (error_type, message)


def test_invoke_log_tail_is_in_the_header(lam: Any) -> None:
    response = lam.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"case": "text"}', LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert log.startswith(f"START RequestId: {request_id}") and f"REPORT RequestId: {request_id}" in log


def test_an_event_invocation_is_202_and_still_runs(emulator: EmulatorProcess, lam: Any) -> None:
    before = invocations(emulator)
    response = lam.invoke(FunctionName=FUNCTION_NAME, InvocationType="Event", Payload=b'{"case": "text"}')
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    deadline = time.monotonic() + 10
    while invocations(emulator) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert invocations(emulator) == before + 1


# --- counted like every other invocation -----------------------------------------------------------


def test_invocations_count_in_health_and_metrics(emulator: EmulatorProcess, lam: Any) -> None:
    def documents() -> int:
        return int(request(emulator.url, "/_emulator/metrics", method="GET").json()["documents"])

    before, documents_before = invocations(emulator), documents()
    stream(lam, {"case": "stream"})
    lam.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"case": "stream"}')
    assert invocations(emulator) == before + 2
    deadline = time.monotonic() + 5
    while documents() < documents_before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert documents() == documents_before + 2


# --- names and refusals ----------------------------------------------------------------------------

ARN = f"arn:aws:lambda:{REGION}:000000000000:function:{FUNCTION_NAME}"


@pytest.mark.parametrize(
    ("name", "qualifier"),
    [
        (FUNCTION_NAME, None),
        ("function", None),  # the name AWS's Runtime Interface Emulator serves
        (ARN, None),
        (f"{ARN}:$LATEST", None),
        (f"000000000000:function:{FUNCTION_NAME}", None),
        (f"{FUNCTION_NAME}:$LATEST", None),
        (FUNCTION_NAME, "$LATEST"),
    ],
)
def test_names_of_the_function_are_served(lam: Any, name: str, qualifier: str | None) -> None:
    extra = {"Qualifier": qualifier} if qualifier else {}
    response = lam.invoke(FunctionName=name, Payload=b'{"case": "text"}', **extra)
    assert response["Payload"].read() == b"plain text"


@pytest.mark.parametrize(
    ("name", "qualifier", "not_found"),
    [
        ("another-function", None, f"arn:aws:lambda:{REGION}:000000000000:function:another-function"),
        (f"{FUNCTION_NAME}:live", None, f"{ARN}:live"),
        (FUNCTION_NAME, "1", f"{ARN}:1"),
        (ARN.replace(REGION, "eu-west-1"), None, ARN.replace(REGION, "eu-west-1")),
        (ARN.replace("000000000000", "123456789012"), None, ARN.replace("000000000000", "123456789012")),
    ],
)
def test_any_other_function_is_resource_not_found(
    emulator: EmulatorProcess, lam: Any, name: str, qualifier: str | None, not_found: str
) -> None:
    before = invocations(emulator)
    extra = {"Qualifier": qualifier} if qualifier else {}
    for call in (lam.invoke, lam.invoke_with_response_stream):
        with pytest.raises(ClientError) as raised:
            call(FunctionName=name, Payload=b"{}", **extra)
        error = raised.value.response
        assert error["Error"]["Code"] == "ResourceNotFoundException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert error["Error"]["Message"] == f"Function not found: {not_found}"
    assert invocations(emulator) == before


def test_a_malformed_name_is_a_validation_exception(lam: Any) -> None:
    for name in ("bad name!", "x" * 65):
        with pytest.raises(ClientError) as raised:
            lam.invoke(FunctionName=name, Payload=b"{}")
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("payload", [b"hello", b"{", b'{"a": NaN}', b"\xff\xfe"])
def test_a_payload_that_is_not_json_is_invalid_request_content(
    emulator: EmulatorProcess, lam: Any, payload: bytes
) -> None:
    before = invocations(emulator)
    for call in (lam.invoke, lam.invoke_with_response_stream):
        with pytest.raises(ClientError) as raised:
            call(FunctionName=FUNCTION_NAME, Payload=payload)
        error = raised.value.response
        assert error["Error"]["Code"] == "InvalidRequestContentException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error["Error"]["Message"].startswith("Could not parse request body into json")
    assert invocations(emulator) == before


def test_a_payload_over_6_mb_is_request_too_large(lam: Any) -> None:
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=FUNCTION_NAME, Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_an_invocation_type_outside_the_operations_enum_is_refused(lam: Any) -> None:
    with pytest.raises(ClientError) as raised:
        lam.invoke_with_response_stream(FunctionName=FUNCTION_NAME, InvocationType="Event", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "[RequestResponse, DryRun]" in raised.value.response["Error"]["Message"]


def test_no_free_runtime_and_no_queue_is_too_many_requests(
    emulator_factory: type[EmulatorProcess], tmp_path: Path
) -> None:
    running = emulator_factory(emulator_args(task_root(tmp_path), "--max-queue", "0"))
    lam = lambda_client(running)

    busy = threading.Thread(
        target=lambda: lam.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"case": "slow", "s": 1.5}')
    )
    busy.start()
    try:
        deadline = time.monotonic() + 5
        while invocations(running) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(ClientError) as raised:
            lam.invoke(FunctionName=FUNCTION_NAME, Payload=b"{}")
        assert raised.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        busy.join()
