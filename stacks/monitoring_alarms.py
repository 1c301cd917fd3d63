"""The monitoring's CloudWatch alarms on the function's own metrics, Lambda's and a REST API stage's, each
built from its ``Monitoring`` threshold (None: no alarm) and treating missing data as not breaching."""

from __future__ import annotations

import math

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from .monitoring_metrics import (
    BEDROCK_THROTTLES,
    REQUESTS,
    SERVICE_ERRORS,
    TIME_TO_FIRST_TOKEN,
    FunctionMetrics,
)
from .monitoring_props import ALARM_PERIOD, Monitoring

_ABOVE = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
_AT_LEAST = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def error_rate(metrics: FunctionMetrics) -> cloudwatch.MathExpression:
    """The percentage of requests that failed through no fault of the caller's: a period without a given
    outcome has no data point for it, hence FILL; a period without requests has no rate at all."""
    errors = {_math_id(name): metrics.whole(name) for name in SERVICE_ERRORS}
    total = " + ".join(f"FILL({metric_id}, 0)" for metric_id in errors)
    return cloudwatch.MathExpression(
        expression=f"100 * ({total}) / requests",
        using_metrics={"requests": metrics.whole(REQUESTS), **errors},
        label="Error rate (%)",
        period=ALARM_PERIOD,
    )


def function_alarms(
    scope: Construct, *, metrics: FunctionMetrics, settings: Monitoring, reserved_concurrency: int | None
) -> dict[str, cloudwatch.Alarm]:
    """The function's alarms by name: ErrorRate, BedrockThrottles, FirstTokenP99, LambdaThrottles and, with
    a literal reserved concurrency, ConcurrencySaturation."""
    sustained = settings.evaluation_periods
    alarms: dict[str, cloudwatch.Alarm] = {}
    if settings.error_rate_percent is not None:
        alarms["ErrorRate"] = _alarm(
            scope,
            "ErrorRate",
            metric=error_rate(metrics),
            threshold=settings.error_rate_percent,
            comparison=_ABOVE,
            periods=sustained,
            description=f"More than {settings.error_rate_percent:g} % of requests failed (Bedrock errors, "
            "mid-stream failures, function errors, deadline stops): see the dashboard's outcomes and the "
            "function's log group.",
        )
    if settings.bedrock_throttles is not None:
        alarms["BedrockThrottles"] = _alarm(
            scope,
            "BedrockThrottles",
            metric=metrics.whole(BEDROCK_THROTTLES),
            threshold=settings.bedrock_throttles,
            comparison=_AT_LEAST,
            periods=1,
            description=f"Bedrock throttled {settings.bedrock_throttles} or more requests in 5 minutes: "
            "request a higher Bedrock quota or use a cross-Region inference profile.",
        )
    if settings.first_token_p99_ms is not None:
        alarms["FirstTokenP99"] = _alarm(
            scope,
            "FirstTokenP99",
            metric=metrics.whole(TIME_TO_FIRST_TOKEN, "p99"),
            threshold=settings.first_token_p99_ms,
            comparison=_ABOVE,
            periods=sustained,
            description=f"The p99 time to first token exceeded {settings.first_token_p99_ms} ms.",
        )
    if settings.lambda_throttles is not None:
        alarms["LambdaThrottles"] = _alarm(
            scope,
            "LambdaThrottles",
            metric=metrics.lambda_metric("Throttles", "Sum"),
            threshold=settings.lambda_throttles,
            comparison=_AT_LEAST,
            periods=1,
            description=f"Lambda throttled {settings.lambda_throttles} or more invocations in 5 minutes "
            "(callers got 429 before the function ran): raise the reserved concurrency or the account quota.",
        )
    saturation = concurrency_threshold(reserved_concurrency, settings.concurrency_percent)
    if saturation is not None:
        alarms["ConcurrencySaturation"] = _alarm(
            scope,
            "ConcurrencySaturation",
            metric=metrics.lambda_metric("ConcurrentExecutions", "Maximum"),
            threshold=saturation,
            comparison=_AT_LEAST,
            periods=sustained,
            description=f"The function ran {saturation} or more streams at once, "
            f"{settings.concurrency_percent:g} % of its reserved concurrency {reserved_concurrency}: "
            "the next ones will be throttled.",
        )
    return alarms


def concurrency_threshold(reserved_concurrency: int | None, percent: float | None) -> int | None:
    """Concurrent executions at ``percent`` of the reservation, rounded up; None without a literal one."""
    if reserved_concurrency is None or percent is None or not isinstance(reserved_concurrency, int):
        return None
    return max(1, math.ceil(reserved_concurrency * percent / 100))


def rest_api_alarms(
    scope: Construct, name: str, *, stage: apigw.Stage, settings: Monitoring
) -> dict[str, cloudwatch.Alarm]:
    """``<name>ServerErrorRate``: the stage's 5XXError average (the share of requests answered 5xx) as a
    percentage; nothing when ``rest_api_5xx_percent`` is None."""
    if settings.rest_api_5xx_percent is None:
        return {}
    server_errors = stage.metric_server_error(statistic="Average", period=ALARM_PERIOD)
    alarm_name = f"{name}ServerErrorRate"
    return {
        alarm_name: _alarm(
            scope,
            alarm_name,
            metric=cloudwatch.MathExpression(
                expression="100 * serverErrors",
                using_metrics={"serverErrors": server_errors},
                label="5xx rate (%)",
                period=ALARM_PERIOD,
            ),
            threshold=settings.rest_api_5xx_percent,
            comparison=_ABOVE,
            periods=settings.evaluation_periods,
            description=f"{name}: the REST API answered more than {settings.rest_api_5xx_percent:g} % of "
            "requests with a 5xx: see its access log group and the function's outcomes.",
        )
    }


def _alarm(
    scope: Construct,
    name: str,
    *,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator,
    periods: int,
    description: str,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        f"{name}Alarm",
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )


def _math_id(metric_name: str) -> str:
    """A metric-math id (lower-case first letter): ``BedrockErrors`` -> ``bedrockErrors``."""
    return metric_name[0].lower() + metric_name[1:]
