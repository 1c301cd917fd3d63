"""`serve --lambda-api-port 0 --auth AWS_IAM`: the Lambda API verifies SigV4 for service `lambda` as
Lambda does. boto3 signs with the emulator's credentials and streams; a wrong secret, an unknown key,
another region or no signature at all is a 403 in Lambda's error shape, and reaches no runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.test_lambda_api import (
    FUNCTION_NAME,
    emulator_args,
    invocations,
    lambda_client,
    task_root,
)
from tests.support.emulator_process import REPO, TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)


@pytest.fixture(scope="module")
def iam_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    root: Path = task_root(tmp_path_factory.mktemp("task_root"))
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(emulator_args(root, "--auth", "AWS_IAM"), env=env) as running:
        yield running


def test_a_right_signature_streams(iam_emulator: EmulatorProcess) -> None:
    lam = lambda_client(iam_emulator)
    response = lam.invoke_with_response_stream(
        FunctionName=FUNCTION_NAME, Payload=json.dumps({"case": "stream", "n": 3}).encode()
    )
    events = list(response["EventStream"])
    assert [event["PayloadChunk"]["Payload"] for event in events[:-1]] == [
        b"piece 0;",
        b"piece 1;",
        b"piece 2;",
    ]
    assert events[-1] == {"InvokeComplete": {}}
    assert (
        lam.invoke(FunctionName=FUNCTION_NAME, Payload=b'{"case": "text"}')["Payload"].read() == b"plain text"
    )


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"aws_secret_access_key": "not-the-secret"}, "InvalidSignatureException"),
        ({"region_name": "eu-west-1"}, "InvalidSignatureException"),
        ({"aws_access_key_id": "AKIDSOMEONEELSE"}, "UnrecognizedClientException"),
        (
            {"config": Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})},
            "MissingAuthenticationTokenException",
        ),
    ],
)
def test_a_wrong_or_missing_signature_is_403(
    iam_emulator: EmulatorProcess, overrides: dict[str, Any], code: str
) -> None:
    lam = lambda_client(iam_emulator, **overrides)
    before = invocations(iam_emulator)
    for call in (lam.invoke_with_response_stream, lam.invoke):
        with pytest.raises(ClientError) as raised:
            call(FunctionName=FUNCTION_NAME, Payload=b'{"case": "text"}')
        error = raised.value.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert error["Error"]["Code"] == code
        assert error["Error"]["Message"]
    assert invocations(iam_emulator) == before
    assert "Lambda API refused POST" in iam_emulator.log() and TEST_SECRET_KEY not in iam_emulator.log()


def test_the_signature_is_checked_before_the_name(iam_emulator: EmulatorProcess) -> None:
    lam = lambda_client(iam_emulator, aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="no-such-function", Payload=b"not json")
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
