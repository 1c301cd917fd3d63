"""The function's own CloudWatch metrics as the dashboard and alarms read them: names, dimensions, namespace.

The handler writes one Embedded Metric Format document per invocation (``bedrock_handler.metrics``, which
``stacks`` may not import); these names are the part of that contract the construct reads, and the infra
tests hold every one of them to the handler's own tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch

DEFAULT_NAMESPACE = "BedrockStreaming"
FUNCTION_NAME, API, MODEL_ID = "FunctionName", "Api", "ModelId"
APIS = ("native", "openai")
EMBEDDINGS_API = "openai"  # the embeddings API is OpenAI-compatible only

REQUESTS = "Requests"
TIME_TO_FIRST_TOKEN = "TimeToFirstToken"  # noqa: S105 (a metric name, not a credential)
DURATION = "Duration"
INPUT_TOKENS, OUTPUT_TOKENS = "InputTokens", "OutputTokens"
CACHE_TOKENS = ("CacheReadTokens", "CacheWriteTokens")
# One per outcome, in the order the dashboard stacks them: answered first, then the refusals and failures.
OUTCOMES = (
    "Succeeded",
    "ClientErrors",
    "ClientDisconnects",
    "BedrockThrottles",
    "BedrockErrors",
    "MidStreamFailures",
    "DeadlineStops",
    "FunctionErrors",
)
BEDROCK_THROTTLES = "BedrockThrottles"
# The outcomes that are the service's fault (not the caller's, not Bedrock's quota): the error-rate alarm.
SERVICE_ERRORS = ("BedrockErrors", "MidStreamFailures", "FunctionErrors", "DeadlineStops")
STOPS = (
    "EndTurnStops",
    "MaxTokensStops",
    "StopSequenceStops",
    "ToolUseStops",
    "GuardrailStops",
    "ContextWindowStops",
    "OtherStops",
)

# CloudWatch's rule for a namespace, and the prefix reserved for AWS's own namespaces.
_NAMESPACE = re.compile(r"^[A-Za-z0-9 ._/#:-]{1,255}$")


@dataclass(frozen=True, kw_only=True)
class FunctionMetrics:
    """Builds the metrics of one function: its namespace and the ``FunctionName`` dimension value."""

    namespace: str
    function_name: str
    period: cdk.Duration

    def whole(self, name: str, statistic: str = "Sum", *, label: str | None = None) -> cloudwatch.Metric:
        """A metric over the whole function (dimension set ``[FunctionName]``)."""
        return self._metric(name, {FUNCTION_NAME: self.function_name}, statistic, label)

    def per_model(self, name: str, *, api: str, model_id: str) -> cloudwatch.Metric:
        """A metric of one API and model (dimension set ``[FunctionName, Api, ModelId]``), summed."""
        dimensions = {FUNCTION_NAME: self.function_name, API: api, MODEL_ID: model_id}
        return self._metric(name, dimensions, "Sum", f"{api} {model_id}")

    def lambda_metric(self, name: str, statistic: str, *, label: str | None = None) -> cloudwatch.Metric:
        """One of Lambda's own metrics of the function (``AWS/Lambda``, dimension ``FunctionName``)."""
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=name,
            dimensions_map={FUNCTION_NAME: self.function_name},
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def _metric(
        self, name: str, dimensions: dict[str, str], statistic: str, label: str | None
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=self.period,
            label=label,
        )


def namespace_problems(namespace: str) -> list[str]:
    """What is wrong with a metrics namespace (the handler refuses the same); a CDK token is not judged."""
    if cdk.Token.is_unresolved(namespace):
        return []
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        return [
            f"metrics_namespace {namespace!r} must be 1-255 letters, digits, spaces or any of . - _ / # :"
        ]
    if namespace.startswith(("AWS/", ":")):
        return [f"metrics_namespace {namespace!r} must not start with 'AWS/' or ':' (reserved by AWS)"]
    if namespace != namespace.strip():
        # The handler strips METRICS_NAMESPACE, so the dashboard would read another namespace.
        return [f"metrics_namespace {namespace!r} must not begin or end with a space"]
    return []
