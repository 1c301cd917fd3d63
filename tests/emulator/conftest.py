"""Fixtures that run the emulator as users do (`python -m emulator serve --port 0 ...` in a subprocess),
and a Bedrock stand-in per test module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.bedrock_stub import BedrockStub
from tests.support.emulator_process import EmulatorProcess

RAW_RUNTIME = Path(__file__).resolve().parent / "raw_runtime.py"


def raw_runtime_args(*extra: str) -> list[str]:
    return ["--runtime-cmd", f"{sys.executable} {RAW_RUNTIME}", "--handler", "raw.handler", *extra]


@pytest.fixture(scope="module")
def stub() -> Iterator[BedrockStub]:
    """A Bedrock stand-in of the test module's own, in this process (its requests are the module's)."""
    with BedrockStub.start() as server:
        yield server


@pytest.fixture(scope="module")
def raw_emulator() -> Iterator[EmulatorProcess]:
    """The emulator driving the raw-socket custom runtime (concurrency 1, generous timeout)."""
    with EmulatorProcess(raw_runtime_args("--timeout", "20")) as emulator:
        yield emulator


@pytest.fixture
def emulator_factory() -> Iterator[type[EmulatorProcess]]:
    """Start emulators with custom flags; every one is stopped after the test."""
    started: list[EmulatorProcess] = []

    class Tracked(EmulatorProcess):
        def __init__(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
            super().__init__(args, env=env)
            started.append(self)

    try:
        yield Tracked
    finally:
        for emulator in started:
            emulator.stop()
