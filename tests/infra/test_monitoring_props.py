"""The metrics, monitoring and tracing props and context keys: accepted values, and one clear error for each
bad one (checked before any resource exists)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from bedrock_handler.config import ConfigError, HandlerConfig

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_stack import ContextError, StackSettings
from stacks.monitoring_metrics import DEFAULT_NAMESPACE, namespace_problems
from stacks.monitoring_props import Monitoring, monitoring_problems
from tests.infra.conftest import CDK_CONTEXT, RUNTIME_DIR


def _refusal(**props: Any) -> str:
    """The ValueError a function with these props raises."""
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match="invalid BedrockStreamingFunction props") as raised:
        BedrockStreamingFunction(stack, "Fn", model_ids=["amazon.nova-lite-v1:0"], **props)
    return str(raised.value)


def test_monitoring_needs_metrics() -> None:
    message = _refusal(metrics=False)
    assert (
        "monitoring needs metrics=True" in message
        and "monitoring=False together with metrics=False" in message
    )
    assert "monitoring needs metrics" in _refusal(metrics=False, monitoring=Monitoring())


def test_every_problem_is_reported_at_once() -> None:
    message = _refusal(
        metrics_namespace="AWS/Lambda",
        tracing="yes",
        monitoring=Monitoring(
            alarm_email="not-an-address",
            alarm_topic=sns.Topic.from_topic_arn(cdk.Stack(), "T", "arn:aws:sns:us-east-1:111122223333:t"),
            dashboard_name="has space",
            error_rate_percent=0,
            bedrock_throttles=0,
            evaluation_periods=289,
        ),
    )
    assert message.splitlines()[1:] == [
        "- tracing must be True or False, not 'yes'",
        "- metrics_namespace 'AWS/Lambda' must not start with 'AWS/' or ':' (reserved by AWS)",
        "- dashboard_name 'has space' must be 1-255 letters, digits, '-' or '_'",
        "- alarm_email 'not-an-address' is not an email address",
        "- alarm_email and alarm_topic exclude each other (the email creates its own topic)",
        "- error_rate_percent 0 must be a percentage above 0 and at most 100 (or None)",
        "- bedrock_throttles 0 must be a whole number of at least 1 (or None)",
        "- evaluation_periods 289 must be a whole number from 1 to 288 "
        "(five-minute periods, one day at most)",
    ]


@pytest.mark.parametrize(
    ("monitoring", "problem"),
    [
        ("yes", "monitoring must be True, False or a Monitoring(...)"),
        (Monitoring(concurrency_percent=100.5), "concurrency_percent 100.5 must be a percentage above 0"),
        (Monitoring(rest_api_5xx_percent=float("nan")), "rest_api_5xx_percent nan must be a percentage"),
        (Monitoring(first_token_p99_ms=2.5), "first_token_p99_ms 2.5 must be a whole number"),
        (Monitoring(lambda_throttles=True), "lambda_throttles True must be a whole number"),
        (Monitoring(evaluation_periods=0), "evaluation_periods 0 must be a whole number from 1 to 288"),
    ],
)
def test_bad_monitoring_settings(monitoring: object, problem: str) -> None:
    [message] = monitoring_problems(monitoring, metrics=True)
    assert message.startswith(problem)


@pytest.mark.parametrize(
    "monitoring",
    [
        True,
        False,
        Monitoring(),
        Monitoring(error_rate_percent=None, bedrock_throttles=None, first_token_p99_ms=None),
        Monitoring(concurrency_percent=100, rest_api_5xx_percent=0.5, evaluation_periods=288),
        Monitoring(alarm_email="ops+alarms@example.co.uk", dashboard_name="a_B-9"),
    ],
)
def test_good_monitoring_settings(monitoring: object) -> None:
    assert monitoring_problems(monitoring, metrics=True) == []
    assert monitoring_problems(False, metrics=False) == []


@pytest.mark.parametrize(
    "namespace", ["BedrockStreaming", "Team/Chat", "a", "x" * 255, "My App.v2_#1:prod", "AWSome", "aws/lower"]
)
def test_namespaces_the_handler_also_accepts(namespace: str) -> None:
    assert namespace_problems(namespace) == []
    config = HandlerConfig.from_env({"AWS_REGION": "us-east-1", "METRICS_NAMESPACE": namespace})
    assert config.metrics_namespace == namespace


@pytest.mark.parametrize(
    "namespace", ["", "x" * 256, "AWS/Lambda", ":colon", "Team\\Chat", "Tab\tbed", "Émoji", " Padded "]
)
def test_namespaces_refused(namespace: str) -> None:
    assert namespace_problems(namespace)
    if namespace.strip() == namespace and namespace:
        # The handler refuses the same (a padded one it would strip, so the prop refuses it instead).
        with pytest.raises(ConfigError, match="METRICS_NAMESPACE"):
            HandlerConfig.from_env({"AWS_REGION": "us-east-1", "METRICS_NAMESPACE": namespace})


def test_default_namespace_is_the_handlers() -> None:
    assert HandlerConfig.from_env({"AWS_REGION": "us-east-1"}).metrics_namespace == DEFAULT_NAMESPACE


def _settings(context: dict[str, Any]) -> StackSettings:
    return StackSettings.from_context(cdk.App(context={"modelIds": ["a.b"], **context}).node)


def test_cdk_json_turns_monitoring_on_without_a_topic_or_tracing() -> None:
    assert {"monitoring", "alarmEmail", "tracing", "metricsNamespace"} <= set(CDK_CONTEXT)
    settings = StackSettings.from_context(cdk.App(context=CDK_CONTEXT).node)
    assert (settings.monitoring, settings.alarm_email, settings.tracing, settings.metrics_namespace) == (
        True,
        None,
        False,
        "BedrockStreaming",
    )


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({}, (True, None, False, "BedrockStreaming")),
        ({"monitoring": "false"}, (False, None, False, "BedrockStreaming")),
        ({"monitoring": " FALSE ", "tracing": "True"}, (False, None, True, "BedrockStreaming")),
        ({"monitoring": False, "tracing": True}, (False, None, True, "BedrockStreaming")),
        ({"monitoring": "", "tracing": ""}, (True, None, False, "BedrockStreaming")),
        ({"alarmEmail": " ops@example.com "}, (True, "ops@example.com", False, "BedrockStreaming")),
        ({"alarmEmail": "", "metricsNamespace": ""}, (True, None, False, "BedrockStreaming")),
        ({"metricsNamespace": "Team/Chat"}, (True, None, False, "Team/Chat")),
    ],
)
def test_monitoring_context(context: dict[str, Any], expected: tuple[Any, ...]) -> None:
    settings = _settings(context)
    assert (
        settings.monitoring,
        settings.alarm_email,
        settings.tracing,
        settings.metrics_namespace,
    ) == expected


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"monitoring": "off"}, "context monitoring must be true or false, got 'off'"),
        ({"monitoring": 0}, "context monitoring must be true or false, got 0"),
        ({"tracing": "active"}, "context tracing must be true or false, got 'active'"),
        ({"alarmEmail": ["a@b.c"]}, "context alarmEmail must be a string"),
        ({"metricsNamespace": 7}, "context metricsNamespace must be a string"),
    ],
)
def test_bad_monitoring_context(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=re.escape(message)):
        _settings(context)


def test_a_bad_alarm_email_in_context_is_the_constructs_error(tmp_path: Path) -> None:
    """The stack passes the address on; the construct's check names it (nothing is created)."""
    from stacks.bedrock_streaming_stack import BedrockStreamingStack

    app = cdk.App(context={**CDK_CONTEXT, "alarmEmail": "ops-at-example.com"}, outdir=str(tmp_path))
    with pytest.raises(
        ValueError, match=re.escape("alarm_email 'ops-at-example.com' is not an email address")
    ):
        BedrockStreamingStack(
            app,
            "S",
            settings=StackSettings.from_context(app.node),
            function_options={"runtime_directory": RUNTIME_DIR},
        )
