"""CloudWatch Embedded Metric Format: the one metrics document per invocation, written to stdout as a raw
JSON line (CloudWatch Logs turns it into metrics), with dimensions fixed by configuration only.

The document names the function, the API (`native` or `openai`) and the allow-listed model as dimensions,
once with all three and once with the function name alone (so percentiles over the whole function can be
read and alarmed on). Who called (API key id, Cognito `sub`, IAM caller, the OpenAI `user` label) and
everything else per request are plain properties: searchable in Logs Insights, never a dimension, so a
caller cannot create metrics. Specification:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import TextIO

DEFAULT_NAMESPACE = "BedrockStreaming"
DIMENSION_NAMES = ("FunctionName", "Api", "ModelId")
NO_MODEL = "none"  # the ModelId of a request refused or answered before a model was chosen
LOCAL_FUNCTION_NAME = "local"  # the FunctionName outside Lambda (AWS_LAMBDA_FUNCTION_NAME unset)
EMF_PREFIX = '{"_aws":'
API_NATIVE, API_OPENAI = "native", "openai"

OUTCOME_METRICS = {
    "ok": "Succeeded",
    "client_error": "ClientErrors",
    "bedrock_throttled": "BedrockThrottles",
    "bedrock_error": "BedrockErrors",
    "deadline_stop": "DeadlineStops",
    "mid_stream_failure": "MidStreamFailures",
    "cancelled": "ClientDisconnects",
    "function_error": "FunctionErrors",
}
STOP_METRICS = {
    "end_turn": "EndTurnStops",
    "max_tokens": "MaxTokensStops",
    "stop_sequence": "StopSequenceStops",
    "tool_use": "ToolUseStops",
    "guardrail_intervened": "GuardrailStops",
    "content_filtered": "GuardrailStops",
    "model_context_window_exceeded": "ContextWindowStops",
}
OTHER_STOP_METRIC = "OtherStops"
# Stop reasons that are outcomes of the invocation rather than the model's own ending.
_NOT_MODEL_STOPS = frozenset({"deadline", "cancelled", "error"})
_MILLISECONDS = ("Duration", "TimeToFirstToken")
_TOKENS = ("InputTokens", "OutputTokens", "CacheReadTokens", "CacheWriteTokens", "ReasoningDeltas")
METRIC_UNITS: dict[str, str] = {
    "Requests": "Count",
    **{name: "Count" for name in OUTCOME_METRICS.values()},
    **{name: "Milliseconds" for name in _MILLISECONDS},
    **{name: "Count" for name in _TOKENS},
    **{name: "Count" for name in STOP_METRICS.values()},
    OTHER_STOP_METRIC: "Count",
}
# Bedrock's throttling error codes as the handler reports them: before the stream and inside it.
_THROTTLED = frozenset(
    {"throttled", "throttlingException", "serviceQuotaExceededException", "tooManyRequestsException"}
)
# Each metric's `{"Name", "Unit"}` entry, built once rather than per document.
_DEFINITIONS = {name: {"Name": name, "Unit": unit} for name, unit in METRIC_UNITS.items()}
_DIMENSION_SETS = [list(DIMENSION_NAMES), [DIMENSION_NAMES[0]]]


def outcome(status: int, stop_reason: str | None, error_type: str | None) -> str:
    """How an invocation ended, as one of `OUTCOME_METRICS`' keys (see docs/monitoring.md)."""
    if stop_reason == "deadline" or error_type == "deadline_exceeded":
        return "deadline_stop"
    if error_type in _THROTTLED:
        return "bedrock_throttled"
    if stop_reason == "cancelled":
        return "cancelled"
    if status >= 400:
        return _refusal(status, error_type)
    return "ok" if error_type is None else "mid_stream_failure"  # a 200 whose stream failed midway


def _refusal(status: int, error_type: str | None) -> str:
    """The outcome of an error status: the caller's fault (4xx), the function's own, or Bedrock's."""
    if status < 500:
        return "client_error"
    return "function_error" if error_type == "internal_error" else "bedrock_error"


def trace_root(header: str | None) -> str | None:
    """The X-Ray trace id (`1-…-…`) in a `Root=…;Parent=…;Sampled=…` header, or None."""
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.partition("=")
        if key.strip() == "Root" and value:
            return value.strip()[:64]
    return None


def document(
    *,
    namespace: str,
    function_name: str,
    timestamp_ms: int,
    api: str,
    model_id: str | None,
    values: dict[str, int | None],
    properties: dict[str, object],
) -> dict[str, object]:
    """The EMF document: `values` are metric name -> value (None: not measured, left out) and
    `properties` per-request fields (None values left out)."""
    metrics = {name: value for name, value in values.items() if value is not None}
    emf: dict[str, object] = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": _DIMENSION_SETS,
                    "Metrics": [_DEFINITIONS[name] for name in metrics],
                }
            ],
        },
        "FunctionName": function_name,
        "Api": api,
        "ModelId": model_id or NO_MODEL,
    }
    emf.update(metrics)
    emf.update((key, value) for key, value in properties.items() if value is not None)
    return emf


def write(emf: dict[str, object], stream: TextIO | None = None) -> None:
    """`emf` as one line on stdout, in one write, so documents from concurrent workers never interleave
    and CloudWatch Logs reads it as it is, outside the runtime's own log records."""
    out = stream or sys.stdout
    out.write(json.dumps(emf, separators=(",", ":")) + "\n")  # ASCII: a lone surrogate cannot fail it
    out.flush()


def invocation_values(
    *,
    outcome_name: str,
    stop_reason: str | None,
    duration_ms: int,
    first_token_ms: int | None,
    model_called: bool,
    input_tokens: int,
    output_tokens: int | None,
    cache_read_tokens: int,
    cache_write_tokens: int,
    reasoning_deltas: int,
) -> dict[str, int | None]:
    """The metric values of one invocation, in the order the document lists them."""
    values: dict[str, int | None] = {
        "Requests": 1,
        OUTCOME_METRICS[outcome_name]: 1,
        "Duration": duration_ms,
        "TimeToFirstToken": first_token_ms,
    }
    if model_called:
        values["InputTokens"] = input_tokens
        values["OutputTokens"] = output_tokens
    if cache_read_tokens:
        values["CacheReadTokens"] = cache_read_tokens
    if cache_write_tokens:
        values["CacheWriteTokens"] = cache_write_tokens
    if reasoning_deltas:
        values["ReasoningDeltas"] = reasoning_deltas
    if stop_reason is not None and stop_reason not in _NOT_MODEL_STOPS:
        values[STOP_METRICS.get(stop_reason, OTHER_STOP_METRIC)] = 1
    return values
