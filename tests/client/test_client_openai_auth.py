"""The openai SDK over SigV4: signatures the emulator's verifier accepts; the SDK against `--auth AWS_IAM`."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from emulator.sigv4 import AuthError, SignedRequest, verify
from emulator.supervisor import Credentials
from stream_client.errors import MissingCredentialsError
from stream_client.openai_auth import async_iam_http_client, iam_http_client
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, EmulatorProcess, hermetic_env

TOKEN = "fake-session-token"
KNOWN = [Credentials(TEST_ACCESS_KEY, TEST_SECRET_KEY, TOKEN)]
MODEL = "amazon.nova-lite-v1:0"
LOCAL = "http://127.0.0.1:9/v1"  # never dialled: the capturing transport answers
FUNCTION_URL = "https://abcdefghij0123456789.lambda-url.eu-west-2.on.aws/v1"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed fake credentials and no profile files, metadata probes or configured region."""
    for name in [name for name in os.environ if name.startswith(("AWS_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)


class Capture:
    """A transport that keeps each request exactly as the client would send it, and answers `reply`."""

    def __init__(self, reply: object) -> None:
        self.reply = reply
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return httpx2.Response(200, json=self.reply)

    def transport(self) -> httpx2.MockTransport:
        return httpx2.MockTransport(self)

    def verified(self, *, region: str = "us-east-1", body: bytes | None = None) -> dict[str, object]:
        """The emulator's SigV4 check of the last request (with `body` in place of the sent one)."""
        sent = self.requests[-1]
        return verify(
            SignedRequest(
                method=sent.method,
                target=sent.url.raw_path.decode("ascii"),
                headers=sent.headers.multi_items(),
                body=sent.content if body is None else body,
            ),
            region=region,
            known=KNOWN,
        )


COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": MODEL,
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
}
MODELS = {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "amazon"}]}


def sdk(capture: Capture, base_url: str = LOCAL, **client_kwargs: Any) -> openai.OpenAI:
    http_client = iam_http_client(transport=capture.transport(), **client_kwargs)
    return openai.OpenAI(base_url=base_url, api_key="unused", http_client=http_client, max_retries=0)


def signed_headers(request: httpx2.Request) -> list[str]:
    return request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")


# --- the signature, checked by the emulator's verifier ------------------------------------------------


def test_sdk_post_is_signed_over_its_json_body() -> None:
    capture = Capture(COMPLETION)
    sdk(capture).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
    sent = capture.requests[-1]
    assert sent.method == "POST" and sent.url.path == "/v1/chat/completions"
    assert b'"hello"' in sent.content
    assert sent.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEMULATORTEST/")
    assert "bearer" not in str(sent.headers).lower()
    assert sent.headers["x-amz-security-token"] == TOKEN
    assert capture.verified()["accessKey"] == TEST_ACCESS_KEY
    # The SDK's own headers, the transport's and hop-by-hop ones are sent but left out of the signature.
    assert "x-stainless-retry-count" in sent.headers and "accept-encoding" in sent.headers
    assert signed_headers(sent) == ["content-type", "host", "x-amz-date", "x-amz-security-token"]


def test_a_changed_body_no_longer_verifies() -> None:
    capture = Capture(COMPLETION)
    sdk(capture).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello"}])
    capture.verified()
    tampered = capture.requests[-1].content.replace(b"hello", b"HELLO")
    with pytest.raises(AuthError, match="signature we calculated does not match"):
        capture.verified(body=tampered)


def test_sdk_get_is_signed() -> None:
    capture = Capture(MODELS)
    assert [model.id for model in sdk(capture).models.list()] == [MODEL]
    sent = capture.requests[-1]
    assert sent.method == "GET" and sent.content == b""
    assert "bearer" not in str(sent.headers).lower()
    assert signed_headers(sent) == ["host", "x-amz-date", "x-amz-security-token"]
    capture.verified()


def test_region_comes_from_the_function_url_host_unless_given() -> None:
    capture = Capture(MODELS)
    list(sdk(capture, FUNCTION_URL).models.list())
    assert "/eu-west-2/lambda/aws4_request," in capture.requests[-1].headers["authorization"]
    capture.verified(region="eu-west-2")
    list(sdk(capture, FUNCTION_URL, region="ap-south-1").models.list())
    capture.verified(region="ap-south-1")


