"""docs/direct-invoke.md stays true: each boto3 example, run against the emulator's Lambda API as a reader
would paste it (only the port differs from `make local`'s 3001), prints exactly the output shown under it."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator_process import EmulatorProcess

PAGE = Path(__file__).resolve().parents[1] / "docs" / "direct-invoke.md"
LOCAL_LAMBDA_API = "http://127.0.0.1:3001"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
EXAMPLES = 3  # streaming, the failures, buffered invoke with the OpenAI shape


def examples() -> list[tuple[str, str]]:
    """Each `python` block with the `text` block right after it (what it prints)."""
    found = _BLOCK.findall(PAGE.read_text(encoding="utf-8"))
    return [
        (code, found[index + 1][1])
        for index, (language, code) in enumerate(found[:-1])
        if language == "python" and found[index + 1][0] == "text"
    ]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(["--lambda-api-port", "0"]) as running:  # what `make local` runs, on free ports
        yield running


def test_the_page_has_its_examples() -> None:
    found = examples()
    assert len(found) == EXAMPLES, "an example lost its output block (or the pattern finds nothing)"
    assert all(f'endpoint_url="{LOCAL_LAMBDA_API}"' in code for code, _ in found)


@pytest.mark.parametrize("index", range(EXAMPLES))
def test_each_example_prints_what_the_page_shows(emulator: EmulatorProcess, index: int) -> None:
    code, shown = examples()[index]
    assert emulator.lambda_api_url is not None
    runnable = code.replace(LOCAL_LAMBDA_API, emulator.lambda_api_url)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(runnable, str(PAGE), "exec"), {"__name__": "docs_example"})
    assert printed.getvalue().strip() == shown.strip()
