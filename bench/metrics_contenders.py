"""The metrics benchmark's contenders: each EMF writer as its users write it (source code the probe process
runs as a handler module's top level), the one invocation they all write, and the check that each wrote
that invocation's document.

Every contender gets the same invocation (the contract's two dimension sets, eight metrics with their
units, eight properties; bench/metrics_probe.py puts NAMESPACE, DIMENSIONS, METRICS and PROPERTIES in the
code's globals) and defines `emit_document()`, the per-invocation part: ours builds the dict with
`bedrock_handler.metrics.document` and writes it with `write`, as the handler does; aws-embedded-metrics
through its documented Lambda decorator `metric_scope` (a fresh logger per call, `set_dimensions`,
`put_metric`, `set_property`, flushed to its Lambda stdout sink when the call returns); Powertools through
a module-level `Metrics(namespace=...)` and its `log_metrics` handler decorator (`add_dimension`,
`add_dimensions` for the second set, `add_metric` with `MetricUnit`, `add_metadata`, flushed when the
handler returns).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

NAMESPACE = "BedrockStreaming"
FUNCTION_NAME = "bench"  # AWS_LAMBDA_FUNCTION_NAME in the function's environment (bench/cold_contenders.py)
DIMENSIONS = {"FunctionName": FUNCTION_NAME, "Api": "openai", "ModelId": "amazon.nova-lite-v1:0"}
DIMENSION_SETS = [["FunctionName", "Api", "ModelId"], ["FunctionName"]]
# An OpenAI streamed answer's metrics (docs/monitoring.md): name, unit, value.
METRICS = (
    ("Requests", "Count", 1),
    ("Succeeded", "Count", 1),
    ("Duration", "Milliseconds", 181),
    ("TimeToFirstToken", "Milliseconds", 42),
    ("InputTokens", "Count", 12),
    ("OutputTokens", "Count", 7),
    ("CacheReadTokens", "Count", 1024),
    ("EndTurnStops", "Count", 1),
)
PROPERTIES: dict[str, object] = {
    "RequestId": "8f2c1d7e-0b5c-4c1e-9a43-000000000001",
    "Outcome": "ok",
    "Status": 200,
    "StopReason": "end_turn",
    "Format": "openai-sse",
    "Door": "function-url",
    "Principal": "iam:arn:aws:iam::123456789012:user/bench",
    "TraceId": "1-5f84c3a8-0123456789abcdef01234567",
}

OURS_SETUP = """\
import time

from bedrock_handler import metrics


def emit_document():
    values = {name: value for name, _, value in METRICS}
    document = metrics.document(
        namespace=NAMESPACE,
        function_name=DIMENSIONS["FunctionName"],
        timestamp_ms=int(time.time() * 1000),
        api=DIMENSIONS["Api"],
        model_id=DIMENSIONS["ModelId"],
        values=values,
        properties=PROPERTIES,
    )
    metrics.write(document)
"""

EMBEDDED_METRICS_SETUP = """\
from aws_embedded_metrics import metric_scope


@metric_scope
def emit_document(metrics):
    metrics.set_namespace(NAMESPACE)
    metrics.set_dimensions(dict(DIMENSIONS), {"FunctionName": DIMENSIONS["FunctionName"]})
    for name, unit, value in METRICS:
        metrics.put_metric(name, value, unit)
    for key, value in PROPERTIES.items():
        metrics.set_property(key, value)
"""

POWERTOOLS_SETUP = """\
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace=NAMESPACE)


@metrics.log_metrics
def handler(event, context):
    for name, value in DIMENSIONS.items():
        metrics.add_dimension(name=name, value=value)
    metrics.add_dimensions(FunctionName=DIMENSIONS["FunctionName"])
    for name, unit, value in METRICS:
        metrics.add_metric(name=name, unit=MetricUnit[unit], value=value)
    for key, value in PROPERTIES.items():
        metrics.add_metadata(key=key, value=value)


