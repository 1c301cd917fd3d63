"""The real `openai` SDK through the emulated REST API (`serve --front rest`): a Bearer API key streams a
chat completion, a wrong key is PermissionDeniedError, a used-up quota RateLimitError, no key
AuthenticationError, and Cognito ID tokens; nothing refused reaches the runtime or Bedrock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from emulator.bedrock_stub import BedrockStub
from tests.openai.conftest import BEDROCK_MAX_ATTEMPTS, INVOCATION_MARKER, NOVA, env_args, user
from tests.support.rest_api import RestApiProcess, UserPool, write_key_file

KEY = "sk-openai-0123456789abcdefghij"
QUOTA_KEY = "sk-quota2-0123456789abcdefghi"
KEYS = [
    {"name": "sdk", "value": KEY},
    {"name": "sdk-quota", "value": QUOTA_KEY, "quota": {"limit": 1, "period": "DAY"}},
]


def sdk(api: RestApiProcess, api_key: str, *, max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{api.url}v1",  # http://127.0.0.1:PORT/prod/v1
        api_key=api_key,
        _strict_response_validation=True,
        max_retries=max_retries,
        timeout=30,
    )


def next_invocation_line(api: RestApiProcess, seen: int, *, timeout: float = 15.0) -> dict[str, Any]:
    """The invocation line after the first `seen` ones, waiting for it: the runtime logs it after the last
    byte, so the client may finish reading the stream before the emulator's output has it."""
    deadline = time.monotonic() + timeout
    while len(lines := api.json_lines(INVOCATION_MARKER)) <= seen:
        assert time.monotonic() < deadline, f"no invocation line after {seen}:\n{api.log()}"
        time.sleep(0.05)
    return lines[seen]


def stream_text(client: openai.OpenAI, prompt: str = "hello @stub:tokens=6") -> str:
    stream = client.chat.completions.create(model=NOVA, messages=user(prompt), stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@pytest.fixture(scope="module")
def keyed(stand_in: BedrockStub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestApiProcess]:
    keys = write_key_file(tmp_path_factory.mktemp("keys"), KEYS)
    settings = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,
        "BEDROCK_MAX_ATTEMPTS": BEDROCK_MAX_ATTEMPTS,
    }
    with RestApiProcess(["--api-keys", str(keys), *env_args(settings)]) as api:
        yield api


def refused_before_the_function(
    api: RestApiProcess, stand_in: BedrockStub, call: Callable[[], object], error: type[openai.APIStatusError]
) -> openai.APIStatusError:
    """`call()` raises `error`; neither the runtime nor Bedrock saw anything of it."""
    invocations, bedrock_calls = api.invocations(), len(stand_in.requests)
    with pytest.raises(error) as caught:
        call()
    assert api.invocations() == invocations and len(stand_in.requests) == bedrock_calls
    return caught.value


def test_a_bearer_key_streams_a_chat_completion(keyed: RestApiProcess, stand_in: BedrockStub) -> None:
    seen = len(keyed.json_lines(INVOCATION_MARKER))
    text = stream_text(sdk(keyed, KEY))
    assert len(text.split()) == 6
    line = next_invocation_line(keyed, seen)
    assert (line["door"], line["status"]) == ("rest-api", 200)
    assert line["principal"].startswith("apikey:k") and KEY not in keyed.log()
    models = sdk(keyed, KEY).models.list()
    assert NOVA in [model.id for model in models.data]


def test_a_wrong_key_is_permission_denied(keyed: RestApiProcess, stand_in: BedrockStub) -> None:
    client = sdk(keyed, "sk-wrong-0123456789abcdefghij")
    error = refused_before_the_function(
        keyed, stand_in, lambda: stream_text(client), openai.PermissionDeniedError
    )
    assert (error.status_code, error.code, error.body) == (
        403,
        "invalid_api_key",
        {"type": "invalid_api_key", "message": "Forbidden", "code": "invalid_api_key"},
    )


def test_no_key_is_an_authentication_error(keyed: RestApiProcess, stand_in: BedrockStub) -> None:
    client = sdk(keyed, KEY)  # the SDK needs a key; the request leaves its Authorization header out
    error = refused_before_the_function(
        keyed,
        stand_in,
        lambda: client.models.list(extra_headers={"Authorization": openai.Omit()}),
        openai.AuthenticationError,
    )
    assert (error.status_code, error.code) == (401, "unauthorized")


def test_a_used_up_quota_is_a_rate_limit_error(keyed: RestApiProcess, stand_in: BedrockStub) -> None:
    client = sdk(keyed, QUOTA_KEY)
    assert stream_text(client)  # the quota's one request
    error = refused_before_the_function(keyed, stand_in, lambda: stream_text(client), openai.RateLimitError)
    assert (error.status_code, error.code) == (429, "quota_exceeded")
    assert error.body == {"type": "quota_exceeded", "message": "Limit Exceeded", "code": "quota_exceeded"}


def test_cognito_id_tokens(stand_in: BedrockStub, tmp_path: Path) -> None:
    pool = UserPool(tmp_path)
    (tmp_path / "other").mkdir()
    stranger = UserPool(tmp_path / "other", kid=pool.kid)
    settings = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,
        "BEDROCK_MAX_ATTEMPTS": BEDROCK_MAX_ATTEMPTS,
    }
    with RestApiProcess([*pool.args(), *env_args(settings)]) as api:
        assert len(stream_text(sdk(api, pool.token(sub="sdk-user"))).split()) == 6
        assert api.wait_for_json(INVOCATION_MARKER, principal="cognito:sdk-user")["door"] == "rest-api"
        now = int(time.time())
        refused = {
            "expired": pool.token(exp=now - 10, iat=now - 3600),
            "foreign": stranger.token(),
            "wrong kid": pool.token(kid="rotated-away"),
            "access token": pool.token(token_use="access"),
        }
        for name, token in refused.items():
            client = sdk(api, token)
            error = refused_before_the_function(
                api, stand_in, lambda c=client: stream_text(c), openai.AuthenticationError
            )
            assert error.code == "unauthorized", name
            assert token not in api.log()
