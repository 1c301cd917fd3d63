"""The running summary of the EMF documents the runtimes printed, per model and in total, which
`GET /_emulator/metrics` serves (thread-safe; nothing is ever reset).

Percentiles are nearest-rank: the p-th percentile of n values is the ceil(p/100 × n)-th smallest, so it
is always one of the measured values (p50 of 1, 2, 3, 4 is 2), and null when nothing was measured.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator import emf

log = logging.getLogger("emulator")

PERCENTILES = (50, 90, 99)
NO_MODEL = "none"  # the function's ModelId for a request that never got to a model
_TOKEN_METRICS = {
    "inputTokens": "InputTokens",
    "outputTokens": "OutputTokens",
    "cacheReadTokens": "CacheReadTokens",
    "cacheWriteTokens": "CacheWriteTokens",
}
_TIMING_METRICS = {"timeToFirstTokenMs": "TimeToFirstToken", "durationMs": "Duration"}


def percentile(ordered: Sequence[int | float], p: int) -> int | float | None:
    """The nearest-rank `p`-th percentile of `ordered` (sorted ascending); None when it is empty."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@dataclass(slots=True)
class _Tally:
    """What the summary keeps for one model (or all of them): counts, sums and every timing value."""

    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    tokens: dict[str, int | float] = field(default_factory=lambda: dict.fromkeys(_TOKEN_METRICS, 0))
    timings: dict[str, list[int | float]] = field(default_factory=lambda: {k: [] for k in _TIMING_METRICS})

    def add(self, outcome: str, values: Mapping[str, list[int | float]]) -> None:
        self.requests += 1
        self.outcomes[outcome] += 1
        for key, metric in _TOKEN_METRICS.items():
            self.tokens[key] += sum(values.get(metric, ()))
        for key, metric in _TIMING_METRICS.items():
            self.timings[key].extend(values.get(metric, ()))

    def copy(self) -> _Tally:
        timings = {key: list(samples) for key, samples in self.timings.items()}
        return _Tally(self.requests, Counter(self.outcomes), dict(self.tokens), timings)

    def render(self) -> dict[str, Any]:
        """The JSON shape of one model's entry (sorts its own timing copies: call it outside the lock)."""
        document: dict[str, Any] = {
            "requests": self.requests,
            "outcomes": dict(sorted(self.outcomes.items())),
        }
        document.update((key, self.tokens[key]) for key in _TOKEN_METRICS)
        for key, samples in self.timings.items():
            ordered = sorted(samples)
            document[key] = {"count": len(ordered), **{f"p{p}": percentile(ordered, p) for p in PERCENTILES}}
        return document


class MetricsSummary:
    """`offer(line)` takes one line the runtime printed that starts with `{"_aws":`; `snapshot()` is the
    summary: valid documents aggregated, the others only counted as `invalid`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents = 0
        self._invalid = 0
        self._namespaces: set[str] = set()
        self._models: dict[str, _Tally] = {}
        self._total = _Tally()

    def offer(self, line: bytes) -> None:
        """Check `line` against the EMF specification and count it (parsing happens outside the lock)."""
        try:
            document = emf.parse(line)
            found = emf.problems(document)
        except emf.EmfError as exc:
            found = [str(exc)]
        if found:
            with self._lock:
                self._invalid += 1
            log.warning("invalid EMF document from the runtime: %s", "; ".join(found[:3]))
            return
        values = emf.metric_values(document)
        model = document.get("ModelId")
        outcome = document.get("Outcome")
        model_key = model if isinstance(model, str) else NO_MODEL
        outcome_key = outcome if isinstance(outcome, str) else "unknown"
        namespaces = {directive["Namespace"] for directive in document["_aws"]["CloudWatchMetrics"]}
        with self._lock:
            self._documents += 1
            self._namespaces |= namespaces
            self._models.setdefault(model_key, _Tally()).add(outcome_key, values)
            self._total.add(outcome_key, values)

    def snapshot(self) -> dict[str, Any]:
        """The summary as `GET /_emulator/metrics` serves it (docs/emulator.md)."""
        with self._lock:
            documents, invalid, namespaces = self._documents, self._invalid, sorted(self._namespaces)
            models = {name: tally.copy() for name, tally in sorted(self._models.items())}
            total = self._total.copy()
        return {
            "documents": documents,
            "invalid": invalid,
            "namespaces": namespaces,
            "models": {name: tally.render() for name, tally in models.items()},
            "total": total.render(),
        }


def summary_line(summary: Mapping[str, Any]) -> str:
    """`summary` (a snapshot) as the one line `demo` prints (format in docs/emulator.md), e.g. `metrics:
    2 requests (1 ok, 1 client_error), 9 input / 7 output tokens, first token p50 8 ms p90 8 ms, duration
    p50 12 ms p90 40 ms (GET /_emulator/metrics)`."""
    total, invalid = summary["total"], summary["invalid"]
    parts = []
    if summary["documents"]:
        outcomes = sorted(total["outcomes"].items(), key=lambda item: (item[0] != "ok", item[0]))
        counted = ", ".join(f"{count} {name}" for name, count in outcomes)
        parts += [
            f"{_plural(total['requests'], 'request')} ({counted})",
            f"{total['inputTokens']} input / {total['outputTokens']} output tokens",
            f"first token {_percentiles(total['timeToFirstTokenMs'])}",
            f"duration {_percentiles(total['durationMs'])}",
        ]
    elif not invalid:
        parts.append("no EMF document (METRICS=off?)")
    if invalid:
        parts.append(_plural(invalid, "invalid document"))
    return f"metrics: {', '.join(parts)} (GET /_emulator/metrics)"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _percentiles(timing: Mapping[str, Any]) -> str:
    if not timing["count"]:
        return "-"
    return " ".join(f"p{p} {timing[f'p{p}']:g} ms" for p in PERCENTILES[:2])
