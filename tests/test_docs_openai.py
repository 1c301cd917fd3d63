"""docs/openai-api.md stays true: its curl examples answer byte for byte as shown (ids masked), and its
openai SDK example streams from the emulator."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import request

PAGE = Path(__file__).resolve().parents[1] / "docs" / "openai-api.md"
LOCAL_URL = "http://127.0.0.1:3000"
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
EXAMPLES = 6  # streamed, whole, a stream error, a tool call, reasoning, the models


def blocks() -> list[tuple[str, str]]:
    """The page's fenced code blocks as (language, text)."""
    return _BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def curl_examples() -> list[tuple[list[str], str]]:
    """Each `sh` block that is a curl command, with the `text` block right after it (its output)."""
    found = blocks()
    return [
        (shlex.split(text.replace("\\\n", " ")), found[i + 1][1])
        for i, (language, text) in enumerate(found[:-1])
        if language == "sh" and text.startswith("curl ") and found[i + 1][0] == "text"
    ]


def mask(body: str) -> str:
    """The body with the per-request `id` and `created` replaced as the page shows them."""
    body = re.sub(r'"id":"chatcmpl-[^"]*"', '"id":"chatcmpl-…"', body)
    return re.sub(r'"created":[1-9][0-9]*', '"created":…', body)  # the models' fixed 0 stays


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as running:  # what `make local` runs, on a free port
        yield running


def test_the_page_has_its_examples() -> None:
    commands = [argv for argv, _ in curl_examples()]
    assert len(commands) == EXAMPLES, "a curl example lost its output block (or the pattern finds nothing)"
    assert {argv[-1] if argv[-1].startswith("http") else argv[1] for argv in commands} >= {
        f"{LOCAL_URL}/v1/chat/completions",
        f"{LOCAL_URL}/v1/models",
    }


@pytest.mark.parametrize("index", range(EXAMPLES))
def test_each_curl_example_answers_as_shown(emulator: EmulatorProcess, index: int) -> None:
    argv, shown = curl_examples()[index]
    assert argv[0] == "curl"
    url = next(arg for arg in argv if arg.startswith(LOCAL_URL))
    headers = [tuple(value.split(": ", 1)) for flag, value in itertools.pairwise(argv) if flag == "-H"]
    body = argv[argv.index("-d") + 1].encode() if "-d" in argv else None
    reply = request(
        emulator.url,
        url.removeprefix(LOCAL_URL),
        method="POST" if body is not None else "GET",
        body=body,
        headers=[(name, value) for name, value in headers],
    )
    assert reply.status == 200
    assert mask(reply.body.decode()).strip() == shown.strip()


def test_the_sdk_example_streams(emulator: EmulatorProcess) -> None:
    example = next(text for language, text in blocks() if language == "python")
    assert f'base_url="{LOCAL_URL}/v1"' in example
    code = example.replace(f"{LOCAL_URL}/v1", emulator.url.rstrip("/") + "/v1")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(PAGE), "exec"), {})  # the page's own code, as a reader would paste it
    assert len(printed.getvalue().split()) == 12  # the stand-in's default reply: 12 words, streamed


@pytest.fixture(scope="module")
def guarded() -> Iterator[EmulatorProcess]:
    """What `make local ARGS="--env GUARDRAIL_ID=gr1 --env GUARDRAIL_VERSION=1"` runs, on a free port."""
    with EmulatorProcess(["--env", "GUARDRAIL_ID=gr1", "--env", "GUARDRAIL_VERSION=1"]) as running:
        yield running


def test_the_surface_example_prints_what_the_page_shows(guarded: EmulatorProcess) -> None:
    found = blocks()
    index = next(
        i for i, (language, text) in enumerate(found) if language == "python" and "@stub:tool" in text
    )
    example, (language, shown) = found[index][1], found[index + 1]
    assert language == "text" and f'base_url="{LOCAL_URL}/v1"' in example
    code = example.replace(f"{LOCAL_URL}/v1", guarded.url.rstrip("/") + "/v1")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, str(PAGE), "exec"), {})
    assert printed.getvalue().strip() == shown.strip()