def test_credentials_are_read_again_for_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    # With an expiry, botocore's env provider gives refreshable credentials that re-read the
    # environment when they are about to expire: this stands in for a rotating role session.
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", soon)
    capture = Capture(MODELS)
    client = sdk(capture)
    list(client.models.list())
    capture.verified()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDROTATED")
    list(client.models.list())
    assert "Credential=AKIDROTATED/" in capture.requests[-1].headers["authorization"]


def test_no_credentials_raises_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    capture = Capture(MODELS)
    with pytest.raises(MissingCredentialsError):
        sdk(capture).models.list()
    assert capture.requests == []


def test_async_sdk_post_is_signed() -> None:
    capture = Capture(COMPLETION)

    async def call() -> None:
        http_client = async_iam_http_client(transport=capture.transport())
        async with openai.AsyncOpenAI(
            base_url=LOCAL, api_key="unused", http_client=http_client, max_retries=0
        ) as client:
            await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    asyncio.run(call())
    assert "bearer" not in str(capture.requests[-1].headers).lower()
    capture.verified()


def test_clients_keep_the_sdk_defaults_but_not_redirects() -> None:
    expected = openai.DefaultHttpxClient().timeout
    for client in (iam_http_client(), async_iam_http_client()):
        assert client.timeout == expected and not client.follow_redirects
    assert iam_http_client(follow_redirects=True, timeout=5).timeout == httpx2.Timeout(5)


def test_importing_stream_client_loads_neither_openai_nor_httpx2() -> None:
    code = "import sys, stream_client.__main__; print(sorted({'openai', 'httpx2'} & set(sys.modules)))"
    command = [sys.executable, "-c", code]
    done = subprocess.run(command, env=hermetic_env(), capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


# --- end to end: the real SDK against the emulator's --auth AWS_IAM ---------------------------------------


@pytest.fixture(scope="module")
def function_url() -> Iterator[str]:
    # The emulator accepts these keys; the client's session token is checked only if the emulator has one.
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(["--auth", "AWS_IAM"], env=env) as emulator:
        yield emulator.url


def iam_sdk(function_url: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=function_url + "v1",
        api_key="unused",
        http_client=iam_http_client(),
        max_retries=0,
        _strict_response_validation=True,
    )


@pytest.mark.slow
def test_signed_request_passes_the_emulators_check(function_url: str) -> None:
    # The function's native API, straight through the signing client: independent of the OpenAI routes.
    with iam_http_client() as client:
        reply = client.post(function_url, json={"prompt": "signed @stub:tokens=3"})
    assert reply.status_code == 200, reply.text
    assert len(reply.text.split()) == 3  # the stub's three words, as plain text


@pytest.mark.slow
def test_unsigned_sdk_is_refused(function_url: str) -> None:
    plain = openai.OpenAI(base_url=function_url + "v1", api_key="x", max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as info:
        plain.models.list()
    assert info.value.status_code == 403


@pytest.mark.slow
def test_wrong_secret_is_refused(function_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(openai.PermissionDeniedError, match="signature"):
        iam_sdk(function_url).models.list()


@pytest.mark.slow
def test_models_over_iam(function_url: str) -> None:
    assert MODEL in [model.id for model in iam_sdk(function_url).models.list()]


@pytest.mark.slow
def test_streamed_chat_over_iam(function_url: str) -> None:
    stream = iam_sdk(function_url).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hello"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text


@pytest.mark.slow
def test_async_streamed_chat_over_iam(function_url: str) -> None:
    async def chat() -> str:
        async with openai.AsyncOpenAI(
            base_url=function_url + "v1",
            api_key="unused",
            http_client=async_iam_http_client(),
            max_retries=0,
            _strict_response_validation=True,
        ) as client:
            assert MODEL in [model.id async for model in client.models.list()]
            stream = await client.chat.completions.create(
                model=MODEL, messages=[{"role": "user", "content": "hello"}], stream=True
            )
            return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])

    assert asyncio.run(chat())
