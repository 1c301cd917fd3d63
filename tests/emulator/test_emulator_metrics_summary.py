"""emulator/metrics_summary.py: nearest-rank percentiles, the summary of golden documents (valid ones
aggregated per model and in total, the rest only counted), its thread safety and the demo's line."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from emulator.metrics_summary import MetricsSummary, percentile, summary_line


def line(**fields: Any) -> bytes:
    """A valid EMF line with the given root members; every numeric member is declared a metric."""
    metrics = [
        {"Name": name, "Unit": "Count"} for name, value in fields.items() if not isinstance(value, str)
    ]
    document = {
        "_aws": {
            "Timestamp": 1765017600123,
            "CloudWatchMetrics": [
                {"Namespace": "BedrockStreaming", "Dimensions": [["FunctionName"]], "Metrics": metrics}
            ],
        },
        "FunctionName": "f",
        **fields,
    }
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([1, 2, 3, 4], 50, 2),
        ([1, 2, 3, 4], 90, 4),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 90, 50),
        ([15, 20, 35, 40, 50], 30, 20),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 90, 90),
        ([7], 99, 7),
        ([], 50, None),
    ],
)
def test_percentiles_are_nearest_rank(values: list[int], p: int, expected: int | None) -> None:
    assert percentile(values, p) == expected


def test_the_summary_of_golden_documents() -> None:
    summary = MetricsSummary()
    a, b = "amazon.nova-lite-v1:0", "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    common = {"Requests": 1}
    summary.offer(
        line(
            ModelId=a,
            Outcome="ok",
            **common,
            Duration=100,
            TimeToFirstToken=10,
            InputTokens=5,
            OutputTokens=7,
        )
    )
    summary.offer(
        line(
            ModelId=a,
            Outcome="ok",
            **common,
            Duration=300,
            TimeToFirstToken=30,
            InputTokens=1,
            OutputTokens=2,
            CacheReadTokens=4,
        )
    )
    summary.offer(
        line(ModelId=a, Outcome="bedrock_throttled", **common, Duration=200, InputTokens=0, OutputTokens=0)
    )
    summary.offer(
        line(
            ModelId=b,
            Outcome="mid_stream_failure",
            **common,
            Duration=[50, 60],
            TimeToFirstToken=20,
            CacheWriteTokens=9,
        )
    )
    summary.offer(line(ModelId="none", Outcome="client_error", **common, Duration=1))
    summary.offer(line(Outcome="client_error", **common, Duration=2))  # no ModelId at all: "none" too
    summary.offer(b'{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"BedrockStreaming"')  # partial
    declared_text = json.loads(line(ModelId=a, Outcome="ok", Requests=1)) | {"Requests": "1"}
    summary.offer(json.dumps(declared_text).encode())  # a metric with a string value: not counted
    summary.offer(b'{"_aws": not json}\n')
    assert summary.snapshot() == {
        "documents": 6,
        "invalid": 3,
        "namespaces": ["BedrockStreaming"],
        "models": {
            a: {
                "requests": 3,
                "outcomes": {"bedrock_throttled": 1, "ok": 2},
                "inputTokens": 6,
                "outputTokens": 9,
                "cacheReadTokens": 4,
                "cacheWriteTokens": 0,
                "timeToFirstTokenMs": {"count": 2, "p50": 10, "p90": 30, "p99": 30},
                "durationMs": {"count": 3, "p50": 200, "p90": 300, "p99": 300},
            },
            "none": {
                "requests": 2,
                "outcomes": {"client_error": 2},
                "inputTokens": 0,
                "outputTokens": 0,
                "cacheReadTokens": 0,
                "cacheWriteTokens": 0,
                "timeToFirstTokenMs": {"count": 0, "p50": None, "p90": None, "p99": None},
                "durationMs": {"count": 2, "p50": 1, "p90": 2, "p99": 2},
            },
            b: {
                "requests": 1,
                "outcomes": {"mid_stream_failure": 1},
                "inputTokens": 0,
                "outputTokens": 0,
                "cacheReadTokens": 0,
                "cacheWriteTokens": 9,
                "timeToFirstTokenMs": {"count": 1, "p50": 20, "p90": 20, "p99": 20},
                "durationMs": {"count": 2, "p50": 50, "p90": 60, "p99": 60},
            },
        },
        "total": {
            "requests": 6,
            "outcomes": {"bedrock_throttled": 1, "client_error": 2, "mid_stream_failure": 1, "ok": 2},
            "inputTokens": 6,
            "outputTokens": 9,
            "cacheReadTokens": 4,
            "cacheWriteTokens": 9,
            "timeToFirstTokenMs": {"count": 3, "p50": 20, "p90": 30, "p99": 30},
            "durationMs": {"count": 7, "p50": 60, "p90": 300, "p99": 300},
        },
    }  # fmt: skip


def test_an_empty_summary() -> None:
    snapshot = MetricsSummary().snapshot()
    assert snapshot["documents"] == snapshot["invalid"] == 0
    assert snapshot["models"] == {} and snapshot["namespaces"] == []
    assert snapshot["total"]["requests"] == 0 and snapshot["total"]["durationMs"]["p50"] is None


def test_only_declared_metrics_count() -> None:
    """A root member that no directive names a metric is a plain property: CloudWatch ignores it."""
    summary = MetricsSummary()
    document = json.loads(line(ModelId="m", Outcome="ok", Requests=1))
    document["OutputTokens"] = 50  # present, not declared
    summary.offer(json.dumps(document).encode())
    assert summary.snapshot()["total"]["outputTokens"] == 0


def test_concurrent_offers_and_snapshots_count_every_document_once() -> None:
    summary = MetricsSummary()
    threads, per_thread = 8, 300
    stop = threading.Event()

    def offer(index: int) -> None:
        for n in range(per_thread):
            summary.offer(line(ModelId=f"m{index % 2}", Outcome="ok", Requests=1, OutputTokens=1, Duration=n))

    def read() -> None:
        while not stop.is_set():
            snapshot = summary.snapshot()
            assert snapshot["total"]["requests"] == sum(m["requests"] for m in snapshot["models"].values())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=offer, args=(index,)) for index in range(threads)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    reader.join()
    snapshot = summary.snapshot()
    assert snapshot["documents"] == snapshot["total"]["requests"] == threads * per_thread
    assert snapshot["total"]["outputTokens"] == threads * per_thread
    assert snapshot["total"]["durationMs"]["count"] == threads * per_thread
    assert {name: model["requests"] for name, model in snapshot["models"].items()} == {"m0": 1200, "m1": 1200}


def test_the_demo_line() -> None:
    summary = MetricsSummary()
    assert (
        summary_line(summary.snapshot()) == "metrics: no EMF document (METRICS=off?) (GET /_emulator/metrics)"
    )
    summary.offer(b"{not json")
    assert summary_line(summary.snapshot()) == "metrics: 1 invalid document (GET /_emulator/metrics)"
    summary.offer(
        line(
            ModelId="m",
            Outcome="ok",
            Requests=1,
            Duration=180,
            TimeToFirstToken=12,
            InputTokens=2,
            OutputTokens=9,
        )
    )
    assert summary_line(summary.snapshot()) == (
        "metrics: 1 request (1 ok), 2 input / 9 output tokens, first token p50 12 ms p90 12 ms, "
        "duration p50 180 ms p90 180 ms, 1 invalid document (GET /_emulator/metrics)"
    )
    summary.offer(line(ModelId="none", Outcome="client_error", Requests=1, Duration=2.5))
    summary.offer(line(ModelId="m", Outcome="bedrock_throttled", Requests=1, Duration=2000))
    assert summary_line(summary.snapshot()) == (
        "metrics: 3 requests (1 ok, 1 bedrock_throttled, 1 client_error), 2 input / 9 output tokens, "
        "first token p50 12 ms p90 12 ms, duration p50 180 ms p90 2000 ms, 1 invalid document "
        "(GET /_emulator/metrics)"
    )
    only_errors = MetricsSummary()
    only_errors.offer(line(ModelId="none", Outcome="client_error", Requests=1, Duration=2.5))
    assert summary_line(only_errors.snapshot()) == (
        "metrics: 1 request (1 client_error), 0 input / 0 output tokens, first token -, "
        "duration p50 2.5 ms p90 2.5 ms (GET /_emulator/metrics)"
    )
