"""The smoke test's CloudWatch Logs side, for a deployed function: the EMF documents it wrote and API
Gateway's completion notifications it logged after the smoke test started, polled for a bounded time.

boto3 is optional and imported only here, only when a log group is given: a missing boto3, no
credentials, or a denied call make the checks SKIP with the reason, never fail.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stream_client.smoke_report import Check

METRICS_NAME = "metrics"
COMPLETION_NAME = "completion"
POLL_INTERVAL_S = 5.0
MAX_PAGES = 5  # per query and poll: more than enough for one smoke test's lines
CLOCK_SKEW_MS = 5_000  # the search starts this much before the smoke test, for a clock running ahead
# The handler logs `{"event":"completion","status":…}` as the message of a text or JSON log line; these
# terms select the events, and the line itself is parsed here.
COMPLETION_PATTERN = '"event" "completion" "status"'
_COMPLETION_LINE = re.compile(r'\{"event":"completion"[^{}]*\}')


class LogsUnavailableError(Exception):
    """The log group cannot be searched (no boto3, no credentials, access denied, no such group)."""

    def __init__(self, reason: str, *, calls: int = 0) -> None:
        super().__init__(reason)
        self.calls = calls


@dataclass(frozen=True, slots=True)
class LogSearch:
    """What to look for: EMF documents in `namespace` (matched to the responses' `x-amzn-RequestId`
    when they are Lambda's), and, behind the REST API door, completion notification lines."""

    log_group: str
    start_ms: int
    namespace: str
    request_ids: frozenset[str]
    expected_documents: int
    expected_completions: int  # 0: do not wait for any
    wait_s: float

    @property
    def emf_pattern(self) -> str:
        return f'{{ $._aws.CloudWatchMetrics[0].Namespace = "{self.namespace}" }}'


@dataclass(frozen=True, slots=True)
class LogFindings:
    """What the search found, how many API calls it made and how long it waited; `unavailable` says why
    nothing could be searched."""

    documents: tuple[Mapping[str, Any], ...] = ()
    completions: tuple[Mapping[str, Any], ...] = ()
    calls: int = 0
    waited_s: float = 0.0
    unavailable: str | None = None


def find(query: LogSearch, *, profile: str | None, region: str | None, client: Any = None) -> LogFindings:
    """Search the log group (with `client`, else one from boto3's standard credential chain), when a
    request reached the function."""
    if query.expected_documents == 0:
        return LogFindings()
    try:
        return search(client or logs_client(profile=profile, region=region), query)
    except LogsUnavailableError as exc:
        return LogFindings(calls=exc.calls, unavailable=str(exc))


def logs_client(*, profile: str | None, region: str | None) -> Any:
    """A CloudWatch Logs client from boto3's standard chain (raises LogsUnavailableError without boto3)."""
    try:
        import boto3  # noqa: PLC0415 - optional: only a smoke test with --log-group needs it
    except ImportError as exc:
        raise LogsUnavailableError("boto3 is not installed") from exc
    try:
        return boto3.session.Session(profile_name=profile, region_name=region).client("logs")
    except BotoCoreError as exc:  # ProfileNotFound, NoRegionError, ...
        raise LogsUnavailableError(_describe(exc)) from exc


def search(
    client: Any,
    query: LogSearch,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LogFindings:
    """Poll every POLL_INTERVAL_S until the expected lines are in or `wait_s` has passed (raises
    LogsUnavailableError when a call is refused)."""
    started = clock()
    reader = _LogGroupReader(client, query)
    while True:
        documents = reader.events(query.emf_pattern, _emf_document)
        completions = (
            reader.events(COMPLETION_PATTERN, _completion_line) if query.expected_completions else []
        )
        done = len(documents) >= query.expected_documents and len(completions) >= query.expected_completions
        if done or clock() - started + POLL_INTERVAL_S > query.wait_s:
            return LogFindings(tuple(documents), tuple(completions), reader.calls, clock() - started)
        sleep(POLL_INTERVAL_S)


class _LogGroupReader:
    """`filter_log_events` over the log group since the smoke test started, its API calls counted."""

    def __init__(self, client: Any, query: LogSearch) -> None:
        self._client = client
        self._query = query
        self.calls = 0

    def events(
        self, pattern: str, parse: Callable[[str], Mapping[str, Any] | None]
    ) -> list[Mapping[str, Any]]:
        """Every event matching `pattern`, parsed (the ones `parse` rejects are left out)."""
        found: list[Mapping[str, Any]] = []
        arguments: dict[str, Any] = {
            "logGroupName": self._query.log_group,
            "startTime": self._query.start_ms - CLOCK_SKEW_MS,
            "filterPattern": pattern,
        }
        for _ in range(MAX_PAGES):
            self.calls += 1
            try:
                answer = self._client.filter_log_events(**arguments)
            except (ClientError, BotoCoreError) as exc:  # access denied, no such group, no credentials, ...
                raise LogsUnavailableError(_describe(exc), calls=self.calls) from exc
            messages = (event.get("message", "") for event in answer.get("events", []))
            found.extend(line for message in messages if (line := parse(message)))
            if not answer.get("nextToken"):
                break
            arguments["nextToken"] = answer["nextToken"]
        return found


def _emf_document(message: str) -> Mapping[str, Any] | None:
    try:
        document = json.loads(message)
    except json.JSONDecodeError:
        return None
    return document if isinstance(document, dict) and "_aws" in document else None


def _completion_line(message: str) -> Mapping[str, Any] | None:
    """The handler's completion line inside a text log line, or inside a JSON log line's message."""
    try:
        wrapped = json.loads(message)
    except json.JSONDecodeError:
        wrapped = None
    if isinstance(wrapped, dict) and isinstance(wrapped.get("message"), str):
        message = wrapped["message"]
    match = _COMPLETION_LINE.search(message)
    if match is None:
        return None
    try:
        line = json.loads(match.group(0))
    except json.JSONDecodeError:
        return None
    return line if isinstance(line, dict) else None


def _describe(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


def metrics_check(query: LogSearch, findings: LogFindings, *, output_tokens: int | None) -> Check:
    """PASS when at least one EMF document per request that reached the function was found."""
    if query.expected_documents == 0:
        return Check("SKIP", METRICS_NAME, "no request reached the function, so it wrote no document")
    if findings.unavailable:
        return Check("SKIP", METRICS_NAME, f"CloudWatch Logs not searched: {findings.unavailable}")
    matched = [doc for doc in findings.documents if doc.get("RequestId") in query.request_ids]
    outcomes = Counter(f"{doc.get('Api')} {doc.get('Outcome')}" for doc in findings.documents)
    listed = ", ".join(f"{label} x{count}" for label, count in sorted(outcomes.items()))
    detail = (
        f"{len(findings.documents)} EMF documents in {query.namespace} since the smoke test started, "
        f"{len(matched)} matched by x-amzn-RequestId, after {findings.waited_s:.0f} s ({listed or 'none'})"
    )
    if len(findings.documents) < query.expected_documents:
        return Check(
            "FAIL",
            METRICS_NAME,
            f"{detail}; expected {query.expected_documents} (CloudWatch Logs may still be delivering them)",
        )
    written = sum(int(doc.get("OutputTokens", 0)) for doc in matched)
    if len(matched) == query.expected_documents and output_tokens is not None and written != output_tokens:
        return Check(
            "FAIL", METRICS_NAME, f"{detail}; OutputTokens {written}, the answers said {output_tokens}"
        )
    return Check("PASS", METRICS_NAME, detail)


def completion_check(query: LogSearch, findings: LogFindings) -> Check:
    """INFO: whether API Gateway sent completion notifications (PROTOCOL.md §11.9 #2)."""
    if query.expected_completions == 0:
        return Check("SKIP", COMPLETION_NAME, "no REST request reached the function")
    if findings.unavailable:
        return Check("SKIP", COMPLETION_NAME, f"CloudWatch Logs not searched: {findings.unavailable}")
    statuses = Counter(str(line.get("status")) for line in findings.completions)
    seen = ", ".join(f"{status} x{count}" for status, count in sorted(statuses.items()))
    if findings.completions:
        detail = (
            f"PROTOCOL.md §11.9 #2: {len(findings.completions)} completion notifications logged ({seen}) for "
            f"{query.expected_completions} REST requests that reached the function"
        )
    else:
        detail = (
            f"PROTOCOL.md §11.9 #2: no completion notification logged within {findings.waited_s:.0f} s of "
            f"{query.expected_completions} REST requests that reached the function (none sent, or not "
            "delivered yet, or the function's log level is above INFO)"
        )
    return Check("INFO", COMPLETION_NAME, detail)
