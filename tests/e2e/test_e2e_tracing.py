"""The X-Ray trace header reaches Bedrock: the emulator hands each invocation a `Lambda-Runtime-Trace-Id`,
the runtime sets `_X_AMZN_TRACE_ID` from it, and botocore sends it as `X-Amzn-Trace-Id` on the Bedrock
call, where the stand-in records it; the metrics document names the same trace (`TraceId`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from emulator.bedrock_stub import BedrockStub
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

TRACE_ROOT = r"1-[0-9a-f]{8}-[0-9a-f]{24}"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[BedrockStub]:
    with BedrockStub.start() as stub:
        yield stub


@pytest.fixture(scope="module")
def emulator(stand_in: BedrockStub) -> Iterator[EmulatorProcess]:
    with EmulatorProcess(["--env", f"AWS_ENDPOINT_URL_BEDROCK_RUNTIME={stand_in.url}"]) as running:
        yield running


def test_each_invocations_trace_header_reaches_bedrock(
    emulator: EmulatorProcess, stand_in: BedrockStub
) -> None:
    roots = []
    for prompt in ("traced one @stub:tokens=2", "traced two @stub:tokens=2"):
        reply = request(
            emulator.url, "/", body={"prompt": prompt}, headers={"content-type": "application/json"}
        )
        assert reply.status == 200
        document = emulator.wait_for_json('{"_aws":', RequestId=reply.header("x-amzn-RequestId"))
        [call] = [call for call in stand_in.requests if prompt in json.dumps(call.body)]
        header = call.headers["X-Amzn-Trace-Id"]
        assert f"Root={document['TraceId']};" in header + ";"
        roots.append(document["TraceId"])
    assert len(set(roots)) == 2  # one trace per invocation, not one per process
    assert all(re.fullmatch(TRACE_ROOT, root) for root in roots)
