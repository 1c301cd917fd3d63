"""Handler test fixtures: the real stand-in, and a real boto3 client pointed at it via the environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.model import BedrockModelStream, create_bedrock_client
from handler_support import base_env

from emulator.bedrock_stub import BedrockStub


@pytest.fixture(scope="session")
def stub() -> Iterator[BedrockStub]:
    with BedrockStub.start() as server:
        yield server


@pytest.fixture
def bedrock_env(stub: BedrockStub, monkeypatch: pytest.MonkeyPatch) -> BedrockStub:
    """botocore reads the endpoint and credentials from the environment, exactly as in Lambda."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", stub.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDUMMY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return stub


@pytest.fixture
def make_model(bedrock_env: BedrockStub) -> Callable[..., tuple[HandlerConfig, BedrockModelStream]]:
    def build(**env: str) -> tuple[HandlerConfig, BedrockModelStream]:
        config = HandlerConfig.from_env(base_env(**env))
        return config, BedrockModelStream(client=create_bedrock_client(config), config=config)

    return build
