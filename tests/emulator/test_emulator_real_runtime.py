"""The emulator with the real `runtime/bootstrap` and small handlers written to a temporary task root."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.emulator_process import REPO, EmulatorProcess
from tests.support.http_client import request

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)

HANDLERS = """
import os
import time

from streaming_runtime import StreamingResponse


def slow_tokens(event, context):
    for index in range(10):
        if index:
            time.sleep(0.05)
        yield f"t{index} "


def with_prelude(event, context):
    return StreamingResponse(
        iter(["a", "b"]), status_code=207, headers={"content-type": "text/x-test"}, cookies=["k=v", "z=1"]
    )


def fails_early(event, context):
    raise ValueError("bad input here")


def fails_late(event, context):
    yield "partial "
    raise RuntimeError("model went away")


NAMES = (
    "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_INITIALIZATION_TYPE", "TZ",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "EXTRA_SETTING",
    "EMULATOR_PRIVATE_MARKER",
)


def environment(event, context):
    found = {name: os.environ.get(name) for name in NAMES}
    return found | {"remaining": context.get_remaining_time_in_millis()}
"""


@pytest.fixture(scope="module")
def real_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    root = tmp_path_factory.mktemp("task_root")
    (root / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    args = ["--task-root", str(root), "--handler", "handlers.slow_tokens", "--timeout", "15"]
    with EmulatorProcess(
        [*args, "--env", "EXTRA_SETTING=on"], env={"EMULATOR_PRIVATE_MARKER": "must-not-leak"}
    ) as emulator:
        yield emulator


@pytest.fixture
def handler_emulator(
    emulator_factory: type[EmulatorProcess], tmp_path: Path
) -> Callable[..., EmulatorProcess]:
    def start(handler: str, *extra: str) -> EmulatorProcess:
        (tmp_path / "handlers.py").write_text(textwrap.dedent(HANDLERS))
        return emulator_factory(
            ["--task-root", str(tmp_path), "--handler", handler, "--timeout", "15", *extra]
        )

    return start


def test_generator_chunks_arrive_incrementally(real_emulator: EmulatorProcess) -> None:
    response = request(real_emulator.url, "/", body={"prompt": "x"})
    assert response.status == 200
    assert response.body == b"".join(f"t{i} ".encode() for i in range(10))
    arrivals = [at for at, _ in response.chunks]
    assert len(arrivals) >= 8
    assert arrivals[-1] - arrivals[0] >= 0.3


def test_environment_is_lambdas(handler_emulator: Callable[..., EmulatorProcess]) -> None:
    emulator = handler_emulator("handlers.environment")
    env = request(emulator.url, "/", body={}).json()
    assert env["_HANDLER"] == "handlers.environment"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("us-east-1", "us-east-1")
    assert (env["AWS_LAMBDA_FUNCTION_VERSION"], env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("$LATEST", "1024")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{env['AWS_LAMBDA_FUNCTION_NAME']}"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert (env["AWS_LAMBDA_INITIALIZATION_TYPE"], env["TZ"]) == ("on-demand", ":UTC")
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"].startswith("http://127.0.0.1:")
    assert env["EMULATOR_PRIVATE_MARKER"] is None
    assert 0 < env["remaining"] <= 15000


def test_streaming_response_prelude(handler_emulator: Callable[..., EmulatorProcess]) -> None:
    emulator = handler_emulator("handlers.with_prelude")
    response = request(emulator.url, "/", body={})
    assert (response.status, response.header("content-type"), response.body) == (207, "text/x-test", b"ab")
    assert response.header_all("Set-Cookie") == ["k=v", "z=1"]


def test_exception_before_first_byte_is_502(handler_emulator: Callable[..., EmulatorProcess]) -> None:
    emulator = handler_emulator("handlers.fails_early")
    response = request(emulator.url, "/", body={})
    assert response.status == 502
    assert response.json()["error"] == {"type": "ValueError", "message": "bad input here"}
    assert request(emulator.url, "/", body={}).status == 502  # the runtime survived and answered again


def test_exception_mid_stream_ends_body_and_logs_trailers(
    handler_emulator: Callable[..., EmulatorProcess],
) -> None:
    emulator = handler_emulator("handlers.fails_late")
    response = request(emulator.url, "/", body={})
    assert (response.status, response.body) == (200, b"partial ")
    emulator.wait_for_log(r"mid-stream error RuntimeError: model went away")


def test_missing_handler_module_is_502_every_time(handler_emulator: Callable[..., EmulatorProcess]) -> None:
    emulator = handler_emulator("no_such_module.handler")
    for _ in range(2):
        response = request(emulator.url, "/", body={})
        assert response.status == 502
        assert response.json()["error"]["type"].startswith("Runtime.")
