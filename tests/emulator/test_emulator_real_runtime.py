"""The emulator with the real `runtime/bootstrap` and small handlers written to a temporary task root.

One emulator serves every test: its handler `dispatch` runs the function the request path names. Handler
exceptions and a missing module are rows of the fault matrix (tests/reliability/test_faults_function.py).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

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


def dispatch(event, context):
    return globals()[event["rawPath"].strip("/")](event, context)


def slow_tokens(event, context):
    for index in range(10):
        if index:
            time.sleep(0.05)
        yield f"t{index} "


def with_prelude(event, context):
    return StreamingResponse(
        iter(["a", "b"]), status_code=207, headers={"content-type": "text/x-test"}, cookies=["k=v", "z=1"]
    )


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
    args = ["--task-root", str(root), "--handler", "handlers.dispatch", "--timeout", "15"]
    with EmulatorProcess(
        [*args, "--env", "EXTRA_SETTING=on"], env={"EMULATOR_PRIVATE_MARKER": "must-not-leak"}
    ) as emulator:
        yield emulator


def test_generator_chunks_arrive_incrementally(real_emulator: EmulatorProcess) -> None:
    response = request(real_emulator.url, "/slow_tokens", body={"prompt": "x"})
    assert response.status == 200
    assert response.body == b"".join(f"t{i} ".encode() for i in range(10))
    arrivals = [at for at, _ in response.chunks]
    assert len(arrivals) >= 8
    assert arrivals[-1] - arrivals[0] >= 0.3


def test_environment_is_lambdas(real_emulator: EmulatorProcess) -> None:
    env = request(real_emulator.url, "/environment", body={}).json()
    assert env["_HANDLER"] == "handlers.dispatch"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"]) == ("us-east-1", "us-east-1")
    assert (env["AWS_LAMBDA_FUNCTION_VERSION"], env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("$LATEST", "1024")
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{env['AWS_LAMBDA_FUNCTION_NAME']}"
    assert "[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert (env["AWS_LAMBDA_INITIALIZATION_TYPE"], env["TZ"]) == ("on-demand", ":UTC")
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"].startswith("http://127.0.0.1:")
    assert env["EXTRA_SETTING"] == "on"  # --env reaches the function ...
    assert env["EMULATOR_PRIVATE_MARKER"] is None  # ... the emulator's own environment does not
    assert 0 < env["remaining"] <= 15000


def test_streaming_response_prelude(real_emulator: EmulatorProcess) -> None:
    response = request(real_emulator.url, "/with_prelude", body={})
    assert (response.status, response.header("content-type"), response.body) == (207, "text/x-test", b"ab")
    assert response.header_all("Set-Cookie") == ["k=v", "z=1"]
