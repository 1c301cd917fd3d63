"""`GET /_emulator/metrics` end to end: `python -m emulator serve` with the real `runtime/bootstrap`, the
real handler and the stand-in; the EMF documents the function prints are summed up exactly, pass the
specification's rules, and are still in the emulator's log (both fronts, both APIs, Managed Instances)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from emulator.emf import EMF_PREFIX, problems
from emulator.stub_replies import input_token_count
from tests.support.emulator_process import REPO, EmulatorProcess
from tests.support.http_client import Response, request
from tests.support.rest_api import RestApiProcess

pytestmark = pytest.mark.skipif(
    not (REPO / "runtime" / "bootstrap").exists(), reason="runtime/bootstrap missing"
)

MODEL = "amazon.nova-lite-v1:0"
ARGS = ["--env", f"MODEL_IDS={MODEL}", "--timeout", "30"]
FUNCTION_NAME = "bedrock-streaming-function"  # the emulator's AWS_LAMBDA_FUNCTION_NAME


def summary(root: str, *, documents: int, timeout: float = 15.0) -> dict[str, Any]:
    """The metrics page of the emulator at `root` once it has counted `documents` lines (they can trail
    the replies: the runtime prints them as its invocation ends, and they pass the log reader)."""
    deadline = time.monotonic() + timeout
    while True:
        snapshot: dict[str, Any] = request(root, "/_emulator/metrics", method="GET").json()
        if snapshot["documents"] + snapshot["invalid"] >= documents or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.05)


def logged_documents(emulator: EmulatorProcess) -> list[dict[str, Any]]:
    """The EMF documents in the emulator's log, each checked against the specification on the way."""
    documents = []
    for line in emulator.log().splitlines():
        if EMF_PREFIX in line:
            assert line.startswith(EMF_PREFIX), f"a document inside another line: {line[:200]}"
            document = json.loads(line)
            assert problems(document) == [], line
            documents.append(document)
    return documents


