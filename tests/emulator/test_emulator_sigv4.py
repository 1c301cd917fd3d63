"""--auth AWS_IAM: SigV4-signed requests pass, anything else is 403 JSON (real botocore signer as client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.emulator.conftest import raw_runtime_args
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess
from tests.support.http_client import Response, request


@pytest.fixture(scope="module")
def iam_emulator() -> Iterator[EmulatorProcess]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(raw_runtime_args("--auth", "AWS_IAM", "--region", "eu-west-1"), env=env) as emulator:
        yield emulator


def _signed(
    emulator: EmulatorProcess,
    body: bytes,
    *,
    secret: str = TEST_SECRET_KEY,
    region: str = "eu-west-1",
    when: datetime | None = None,
    send_body: bytes | None = None,
    content_sha: bool = False,
) -> Response:
    host = emulator.url.split("//", 1)[1].rstrip("/")
    aws_request = AWSRequest(
        method="POST", url=f"http://{host}/chat?x=1", data=body, headers={"Content-Type": "application/json"}
    )
    if content_sha:
        import hashlib

        aws_request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    signer = SigV4Auth(Credentials(TEST_ACCESS_KEY, secret), "lambda", region)
    if when is None:
        signer.add_auth(aws_request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(aws_request)
    headers = [(k, v) for k, v in aws_request.headers.items() if k.lower() != "host"]
    return request(
        emulator.url, "/chat?x=1", body=send_body if send_body is not None else body, headers=headers
    )


BODY = json.dumps({"scenario": "echo"}).encode()


def test_valid_signature_is_accepted_and_fills_the_authorizer(iam_emulator: EmulatorProcess) -> None:
    response = _signed(iam_emulator, BODY)
    assert response.status == 200, response.body
    event = response.json()
    iam = event["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == TEST_ACCESS_KEY
    assert event["requestContext"]["accountId"] == iam["accountId"]
    assert _signed(iam_emulator, BODY, content_sha=True).status == 200


@pytest.mark.parametrize(
    ("case", "error_type"),
    [
        ("wrong_secret", "InvalidSignatureException"),
        ("changed_body", "InvalidSignatureException"),
        ("expired", "InvalidSignatureException"),
        ("wrong_region", "InvalidSignatureException"),
        ("unsigned", "MissingAuthenticationTokenException"),
    ],
)
def test_bad_signatures_are_403(iam_emulator: EmulatorProcess, case: str, error_type: str) -> None:
    if case == "wrong_secret":
        response = _signed(iam_emulator, BODY, secret="not-the-secret")
    elif case == "changed_body":
        response = _signed(iam_emulator, BODY, send_body=BODY.replace(b"echo", b"ecHo"))
    elif case == "expired":
        response = _signed(iam_emulator, BODY, when=datetime.now(UTC) - timedelta(minutes=6))
    elif case == "wrong_region":
        response = _signed(iam_emulator, BODY, region="us-west-2")
    else:
        response = request(iam_emulator.url, "/chat", body=BODY)
    assert response.status == 403
    assert response.json()["error"]["type"] == error_type
    if case == "expired":
        assert "Signature expired" in response.json()["error"]["message"]


def test_content_sha_mismatch_is_403(iam_emulator: EmulatorProcess) -> None:
    response = _signed(iam_emulator, BODY, content_sha=True, send_body=BODY + b" ")
    assert response.status == 403
    assert response.json()["error"]["type"] == "InvalidSignatureException"
