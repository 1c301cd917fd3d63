"""SigV4 from the client checked by the emulator's `--auth AWS_IAM`: good ones pass, bad ones get 403."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from botocore.credentials import ReadOnlyCredentials

import stream_client
from stream_client import HttpStatusError, StreamOptions, signing
from stream_client.client import prepare_request
from tests.client.cli_runner import run_cli
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess, hermetic_env

pytestmark = pytest.mark.slow

GOOD = ReadOnlyCredentials(TEST_ACCESS_KEY, TEST_SECRET_KEY, None)
PROMPT = "signed @stub:tokens=3"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(["--auth", "AWS_IAM"], env=env) as emulator:
        yield emulator.url


def post(url: str, *, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers=headers, timeout=30)


def test_cli_signed_with_the_credential_chain_passes(url: str) -> None:
    env = hermetic_env(AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY)
    done = run_cli(url, PROMPT, "--sign", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout and "output_tokens=3 " in done.stderr


def test_cli_unsigned_is_403(url: str) -> None:
    done = run_cli(url, PROMPT)  # a 127.0.0.1 URL is not signed unless --sign
    assert done.returncode == 1
    assert done.stderr.startswith("python -m stream_client: HTTP 403: ")


def test_api_signed_path_and_query_pass(url: str) -> None:
    options = StreamOptions(sign=True, credentials=GOOD)
    with stream_client.open_stream(url + "chat/v1?b=2&a=x%20y", PROMPT, options=options) as call:
        assert "".join(call)
    assert call.result.complete


def test_wrong_secret_is_403(url: str) -> None:
    wrong = ReadOnlyCredentials(TEST_ACCESS_KEY, "not-the-secret", None)
    with pytest.raises(HttpStatusError) as info:
        list(stream_client.stream(url, PROMPT, sign=True, credentials=wrong))
    assert info.value.status == 403 and "signature" in info.value.message.lower()


def test_changed_body_is_403(url: str) -> None:
    prepared = prepare_request(url, PROMPT, StreamOptions(sign=True, credentials=GOOD))
    assert post(url, body=prepared.body, headers=dict(prepared.headers)).status_code == 200
    tampered = prepared.body.replace(b"signed", b"SIGNED")
    response = post(url, body=tampered, headers=dict(prepared.headers))
    assert response.status_code == 403
    assert response.json()["error"]["message"]


def test_expired_date_is_403(url: str) -> None:
    body = b'{"prompt": "late @stub:tokens=2"}'
    headers = {"Content-Type": "application/json"}

    def signed_at(when: dt.datetime) -> dict[str, str]:
        return signing.sign_headers(
            method="POST",
            url=url,
            body=body,
            headers=headers,
            credentials=GOOD,
            region="us-east-1",
            signed_at=when,
        )

    now = dt.datetime.now(dt.UTC)
    assert post(url, body=body, headers=signed_at(now)).status_code == 200
    response = post(url, body=body, headers=signed_at(now - dt.timedelta(minutes=20)))
    assert response.status_code == 403
    assert "expired" in response.json()["error"]["message"].lower()


def test_wrong_region_is_403(url: str) -> None:
    with pytest.raises(HttpStatusError) as info:
        list(stream_client.stream(url, PROMPT, sign=True, credentials=GOOD, region="eu-west-1"))
    assert info.value.status == 403