def timing(*values: int) -> dict[str, Any]:
    """The expected percentile entry for these values (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p90": None, "p99": None}
    rank = {p: ordered[max(1, -(-p * len(ordered) // 100)) - 1] for p in (50, 90, 99)}
    return {"count": len(ordered), "p50": rank[50], "p90": rank[90], "p99": rank[99]}


def chat_body(model: str, text: str, *, stream: bool) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], "stream": stream}


def test_stub_tokens_reach_the_summary_and_the_log() -> None:
    with EmulatorProcess(ARGS) as emulator:
        reply = request(emulator.url, "/", body={"prompt": "count these words @stub:tokens=7"})
        assert reply.status == 200
        snapshot = summary(emulator.url, documents=1)
        [document] = logged_documents(emulator)
    assert document["RequestId"] == reply.header("x-amzn-RequestId")
    assert (document["FunctionName"], document["Api"], document["ModelId"]) == (
        FUNCTION_NAME,
        "native",
        MODEL,
    )
    first_token, duration = document["TimeToFirstToken"], document["Duration"]
    assert 0 <= first_token <= duration
    entry = {
        "requests": 1,
        "outcomes": {"ok": 1},
        "inputTokens": input_token_count("count these words"),
        "outputTokens": 7,
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
        "timeToFirstTokenMs": timing(first_token),
        "durationMs": timing(duration),
    }
    assert snapshot == {
        "documents": 1,
        "invalid": 0,
        "namespaces": ["BedrockStreaming"],
        "models": {MODEL: entry},
        "total": entry,
    }


def test_a_mixed_run_is_counted_exactly_on_both_apis() -> None:
    with EmulatorProcess(ARGS) as emulator:
        url, chat = emulator.url, "/v1/chat/completions"
        sent: list[tuple[str, Response]] = [
            ("native", request(url, "/", body={"prompt": "one two @stub:tokens=3"})),
            ("openai", request(url, chat, body=chat_body(MODEL, "a b c @stub:tokens=4", stream=True))),
            ("openai", request(url, chat, body=chat_body(MODEL, "six @stub:tokens=2", stream=False))),
            ("native", request(url, "/", body=b"{not json", headers={"Content-Type": "application/json"})),
            ("openai", request(url, chat, body=chat_body("no-such-model", "x", stream=True))),
            ("native", request(url, "/", body={"prompt": "slow down @stub:throttle"})),
        ]
        assert [reply.status for _, reply in sent] == [200, 200, 200, 400, 404, 429]
        snapshot = summary(emulator.url, documents=len(sent))
        documents = logged_documents(emulator)
    by_id = {document["RequestId"]: document for document in documents}
    assert len(documents) == len(by_id) == len(sent)  # each invocation's document, once
    assert {request_id: by_id[request_id]["Api"] for request_id in by_id} == {
        reply.header("x-amzn-RequestId"): api for api, reply in sent
    }
    assert [by_id[str(reply.header("x-amzn-RequestId"))]["Outcome"] for _, reply in sent] == [
        "ok", "ok", "ok", "client_error", "client_error", "bedrock_throttled",
    ]  # fmt: skip
    answered = [by_id[str(reply.header("x-amzn-RequestId"))] for _, reply in sent[:3]]
    throttled = by_id[str(sent[5][1].header("x-amzn-RequestId"))]
    refused = [by_id[str(reply.header("x-amzn-RequestId"))] for _, reply in sent[3:5]]
    model = {
        "requests": 4,
        "outcomes": {"bedrock_throttled": 1, "ok": 3},
        "inputTokens": 2 + 3 + 1,
        "outputTokens": 3 + 4 + 2,
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
        "timeToFirstTokenMs": timing(*(document["TimeToFirstToken"] for document in answered)),
        "durationMs": timing(*(document["Duration"] for document in [*answered, throttled])),
    }
    none = {
        "requests": 2,
        "outcomes": {"client_error": 2},
        "inputTokens": 0,
        "outputTokens": 0,
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
        "timeToFirstTokenMs": timing(),
        "durationMs": timing(*(document["Duration"] for document in refused)),
    }
    total = {
        "requests": 6,
        "outcomes": {"bedrock_throttled": 1, "client_error": 2, "ok": 3},
        "inputTokens": 6,
        "outputTokens": 9,
        "cacheReadTokens": 0,
        "cacheWriteTokens": 0,
        "timeToFirstTokenMs": model["timeToFirstTokenMs"],
        "durationMs": timing(*(document["Duration"] for document in documents)),
    }
    assert snapshot == {
        "documents": 6,
        "invalid": 0,
        "namespaces": ["BedrockStreaming"],
        "models": {MODEL: model, "none": none},
        "total": total,
    }


def test_the_rest_front_serves_the_summary_too() -> None:
    with RestApiProcess(ARGS) as api:
        reply = request(api.url, "/prod/", body={"prompt": "through the gateway @stub:tokens=5"})
        assert reply.status == 200
        snapshot = summary(api.root, documents=1)
        [document] = logged_documents(api)
    assert document["Door"] == "rest-api"
    assert (snapshot["documents"], snapshot["invalid"]) == (1, 0)
    assert snapshot["models"][MODEL]["outputTokens"] == 5
    assert snapshot["models"][MODEL]["inputTokens"] == input_token_count("through the gateway")


def test_the_summary_is_read_only_and_get_only() -> None:
    with EmulatorProcess(ARGS) as emulator:
        request(emulator.url, "/", body={"prompt": "once @stub:tokens=1"})
        first = summary(emulator.url, documents=1)
        assert request(emulator.url, "/_emulator/metrics", method="POST", body=b"{}").status == 404
        assert request(emulator.url, "/_emulator/metrics?reset", method="GET").json() == first


def test_managed_instances_count_every_document_once_without_torn_lines() -> None:
    prompts = [f"worker prompt {index} @stub:tokens={index} @stub:delay-ms=5" for index in range(1, 17)]
    with EmulatorProcess([*ARGS, "--max-concurrency", "4"]) as emulator:
        replies: list[Response | None] = [None] * len(prompts)

        def call(index: int) -> None:
            replies[index] = request(emulator.url, "/", body={"prompt": prompts[index]})

        threads = [threading.Thread(target=call, args=(index,)) for index in range(len(prompts))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert [reply.status if reply else None for reply in replies] == [200] * len(prompts)
        snapshot = summary(emulator.url, documents=len(prompts))
        documents = logged_documents(emulator)
        log = emulator.log()
    assert (snapshot["documents"], snapshot["invalid"]) == (16, 0)
    assert sorted(document["RequestId"] for document in documents) == sorted(
        str(reply.header("x-amzn-RequestId")) for reply in replies if reply
    )
    assert snapshot["total"]["outputTokens"] == sum(range(1, 17))
    assert snapshot["total"]["inputTokens"] == 3 * 16  # "worker prompt N"
    assert snapshot["total"]["outcomes"] == {"ok": 16}
    assert log.count(EMF_PREFIX) == 16