def emit_document():
    handler({}, None)
"""

BASELINE_SETUP = """\
def emit_document():
    pass
"""


@dataclass(frozen=True, slots=True)
class Contender:
    """One way of writing the document: its name, the distribution that provides it (installed into a
    task root of its own, bench/task_roots.prepare_metrics_library; None for ours and the baseline) and
    the code a handler module would hold."""

    name: str
    library: str | None
    setup: str
    writes: bool = True  # False for the baseline, which writes nothing

    @property
    def label(self) -> str:
        return self.name if self.library is None else self.library


OURS = Contender("ours", None, OURS_SETUP)
EMBEDDED_METRICS = Contender("aws-embedded-metrics", "aws-embedded-metrics", EMBEDDED_METRICS_SETUP)
POWERTOOLS = Contender("powertools", "aws-lambda-powertools", POWERTOOLS_SETUP)
BASELINE = Contender("baseline", None, BASELINE_SETUP, writes=False)
LIBRARIES = (EMBEDDED_METRICS, POWERTOOLS)
ALL = (BASELINE, OURS, *LIBRARIES)


def invocation() -> dict[str, Any]:
    """The globals every contender's code gets (JSON-ready: the probe receives them on its command line)."""
    return {
        "NAMESPACE": NAMESPACE,
        "DIMENSIONS": DIMENSIONS,
        "METRICS": [list(metric) for metric in METRICS],
        "PROPERTIES": PROPERTIES,
    }


class DocumentMismatchError(RuntimeError):
    """A contender's output is not the invocation's EMF document."""


def _value(raw: object) -> object:
    """An EMF metric value as a number: a one-element array is its element (Powertools writes `[1.0]`),
    an integral float is an int."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    return raw


def check_document(line: str, *, now_ms: int | None = None) -> tuple[str, ...]:
    """Raise DocumentMismatchError unless `line` is one JSON line holding the invocation's document (the same
    namespace, dimension sets, metric names, units and values, dimension values and properties, and a
    timestamp within ten minutes of `now_ms`); return the names of any extra top-level members the writer
    added (aws-embedded-metrics adds a few Lambda properties of its own)."""
    problems: list[str] = []
    try:
        document = json.loads(line)
    except ValueError as exc:
        raise DocumentMismatchError(f"not one JSON document: {line[:200]!r} ({exc})") from exc
    if not isinstance(document, dict) or "\n" in line.strip():
        raise DocumentMismatchError(f"not one JSON object on one line: {line[:200]!r}")
    emf = document.pop("_aws", None) or {}
    directives = emf.get("CloudWatchMetrics") or [{}]
    directive = directives[0]
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if not isinstance(emf.get("Timestamp"), int) or abs(emf["Timestamp"] - now) > 600_000:
        problems.append(f"Timestamp {emf.get('Timestamp')!r}")
    if len(directives) != 1 or directive.get("Namespace") != NAMESPACE:
        problems.append(f"CloudWatchMetrics {directives!r}")
    if directive.get("Dimensions") != DIMENSION_SETS:
        problems.append(f"Dimensions {directive.get('Dimensions')!r}")
    definitions = directive.get("Metrics", [])
    if sorted(tuple(sorted(d.items())) for d in definitions) != sorted(
        (("Name", name), ("Unit", unit)) for name, unit, _ in METRICS
    ):
        problems.append(f"Metrics {definitions!r}")
    expected: dict[str, object] = {**DIMENSIONS, **PROPERTIES}
    expected.update((name, value) for name, _, value in METRICS)
    for key, value in expected.items():
        if _value(document.get(key)) != value:
            problems.append(f"{key}={document.get(key)!r} (expected {value!r})")
    if problems:
        raise DocumentMismatchError("the document differs from the invocation's: " + "; ".join(problems))
    return tuple(sorted(set(document) - set(expected)))
