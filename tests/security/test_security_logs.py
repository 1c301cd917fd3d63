"""Prompts and completions never reach the logs at INFO, on any path: a marker prompt is sent through
success, every output format, bad input, Bedrock errors before and during the stream, and the deadline stop,
and everything the emulator and its runtime printed is scanned for it and for the stand-in's reply words.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from bedrock_handler.config import DEFAULT_MODEL_IDS

from emulator.stub_replies import reply_tokens
from tests.security.leak_scan import occurrences, whole_word_hits
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

MARKER = f"zq{uuid.uuid4().hex}qz"  # one word, so the stand-in's reply to it is predictable
REPLY_WORDS = {token.strip() for token in reply_tokens(MARKER, 60)}
MODEL_IDS = DEFAULT_MODEL_IDS  # the emulator's function runs with the handler's default allow-list


@dataclass(frozen=True)
class Case:
    """One request carrying the marker, and the status it must get."""

    name: str
    status: int
    body: bytes
    path: str = "/"
    method: str = "POST"
    content_type: str = "application/json"
    accept: str = ""


def _json(document: object) -> bytes:
    return json.dumps(document).encode()


def _prompt(directives: str = "") -> bytes:
    return _json({"prompt": f"{MARKER} {directives}".strip()})


CASES = (
    Case("text", 200, _prompt("@stub:tokens=20")),
    Case("sse", 200, _prompt("@stub:tokens=20"), path=f"/?format=sse&tag={MARKER}"),
    Case("ndjson", 200, _prompt("@stub:tokens=20"), accept="application/x-ndjson"),
    Case("text/plain body", 200, MARKER.encode(), content_type="text/plain"),
    Case("messages", 200, _json({"messages": [{"role": "user", "content": [{"text": MARKER}]}]})),
    Case("bad modelId", 400, _json({"prompt": MARKER, "modelId": MARKER})),
    Case("unknown field", 400, _json({"prompt": MARKER, MARKER: 1})),
    Case("bad maxTokens", 400, _json({"prompt": MARKER, "maxTokens": MARKER})),
    Case("bad temperature", 400, _json({"prompt": MARKER, "temperature": MARKER})),
    Case("broken JSON", 400, b'{"prompt": "' + MARKER.encode()),
    Case("bad role", 400, _json({"messages": [{"role": MARKER, "content": MARKER}]})),
    Case("wrong method", 405, b"", method="GET", path=f"/?q={MARKER}"),
    Case("too large", 413, _json({"prompt": MARKER + " x" * 140_000})),
    Case("unsupported media", 415, MARKER.encode(), content_type=f"application/{MARKER}"),
    Case("throttled", 429, _prompt("@stub:throttle")),
    Case("access denied", 502, _prompt("@stub:access-denied")),
    Case("not found", 502, _prompt("@stub:not-found")),
    Case("bad directive", 502, _prompt(f"@stub:{MARKER}")),
    Case("unavailable", 503, _prompt("@stub:unavailable")),
    Case("model timeout", 504, _prompt("@stub:model-timeout")),
    Case("error mid-stream", 200, _prompt("@stub:tokens=20 @stub:error-after=4"), path="/?format=sse"),
    Case("dropped mid-stream", 200, _prompt("@stub:tokens=20 @stub:drop-after=4"), path="/?format=ndjson"),
    Case("deadline", 200, _prompt("@stub:tokens=60 @stub:delay-ms=100"), path="/?format=sse"),
)


def _send(emulator: EmulatorProcess, case: Case) -> Response:
    headers = [("Content-Type", case.content_type), ("X-Request-Tag", MARKER), ("User-Agent", MARKER)]
    if case.accept:
        headers.append(("Accept", case.accept))
    return request(emulator.url, case.path, method=case.method, body=case.body, headers=headers)


@dataclass
class Run:
    """An emulator after every case was sent: the replies, and what it and its runtime printed."""

    emulator: EmulatorProcess
    replies: dict[str, Response]


def _run(args: list[str], cases: tuple[Case, ...]) -> Iterator[Run]:
    # --timeout 4 with the handler's 2 s margin: the deadline case stops itself after about 2 s. The body
    # limit is lowered below the Function URL's own 6 MB, so the handler's 413 is the one answering.
    with EmulatorProcess(["--timeout", "4", "--env", "MAX_REQUEST_BYTES=262144", *args]) as emulator:
        replies = {case.name: _send(emulator, case) for case in cases}
        # Every case reaches the handler, whose one line per invocation is the last it logs for it.
        _wait_for_count(emulator, '"event":"invocation"', len(cases))
        yield Run(emulator, replies)


def _wait_for_count(emulator: EmulatorProcess, needle: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while emulator.log().count(needle) < count:
        assert time.monotonic() < deadline, f"fewer than {count} {needle!r} lines:\n{emulator.log()}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def info_run() -> Iterator[Run]:
    """The emulator and runtime at their default levels (INFO), as `make local` runs them."""
    yield from _run([], CASES)


@pytest.fixture(scope="module")
def debug_run() -> Iterator[Run]:
    """Control: both at DEBUG, where the runtime logs the raw event (and so the marker) on purpose."""
    yield from _run(["--log-level", "DEBUG", "--env", "AWS_LAMBDA_LOG_LEVEL=DEBUG"], CASES[1:2])


def test_every_case_got_its_status(info_run: Run) -> None:
    got = {name: response.status for name, response in info_run.replies.items()}
    assert got == {case.name: case.status for case in CASES}
    for name in ("text", "sse", "ndjson", "messages"):
        assert whole_word_hits(info_run.replies[name].body.decode(), REPLY_WORDS), name
    assert b'"stopReason":"deadline"' in info_run.replies["deadline"].body
    assert b"event: error" in info_run.replies["error mid-stream"].body


def test_logs_were_captured_from_emulator_and_runtime(info_run: Run) -> None:
    log = info_run.emulator.log()
    assert "START RequestId" in log and "REPORT RequestId" in log  # the emulator's lines
    assert '"event":"invocation"' in log  # the handler's, printed by the runtime process
    assert '"stopReason":"deadline"' in log and '"errorType":"throttled"' in log


def test_the_scanned_log_holds_every_metrics_document(info_run: Run) -> None:
    """The scans below also cover the handler's metrics documents (raw EMF lines on stdout): one per case,
    and the marker sent as a model id is never their ModelId dimension."""
    documents = [
        json.loads(line) for line in info_run.emulator.log().splitlines() if line.startswith('{"_aws":')
    ]
    assert sorted(document["Status"] for document in documents) == sorted(case.status for case in CASES)
    assert {document["ModelId"] for document in documents} <= {"none", *MODEL_IDS}


def test_marker_prompt_is_never_logged_at_info(info_run: Run) -> None:
    assert occurrences(info_run.emulator.log(), [MARKER]) == {}


def test_completion_text_is_never_logged_at_info(info_run: Run) -> None:
    log = info_run.emulator.log()
    completion = "".join(reply_tokens(MARKER, 20))
    assert occurrences(log, [completion, completion[:40]]) == {}
    assert whole_word_hits(log, REPLY_WORDS) == {}  # not even one delta at a time


def test_the_scan_finds_the_marker_when_a_level_does_log_it(debug_run: Run) -> None:
    """Control: at DEBUG the runtime logs the event it got, so the very same scan must find the marker
    (from the prompt, the header and the query string); the reply still carries the completion."""
    assert debug_run.replies["sse"].status == 200
    hits = occurrences(debug_run.emulator.log(), [MARKER])
    assert hits, debug_run.emulator.log()[-3000:]
    assert any(f"tag={MARKER}" in line for line in hits[MARKER])
    assert whole_word_hits(debug_run.replies["sse"].body.decode(), REPLY_WORDS)
