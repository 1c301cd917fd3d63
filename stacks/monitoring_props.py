"""The ``Monitoring`` settings of a BedrockStreamingFunction (dashboard, alarm thresholds, alarm topic) and
their up-front validation."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_sns as sns

ALARM_PERIOD = cdk.Duration.minutes(5)
# CloudWatch caps EvaluationPeriods x Period at one day.
MAX_EVALUATION_PERIODS = 24 * 60 // 5
_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, kw_only=True)
class Monitoring:
    """What the function's monitoring builds. Every alarm looks at five-minute periods and treats missing
    data as not breaching (no traffic is no alarm); a threshold of None leaves that alarm out.

    :param dashboard_name: the CloudWatch dashboard's name (letters, digits, ``-`` and ``_``).
        Default: None (``<stack name>-<construct path>``, e.g. ``BedrockStreamingStack-BedrockStreaming``).
    :param alarm_topic: the SNS topic every alarm notifies (on ALARM and back to OK); an encrypted topic's
        key must let ``cloudwatch.amazonaws.com`` use it. Default: None.
    :param alarm_email: creates a KMS-encrypted topic with this address subscribed (AWS sends a
        confirmation mail first); excludes ``alarm_topic``. Default: None (no topic: alarms without actions).
    :param error_rate_percent: alarm when (BedrockErrors + MidStreamFailures + FunctionErrors +
        DeadlineStops) / Requests exceeds this percentage in ``evaluation_periods`` periods in a row.
        Default: 5.
    :param bedrock_throttles: alarm when Bedrock throttles at least this many requests in one period.
        Default: 5.
    :param first_token_p99_ms: alarm when the p99 time to first token exceeds this many milliseconds in
        ``evaluation_periods`` periods in a row. Default: 10000.
    :param concurrency_percent: with reserved concurrency, alarm when the function's maximum concurrent
        executions reach this percentage of the reservation in ``evaluation_periods`` periods in a row.
        Default: 80.
    :param lambda_throttles: alarm when Lambda throttles at least this many invocations in one period
        (the caller got a 429 before the function ran). Default: 1.
    :param rest_api_5xx_percent: with a BedrockStreamingRestApi, alarm when its stage answers more than this
        percentage of requests with a 5xx in ``evaluation_periods`` periods in a row. Default: 5.
    :param evaluation_periods: how many five-minute periods in a row the sustained alarms (error rate,
        first token, concurrency, REST API 5xx) need, 1-288. Default: 3.
    """

    dashboard_name: str | None = None
    alarm_topic: sns.ITopic | None = None
    alarm_email: str | None = None
    error_rate_percent: float | None = 5
    bedrock_throttles: int | None = 5
    first_token_p99_ms: int | None = 10_000
    concurrency_percent: float | None = 80
    lambda_throttles: int | None = 1
    rest_api_5xx_percent: float | None = 5
    evaluation_periods: int = 3


def monitoring_problems(monitoring: object, *, metrics: bool) -> list[str]:
    """Every problem with the ``monitoring`` prop given the ``metrics`` prop; a token name or address is not
    judged, thresholds must be plain numbers (the alarm descriptions name them)."""
    if isinstance(monitoring, bool):
        settings = Monitoring() if monitoring else None
    elif isinstance(monitoring, Monitoring):
        settings = monitoring
    else:
        return ["monitoring must be True, False or a Monitoring(...)"]
    if settings is None:
        return []
    problems = []
    if not metrics:
        problems.append(
            "monitoring needs metrics=True: the dashboard and alarms read the function's own metrics "
            "(pass monitoring=False together with metrics=False)"
        )
    return problems + _settings_problems(settings)


def _settings_problems(settings: Monitoring) -> list[str]:
    problems = []
    name = settings.dashboard_name
    if name is not None and _literal(name) and not _DASHBOARD_NAME.match(name):
        problems.append(f"dashboard_name {name!r} must be 1-255 letters, digits, '-' or '_'")
    email = settings.alarm_email
    if email is not None and _literal(email) and not _EMAIL.match(email):
        problems.append(f"alarm_email {email!r} is not an email address")
    if email is not None and settings.alarm_topic is not None:
        problems.append("alarm_email and alarm_topic exclude each other (the email creates its own topic)")
    for field_name in ("error_rate_percent", "concurrency_percent", "rest_api_5xx_percent"):
        value = getattr(settings, field_name)
        if value is not None and not _percentage(value):
            problems.append(f"{field_name} {value!r} must be a percentage above 0 and at most 100 (or None)")
    for field_name in ("bedrock_throttles", "first_token_p99_ms", "lambda_throttles"):
        value = getattr(settings, field_name)
        if value is not None and not _count(value, minimum=1):
            problems.append(f"{field_name} {value!r} must be a whole number of at least 1 (or None)")
    periods = settings.evaluation_periods
    if not (_count(periods, minimum=1) and periods <= MAX_EVALUATION_PERIODS):
        problems.append(
            f"evaluation_periods {periods!r} must be a whole number from 1 to {MAX_EVALUATION_PERIODS} "
            "(five-minute periods, one day at most)"
        )
    return problems


def _literal(value: object) -> bool:
    return not cdk.Token.is_unresolved(value)


def _percentage(value: object) -> bool:
    # NaN and infinities fail here, before anything hands them to jsii (which cannot encode them); a CDK
    # number token (a huge negative float) fails too: descriptions name the threshold.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= 100
    )


def _count(value: object, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum
