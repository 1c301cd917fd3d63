"""Fixtures for the OpenAI-compatible API end to end: the real `openai` SDK against the real emulator,
which runs the real runtime and handler, calling a Bedrock stand-in that runs in this process (so a test
can count and read the exact Bedrock calls the function made)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from emulator.bedrock_stub import BedrockStub, StubRequest
from tests.support.emulator_process import EmulatorProcess

NOVA = "amazon.nova-lite-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ALIAS = "gpt-4o-mini"
BEDROCK_MAX_ATTEMPTS = 3  # the function's own botocore attempts per Bedrock call (its default, pinned here)
MAX_REQUEST_BYTES = 2000
_INVOCATION = re.compile(r'\{"event":"invocation".*\}')
INVOCATION_MARKER = '{"event":"invocation"'  # the handler's one structured line per invocation


class Served:
    """One running emulator and the stand-in behind it: SDK clients for it, and what it logged and
    what reached Bedrock."""

    def __init__(self, emulator: EmulatorProcess, stand_in: BedrockStub) -> None:
        self.emulator = emulator
        self.stand_in = stand_in
        self.url = emulator.url  # ends with "/"

    def client(self, *, prefix: str = "", max_retries: int = 0) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=f"{self.url}{prefix}v1",
            api_key="unused",
            _strict_response_validation=True,
            max_retries=max_retries,
            timeout=30,
        )

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url=f"{self.url}v1",
            api_key="unused",
            _strict_response_validation=True,
            max_retries=0,
            timeout=30,
        )

    def bedrock_calls(self) -> list[StubRequest]:
        """Every request the stand-in received so far (shared by this module's emulators), oldest first."""
        return self.stand_in.requests

    def invocations(self) -> list[dict[str, Any]]:
        """The handler's one structured `"event":"invocation"` log line per invocation, parsed, in order."""
        return [json.loads(match.group(0)) for match in _INVOCATION.finditer(self.emulator.log())]

    def invocation(self, request_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
        """The invocation line of `request_id`, waiting for it (the log can trail the response)."""
        return self.emulator.wait_for_json(INVOCATION_MARKER, timeout=timeout, requestId=request_id)


def env_args(settings: dict[str, object]) -> list[str]:
    return [arg for name, value in settings.items() for arg in ("--env", f"{name}={value}")]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[BedrockStub]:
    with BedrockStub.start() as stub:
        yield stub


@pytest.fixture(scope="module")
def served(stand_in: BedrockStub) -> Iterator[Served]:
    """The function with its default settings (MODEL_IDS: Claude Haiku 4.5 and Nova Lite)."""
    settings = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,  # --env wins over the emulator's own stand-in
        "BEDROCK_MAX_ATTEMPTS": BEDROCK_MAX_ATTEMPTS,
    }
    with EmulatorProcess(env_args(settings)) as emulator:
        yield Served(emulator, stand_in)


@pytest.fixture(scope="module")
def limited(stand_in: BedrockStub) -> Iterator[Served]:
    """The function with a small body limit, an alias, and no Bedrock retries (fast throttles)."""
    settings = {
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stand_in.url,
        "MAX_REQUEST_BYTES": MAX_REQUEST_BYTES,
        "MODEL_ALIASES": f"{ALIAS}={NOVA}",
        "BEDROCK_MAX_ATTEMPTS": 1,
    }
    with EmulatorProcess(env_args(settings)) as emulator:
        yield Served(emulator, stand_in)


def user(text: str) -> list[Any]:
    """A one-message conversation (typed loosely: the SDK's message TypedDicts are a union)."""
    return [{"role": "user", "content": text}]
