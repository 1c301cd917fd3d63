"""The smoke test's metrics check against the local emulator: its `GET /_emulator/metrics` summary of the
EMF documents the function printed, read before and after the smoke test's requests, must have grown by
one document per request that reached the function, with the tokens those answers reported."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from stream_client.smoke_checks import Tokens
from stream_client.smoke_http import SmokeHttp
from stream_client.smoke_report import Check

METRICS_PAGE = "_emulator/metrics"
NAME = "metrics"
# The runtime prints its EMF line as the invocation ends, and the emulator reads it from the runtime's
# output: it may trail the response's last byte by a moment.
POLL_INTERVAL_S = 0.3
MAX_READS_AFTER = 3


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The summary's counters the check compares."""

    documents: int
    invalid: int
    input_tokens: int
    output_tokens: int


def read_snapshot(http: SmokeHttp) -> MetricsSnapshot | str:
    """The emulator's summary now, or why it cannot be read."""
    exchange = http.get_emulator_page(METRICS_PAGE)
    if exchange.status == 404:
        return f"the emulator serves no /{METRICS_PAGE} (an emulator older than the EMF metrics)"
    if exchange.status != 200:
        return exchange.problem()
    return _snapshot(exchange.json()) or f"/{METRICS_PAGE} is not the documented summary"


def _snapshot(document: Any) -> MetricsSnapshot | None:
    if not isinstance(document, dict):
        return None
    total = document.get("total")
    total = total if isinstance(total, dict) else {}
    values = [
        _count(document.get("documents")),
        _count(document.get("invalid", 0)),
        _count(total.get("inputTokens", 0)),
        _count(total.get("outputTokens", 0)),
    ]
    counts = [value for value in values if value is not None]
    return MetricsSnapshot(*counts) if len(counts) == len(values) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check(http: SmokeHttp, before: MetricsSnapshot | str, *, reached: int, tokens: Tokens | None) -> Check:
    """Read the summary again (a few times while it trails) and compare it with `before`.

    `reached` is how many requests reached the function; `tokens` is the sum the answers reported, or
    None when an answer reported none (then only the documents are compared).
    """
    if isinstance(before, str):
        return Check("SKIP", NAME, before)
    if reached == 0:
        return Check("SKIP", NAME, "no request reached the function, so it wrote no document")
    if http.remaining == 0:
        return Check("SKIP", NAME, "the request budget is spent")
    after = read_snapshot(http)
    reads = 1
    while (
        isinstance(after, MetricsSnapshot)
        and after.documents - before.documents < reached
        and reads < MAX_READS_AFTER
        and http.remaining > 0
    ):
        time.sleep(POLL_INTERVAL_S)
        after, reads = read_snapshot(http), reads + 1
    if isinstance(after, str):
        return Check("FAIL", NAME, f"read again: {after}")
    return _compare(before, after, reached=reached, tokens=tokens)


def _compare(
    before: MetricsSnapshot, after: MetricsSnapshot, *, reached: int, tokens: Tokens | None
) -> Check:
    grown = after.documents - before.documents
    input_grown = after.input_tokens - before.input_tokens
    output_grown = after.output_tokens - before.output_tokens
    detail = (
        f"/{METRICS_PAGE}: documents +{grown} for {reached} requests that reached the function, "
        f"tokens in +{input_grown} / out +{output_grown}"
    )
    problems = []
    if grown != reached:
        problems.append(f"expected +{reached} documents (other traffic meanwhile would also explain it)")
    if after.invalid != before.invalid:
        problems.append(f"{after.invalid - before.invalid} invalid EMF lines")
    if tokens is not None and (input_grown, output_grown) != (tokens.input, tokens.output):
        problems.append(f"the answers reported in {tokens.input} / out {tokens.output}")
    if tokens is None:
        detail += " (tokens not compared: an answer reported no usage)"
    return Check("FAIL" if problems else "PASS", NAME, "; ".join([detail, *problems]))
