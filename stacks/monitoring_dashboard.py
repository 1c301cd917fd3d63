"""The monitoring dashboard's widgets: the function's own metrics (first token, outcomes, stop reasons, tokens
per configured model and API, cache tokens), Lambda's, and a REST API stage's."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch

from .monitoring_metrics import (
    APIS,
    CACHE_TOKENS,
    DURATION,
    EMBEDDINGS_API,
    INPUT_TOKENS,
    OUTCOMES,
    OUTPUT_TOKENS,
    REQUESTS,
    STOPS,
    TIME_TO_FIRST_TOKEN,
    FunctionMetrics,
)
from .monitoring_props import ALARM_PERIOD

_WIDTH, _HEIGHT = 8, 6
_PERCENTILES = ("p50", "p90", "p99")


def function_rows(
    metrics: FunctionMetrics,
    *,
    model_ids: Sequence[str],
    embedding_model_ids: Sequence[str],
    reserved_concurrency: int | None,
    alarms: Sequence[cloudwatch.IAlarm],
) -> list[list[cloudwatch.IWidget]]:
    """The function's rows: alarm states; first token, outcomes, stop reasons; tokens in and out per
    model and API, cache tokens; Lambda concurrency, invocations, durations."""
    per_model = [(api, model_id) for model_id in model_ids for api in APIS]
    embeddings = [(EMBEDDINGS_API, model_id) for model_id in embedding_model_ids]
    rows: list[list[cloudwatch.IWidget]] = []
    if alarms:
        rows.append([cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24, height=3)])
    rows.append(
        [
            _graph(
                "Time to first token (ms)",
                [metrics.whole(TIME_TO_FIRST_TOKEN, p, label=p) for p in _PERCENTILES],
            ),
            _graph("Requests by outcome", _each(metrics, OUTCOMES), stacked=True),
            _graph("Stop reasons", _each(metrics, STOPS), stacked=True),
        ]
    )
    rows.append(
        [
            _graph(
                "Input tokens by API and model",
                [metrics.per_model(INPUT_TOKENS, api=api, model_id=m) for api, m in per_model + embeddings],
            ),
            _graph(
                "Output tokens by API and model",
                [metrics.per_model(OUTPUT_TOKENS, api=api, model_id=m) for api, m in per_model],
            ),
            _graph("Prompt cache tokens", _each(metrics, CACHE_TOKENS)),
        ]
    )
    concurrency = metrics.lambda_metric("ConcurrentExecutions", "Maximum", label="ConcurrentExecutions max")
    limit = (
        [cloudwatch.HorizontalAnnotation(value=reserved_concurrency, label="Reserved concurrency")]
        if isinstance(reserved_concurrency, int)
        else []
    )
    rows.append(
        [
            _graph("Lambda concurrency", [concurrency], annotations=limit),
            _graph(
                "Lambda invocations, errors and throttles",
                [
                    metrics.whole(REQUESTS, label="Requests (function)"),
                    metrics.lambda_metric("Invocations", "Sum", label="Invocations"),
                    metrics.lambda_metric("Errors", "Sum", label="Errors"),
                    metrics.lambda_metric("Throttles", "Sum", label="Throttles"),
                ],
            ),
            _graph(
                "Duration (ms)",
                [
                    metrics.lambda_metric("Duration", "p50", label="Lambda p50"),
                    metrics.lambda_metric("Duration", "p99", label="Lambda p99"),
                    metrics.whole(DURATION, "p50", label="Stream p50"),
                    metrics.whole(DURATION, "p99", label="Stream p99"),
                ],
            ),
        ]
    )
    return rows


def rest_api_row(
    name: str, *, stage: apigw.Stage, alarms: Sequence[cloudwatch.IAlarm]
) -> list[cloudwatch.IWidget]:
    """One row for a REST API stage: 4xx and 5xx, latency and integration latency, its alarm states."""
    errors = [
        stage.metric_client_error(statistic="Sum", period=ALARM_PERIOD, label="4XXError"),
        stage.metric_server_error(statistic="Sum", period=ALARM_PERIOD, label="5XXError"),
    ]
    latency = [
        stage.metric_latency(statistic=p, period=ALARM_PERIOD, label=f"Latency {p}") for p in ("p50", "p99")
    ] + [
        stage.metric_integration_latency(statistic=p, period=ALARM_PERIOD, label=f"IntegrationLatency {p}")
        for p in ("p50", "p99")
    ]
    row: list[cloudwatch.IWidget] = [
        _graph(f"REST API {name}: 4xx and 5xx", errors),
        _graph(f"REST API {name}: latency (ms)", latency),
    ]
    if alarms:
        row.append(
            cloudwatch.AlarmStatusWidget(
                title=f"REST API {name}: alarms", alarms=list(alarms), width=_WIDTH, height=_HEIGHT
            )
        )
    return row


def _each(metrics: FunctionMetrics, names: Sequence[str]) -> list[cloudwatch.IMetric]:
    """Each named metric over the whole function, summed, labelled with its name."""
    return [metrics.whole(name, label=name) for name in names]


def _graph(
    title: str,
    metrics: Sequence[cloudwatch.IMetric],
    *,
    stacked: bool = False,
    annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=list(metrics),
        stacked=stacked,
        left_annotations=list(annotations) or None,
        width=_WIDTH,
        height=_HEIGHT,
    )
