"""`--auth AWS_IAM` through the real Bedrock handler: only an intact, fresh SigV4 signature gets through.

Each case signs a request correctly with botocore's signer, then changes one thing before sending it, as
someone replaying a captured request would; every such request must get 403 JSON, never reach the function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.security.leak_scan import assert_no_internals
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess
from tests.support.http_client import Response, request

REGION = "eu-west-1"
BODY = json.dumps({"prompt": "signed prompt @stub:tokens=3"}).encode()
PATH = "/chat?format=sse"


@pytest.fixture(scope="module")
def iam_emulator() -> Iterator[EmulatorProcess]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(["--auth", "AWS_IAM", "--region", REGION], env=env) as emulator:
        yield emulator


@dataclass
class Signed:
    """How to sign (the first group of fields) and what to actually send (the overrides)."""

    method: str = "POST"
    path: str = PATH
    body: bytes = BODY
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    access_key: str = TEST_ACCESS_KEY
    secret: str = TEST_SECRET_KEY
    region: str = REGION
    service: str = "lambda"
    # Signing time relative to the moment of sending (the table is built at import, long before).
    skew: timedelta = timedelta(0)
    send_current_date: bool = False  # replace the signed X-Amz-Date by the sending moment's
    send_method: str | None = None
    send_path: str | None = None
    send_body: bytes | None = None
    send_headers: dict[str, str] = field(default_factory=dict)
    drop_headers: tuple[str, ...] = ()

    def send(self, emulator: EmulatorProcess) -> Response:
        host = emulator.url.split("//", 1)[1].rstrip("/")
        aws_request = AWSRequest(
            method=self.method, url=f"http://{host}{self.path}", data=self.body, headers=dict(self.headers)
        )
        signer = SigV4Auth(Credentials(self.access_key, self.secret), self.service, self.region)
        now = _now()
        with mock.patch("botocore.auth.get_current_datetime", return_value=now + self.skew):
            signer.add_auth(aws_request)
        headers = {k: v for k, v in aws_request.headers.items() if k.lower() != "host"}
        headers.update(self.send_headers)
        if self.send_current_date:
            headers["X-Amz-Date"] = f"{now:%Y%m%dT%H%M%SZ}"
        for name in self.drop_headers:
            headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        return request(
            emulator.url,
            self.send_path or self.path,
            method=self.send_method or self.method,
            body=self.body if self.send_body is None else self.send_body,
            headers=list(headers.items()),
        )


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _authorization(case: Signed, emulator: EmulatorProcess, edit: str) -> dict[str, str]:
    """The Authorization header of `case`, rewritten by `edit` ('no-host' or 'garbled')."""
    host = emulator.url.split("//", 1)[1].rstrip("/")
    aws_request = AWSRequest(method="POST", url=f"http://{host}{PATH}", data=BODY, headers=dict(case.headers))
    SigV4Auth(Credentials(TEST_ACCESS_KEY, TEST_SECRET_KEY), "lambda", REGION).add_auth(aws_request)
    value = aws_request.headers["Authorization"]
    if edit == "no-host":
        value = value.replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
    else:
        value = value.replace("AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA1 ")
    return {"Authorization": value, "X-Amz-Date": aws_request.headers["X-Amz-Date"]}


def test_correctly_signed_request_streams_the_reply(iam_emulator: EmulatorProcess) -> None:
    for case in (
        Signed(),
        Signed(headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": _sha(BODY)}),
    ):
        response = case.send(iam_emulator)
        assert response.status == 200, response.body
        assert b"event: done" in response.body


def _now() -> datetime:
    return datetime.now(UTC)


REJECTED = {
    "unsigned": (None, "MissingAuthenticationTokenException"),
    "wrong secret": (Signed(secret="not-the-secret"), "InvalidSignatureException"),
    "unknown access key": (Signed(access_key="AKIDSOMEONEELSE"), "UnrecognizedClientException"),
    "wrong region": (Signed(region="us-east-1"), "InvalidSignatureException"),
    "wrong service": (Signed(service="execute-api"), "InvalidSignatureException"),
    "expired": (Signed(skew=-timedelta(minutes=6)), "InvalidSignatureException"),
    "from the future": (Signed(skew=timedelta(minutes=6)), "InvalidSignatureException"),
    "tampered signed header": (
        Signed(send_headers={"Content-Type": "text/plain"}),
        "InvalidSignatureException",
    ),
    "tampered date": (
        Signed(skew=-timedelta(seconds=30), send_current_date=True),
        "InvalidSignatureException",
    ),
    "date header removed": (Signed(drop_headers=("X-Amz-Date",)), "InvalidSignatureException"),
    "replay, changed body": (
        Signed(send_body=BODY.replace(b"signed", b"forged")),
        "InvalidSignatureException",
    ),
    "replay, body appended": (Signed(send_body=BODY + b" "), "InvalidSignatureException"),
    "replay, changed body, content sha": (
        Signed(
            headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": _sha(BODY)},
            send_body=BODY.replace(b"signed", b"forged"),
        ),
        "InvalidSignatureException",
    ),
    "replay, changed body, unsigned payload": (
        Signed(
            headers={"Content-Type": "application/json", "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
            send_body=BODY.replace(b"signed", b"forged"),
        ),
        "InvalidSignatureException",
    ),
    "replay, changed query": (Signed(send_path="/chat?format=ndjson"), "InvalidSignatureException"),
    "replay, added query": (Signed(send_path=PATH + "&debug=1"), "InvalidSignatureException"),
    "replay, dropped query": (Signed(send_path="/chat"), "InvalidSignatureException"),
    "replay, changed path": (Signed(send_path="/admin?format=sse"), "InvalidSignatureException"),
    "replay, changed method": (Signed(send_method="PUT"), "InvalidSignatureException"),
}


@pytest.mark.parametrize("case", list(REJECTED))
def test_anything_but_an_intact_fresh_signature_is_403(iam_emulator: EmulatorProcess, case: str) -> None:
    signed, error_type = REJECTED[case]
    response = request(iam_emulator.url, PATH, body=BODY) if signed is None else signed.send(iam_emulator)
    assert response.status == 403, (case, response.body)
    assert response.header("content-type") == "application/json"
    document = response.json()
    assert set(document) == {"error"} and set(document["error"]) == {"type", "message"}
    assert document["error"]["type"] == error_type, document
    assert_no_internals(response.body)
    if case in ("expired", "from the future"):
        assert "Signature expired" in document["error"]["message"]


@pytest.mark.parametrize("edit", ["no-host", "garbled"])
def test_malformed_authorization_is_403(iam_emulator: EmulatorProcess, edit: str) -> None:
    headers = {"Content-Type": "application/json", **_authorization(Signed(), iam_emulator, edit)}
    response = request(iam_emulator.url, PATH, body=BODY, headers=headers)
    assert response.status == 403
    expected = "InvalidSignatureException" if edit == "no-host" else "IncompleteSignatureException"
    assert response.json()["error"]["type"] == expected
