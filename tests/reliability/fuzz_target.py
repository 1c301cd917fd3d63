"""What the fuzz modules share: hypothesis settings from FUZZ_EXAMPLES and FUZZ_SEED, the bound on every
reply, and the emulator under test (its address and its one runtime's pid)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from hypothesis import HealthCheck, settings
from hypothesis import seed as hypothesis_seed

from tests.reliability.raw_http import build_request, exchange
from tests.support.emulator_process import EmulatorProcess

FUNCTION_TIMEOUT_S = 6.0  # the emulator's --timeout: nothing the fuzzer sends may come near it
SLACK_S = 4.0  # the bound on every reply is the function timeout plus this
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
SEED = os.environ.get("FUZZ_SEED")

F = TypeVar("F", bound=Callable[..., Any])


def fuzz_settings(examples: int) -> Callable[[F], F]:
    """Reproducible in CI (derandomized), seeded under `make fuzz`; no example database in the checkout."""
    configured = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=True,
    )

    def apply(test: F) -> F:
        test = configured(test)
        return hypothesis_seed(int(SEED))(test) if SEED is not None else test

    return apply


class EmulatorTarget:
    """The emulator under test: its URL and address, and the pid of its one runtime when it started."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        parts = urlsplit(emulator.url)
        self.url = emulator.url
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.host = parts.netloc
        self.pid, _ = self.sandbox()

    def sandbox(self) -> tuple[int, int]:
        """The runtime's pid and how many invocations it has served."""
        reply = exchange(
            self.address, build_request("GET", "/_emulator/health", [], b"", host=self.host), timeout=10
        )
        state = reply.json()["sandboxes"][0]
        return state["pid"], state["invocations"]


@contextlib.contextmanager
def fuzzed_emulator(function_env: Mapping[str, str]) -> Iterator[EmulatorProcess]:
    """One emulator for a fuzz module; afterwards, its log shows no bug of the emulator's own (the
    runtime's handler tracebacks are the function's log)."""
    env_args = [arg for name, value in function_env.items() for arg in ("--env", f"{name}={value}")]
    with EmulatorProcess(
        ["--timeout", str(FUNCTION_TIMEOUT_S), "--log-level", "WARNING", *env_args]
    ) as running:
        yield running
    log = running.log()
    assert "unexpected error serving" not in log, log[-4000:]
    assert "Exception occurred during processing" not in log, log[-4000:]
