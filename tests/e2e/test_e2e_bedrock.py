"""End to end: HTTP client -> emulator Function URL -> runtime subprocess -> handler -> boto3 -> stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from emulator.stub_replies import reply_tokens
from tests.support.emulator_process import EmulatorProcess
from tests.support.http_client import Response, request

MARKER = "platypus-marker-prompt"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    # A body limit below the Function URL's own 6 MB, so the handler's 413 answers the oversized case.
    with EmulatorProcess(
        ["--concurrency", "4", "--timeout", "30", "--env", "MAX_REQUEST_BYTES=1000000"]
    ) as running:
        yield running


def post(
    url: str,
    body: object,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Response:
    """A JSON (or raw bytes) request to the function, labelled application/json unless `headers` say else."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    target = "/" + (f"?{query}" if query else "")
    labelled = {"content-type": "application/json", **(headers or {})}
    return request(url, target, method=method, body=raw, headers=labelled)


def assert_alive(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, {"prompt": "still alive @stub:tokens=3"}, query="format=text")
    assert (reply.status, reply.body.decode()) == (200, "".join(reply_tokens("still alive", 3)))


def test_text_sse_and_ndjson(emulator: EmulatorProcess) -> None:
    text = post(emulator.url, {"prompt": "hi @stub:tokens=4"})
    assert text.status == 200 and (text.header("content-type") or "").startswith("text/plain")
    assert text.body.decode() == "".join(reply_tokens("hi", 4))
    sse = post(emulator.url, {"prompt": "hi @stub:tokens=4"}, headers={"accept": "text/event-stream"})
    assert (sse.header("content-type") or "").startswith("text/event-stream")
    blocks = sse.body.decode().split("\n\n")
    assert [b.split("\n")[0] for b in blocks if b] == ["event: delta"] * 4 + ["event: done"]
    nd = post(emulator.url, {"prompt": "hi @stub:tokens=4"}, query="format=ndjson")
    events = nd.ndjson()
    assert [e["text"] for e in events[:-1]] == reply_tokens("hi", 4)
    assert events[-1]["usage"]["outputTokens"] == 4


def test_text_plain_body(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, b"plain words @stub:tokens=2", headers={"content-type": "text/plain"})
    assert reply.body.decode() == "".join(reply_tokens("plain words", 2))


def test_tokens_arrive_incrementally(emulator: EmulatorProcess) -> None:
    reply = post(emulator.url, {"prompt": "slow @stub:delay-ms=50 @stub:tokens=20"}, query="format=ndjson")
    assert reply.status == 200 and len(reply.ndjson()) == 21
    assert reply.arrivals[0] < 0.3  # the first delta, not the whole reply (which takes ~1 s)
    assert reply.arrivals[-1] > 0.8  # last after ~1 s of 50 ms gaps
    assert len(reply.arrivals) >= 5  # many separate reads, not one buffered blob


BAD = [
    ({"body": b"{nope"}, 400),
    ({"body": b"[1]"}, 400),
    ({"body": {"prompt": ""}}, 400),
    ({"body": {"prompt": 3}}, 400),
    ({"body": {"messages": [{"role": "robot", "content": MARKER}]}}, 400),
    ({"body": {"messages": [{"role": "user", "content": []}]}}, 400),
    ({"body": {"prompt": MARKER, "modelId": "not.allowed"}}, 400),
    ({"body": {"prompt": MARKER, "maxTokens": -1}}, 400),
    ({"body": {"prompt": MARKER, "maxTokens": 10**9}}, 400),
    ({"body": {"prompt": MARKER, "maxTokens": "10"}}, 400),
    ({"body": {"prompt": MARKER, "temperature": 3}}, 400),
    ({"body": {"prompt": MARKER, "topP": -1}}, 400),
    ({"body": b'{"prompt": "\xff\xfe"}', "headers": {"content-type": "application/json"}}, 400),
    ({"body": {"prompt": MARKER * 100_000}}, 413),
    ({"body": {"prompt": MARKER}, "method": "GET"}, 405),
    ({"body": {"prompt": MARKER}, "method": "PUT"}, 405),
]


@pytest.mark.parametrize(("request_args", "status"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_is_4xx_json_and_the_runtime_lives(
    emulator: EmulatorProcess, request_args: dict, status: int
) -> None:
    reply = post(
        emulator.url,
        request_args["body"],
        headers=request_args.get("headers"),
        method=request_args.get("method", "POST"),
    )
    assert reply.status == status
    assert reply.json()["error"]["type"]
    assert_alive(emulator)
    assert MARKER not in emulator.log()


def test_four_overlapping_streams(emulator: EmulatorProcess) -> None:
    prompts = [f"stream {n} @stub:delay-ms=100 @stub:tokens=10" for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda p: post(emulator.url, {"prompt": p}), prompts))
    for n, reply in enumerate(replies):
        assert reply.body.decode() == "".join(reply_tokens(f"stream {n}", 10))
    # Overlap: all four finish within much less than four sequential 1 s streams.
    assert max(r.arrivals[-1] for r in replies) < 3.5


def test_buffered_mode() -> None:
    with EmulatorProcess(["--invoke-mode", "BUFFERED"]) as buffered:
        reply = post(buffered.url, {"prompt": "b @stub:tokens=5 @stub:delay-ms=20"}, query="format=ndjson")
        assert reply.status == 200
        events = reply.ndjson()
        assert [e["text"] for e in events[:-1]] == reply_tokens("b", 5)
        bad = post(buffered.url, {"prompt": ""})
        assert bad.status == 400 and bad.json()["error"]["type"] == "invalid_request"
