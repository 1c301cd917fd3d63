"""Unit tests of stream_client/smoke_logs.py with botocore's Stubber in place of CloudWatch Logs (nothing
here can reach AWS): EMF documents and completion lines found, nothing found within the wait, and a
denied call, missing credentials or a missing boto3 turned into SKIP lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stream_client import smoke_logs
from stream_client.smoke_logs import COMPLETION_PATTERN, LogFindings, LogSearch

START_MS = 1_765_017_600_000
IDS = ("8f2c0000-0000-4000-8000-000000000001", "8f2c0000-0000-4000-8000-000000000002")
GROUP = "BedrockStreamingStack-StreamingLogGroup0123"


def query(**overrides: Any) -> LogSearch:
    values: dict[str, Any] = {
        "log_group": GROUP,
        "start_ms": START_MS,
        "namespace": "BedrockStreaming",
        "request_ids": frozenset(IDS),
        "expected_documents": 2,
        "expected_completions": 2,
        "wait_s": 10.0,
    }
    values.update(overrides)
    return LogSearch(**values)


def emf(request_id: str, *, api: str, outcome: str, output_tokens: int) -> str:
    document = {
        "_aws": {"Timestamp": START_MS + 100, "CloudWatchMetrics": [{"Namespace": "BedrockStreaming"}]},
        "Api": api,
        "Outcome": outcome,
        "RequestId": request_id,
        "OutputTokens": output_tokens,
    }
    return json.dumps(document, separators=(",", ":"))


def params(pattern: str) -> dict[str, Any]:
    """What each filter_log_events call must send: the group, 5 s before the start, the pattern."""
    return {"logGroupName": GROUP, "startTime": START_MS - 5_000, "filterPattern": pattern}


def events(*messages: str) -> dict[str, Any]:
    return {"events": [{"message": message, "timestamp": START_MS + 1} for message in messages]}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="AKIDSTUB", aws_secret_access_key="stub-secret"
    ).client("logs")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class FakeTime:
    """A clock that moves only when the search sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_found_documents_and_completions_pass(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    emf_pattern = '{ $._aws.CloudWatchMetrics[0].Namespace = "BedrockStreaming" }'
    # The first poll finds one document, then a second page of the next poll finds the other.
    stubber.add_response(
        "filter_log_events",
        events(emf(IDS[0], api="native", outcome="ok", output_tokens=20)),
        params(emf_pattern),
    )
    stubber.add_response("filter_log_events", events(), params(COMPLETION_PATTERN))
    stubber.add_response(
        "filter_log_events",
        {**events(emf(IDS[0], api="native", outcome="ok", output_tokens=20)), "nextToken": "page-2"},
        params(emf_pattern),
    )
    stubber.add_response(
        "filter_log_events",
        events(
            emf(IDS[1], api="openai", outcome="ok", output_tokens=3), "START RequestId: x Version: $LATEST"
        ),
        {**params(emf_pattern), "nextToken": "page-2"},
    )
    text_line = '[INFO]\t2026-12-06T10:00:00.000Z\tabc\t{"event":"completion","status":"Success"}'
    json_line = json.dumps(
        {"level": "INFO", "message": '{"event":"completion","status":"Failure","errorCode":"x"}'}
    )
    stubber.add_response("filter_log_events", events(text_line, json_line), params(COMPLETION_PATTERN))
    time = FakeTime()
    findings = smoke_logs.search(client, query(), clock=time.clock, sleep=time.sleep)
    assert (len(findings.documents), len(findings.completions), findings.calls) == (2, 2, 5)
    assert time.sleeps == [smoke_logs.POLL_INTERVAL_S]
    metrics = smoke_logs.metrics_check(query(), findings, output_tokens=23)
    assert (metrics.status, metrics.detail) == (
        "PASS",
        "2 EMF documents in BedrockStreaming since the smoke test started, 2 matched by x-amzn-RequestId, "
        "after 5 s (native ok x1, openai ok x1)",
    )
    completion = smoke_logs.completion_check(query(), findings)
    assert completion.status == "INFO"
    assert completion.detail == (
        "PROTOCOL.md §11.9 #2: 2 completion notifications logged (Failure x1, Success x1) "
        "for 2 REST requests that reached the function"
    )


def test_tokens_that_disagree_with_the_answers_fail(stubbed: tuple[Any, Stubber]) -> None:
    findings = LogFindings(
        documents=(
            json.loads(emf(IDS[0], api="native", outcome="ok", output_tokens=20)),
            json.loads(emf(IDS[1], api="openai", outcome="ok", output_tokens=3)),
        )
    )
    check = smoke_logs.metrics_check(query(), findings, output_tokens=24)
    assert check.status == "FAIL" and check.detail.endswith("; OutputTokens 23, the answers said 24")


def test_nothing_found_within_the_wait_fails_the_metrics_and_informs(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):  # polls at 0, 5 and 10 s; a fourth, at 15 s, would be past the 10 s wait
        stubber.add_response("filter_log_events", events(), params(query().emf_pattern))
        stubber.add_response("filter_log_events", events(), params(COMPLETION_PATTERN))
    time = FakeTime()
    findings = smoke_logs.search(client, query(), clock=time.clock, sleep=time.sleep)
    assert (findings.calls, time.sleeps) == (6, [smoke_logs.POLL_INTERVAL_S] * 2)
    metrics = smoke_logs.metrics_check(query(), findings, output_tokens=23)
    assert metrics.status == "FAIL"
    assert metrics.detail == (
        "0 EMF documents in BedrockStreaming since the smoke test started, 0 matched by x-amzn-RequestId, "
        "after 10 s (none); expected 2 (CloudWatch Logs may still be delivering them)"
    )
    completion = smoke_logs.completion_check(query(), findings)
    assert (
        completion.status == "INFO" and "no completion notification logged within 10 s" in completion.detail
    )


def test_access_denied_skips_both_lines(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "filter_log_events",
        service_error_code="AccessDeniedException",
        service_message="User is not authorized to perform: logs:FilterLogEvents",
        http_status_code=400,
        expected_params=params(query().emf_pattern),
    )
    findings = smoke_logs.find(query(), profile=None, region="us-east-1", client=client)
    reason = "AccessDeniedException: User is not authorized to perform: logs:FilterLogEvents"
    assert (findings.unavailable, findings.calls) == (reason, 1)
    assert smoke_logs.metrics_check(query(), findings, output_tokens=23).line() == (
        f"SKIP metrics         CloudWatch Logs not searched: {reason}"
    )
    assert smoke_logs.completion_check(query(), findings).status == "SKIP"


def test_no_credentials_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    findings = smoke_logs.find(query(), profile=None, region="us-east-1")
    assert findings.unavailable == "NoCredentialsError: Unable to locate credentials"
    assert smoke_logs.metrics_check(query(), findings, output_tokens=None).status == "SKIP"


def test_a_missing_boto3_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    findings = smoke_logs.find(query(), profile=None, region="us-east-1")
    assert (findings.unavailable, findings.calls) == ("boto3 is not installed", 0)


def test_nothing_is_searched_when_no_request_reached_the_function() -> None:
    findings = smoke_logs.find(query(expected_documents=0), profile=None, region="us-east-1")
    assert findings == LogFindings()
    check = smoke_logs.metrics_check(query(expected_documents=0), findings, output_tokens=None)
    assert check.status == "SKIP"


@pytest.mark.parametrize(
    ("message", "parsed"),
    [
        (
            '[INFO]\t2026-12-06T10:00:00.000Z\tid\t{"event":"completion","status":"Success"}',
            {"status": "Success"},
        ),
        (json.dumps({"message": '{"event":"completion","status":"Failure"}'}), {"status": "Failure"}),
        ('[INFO]\t2026\tid\t{"event":"invocation","status":200}', None),
        ("not json at all completion", None),
    ],
)
def test_completion_lines_in_text_and_json_log_formats(message: str, parsed: dict[str, str] | None) -> None:
    line = smoke_logs._completion_line(message)
    assert (None if line is None else {"status": line["status"]}) == parsed
