"""The monitoring of a BedrockStreamingFunction: a CloudWatch dashboard, alarms with an optional SNS topic,
and a saved Logs Insights query over the function's metrics documents."""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from .monitoring_alarms import function_alarms, rest_api_alarms
from .monitoring_dashboard import function_rows, rest_api_row
from .monitoring_metrics import FunctionMetrics
from .monitoring_props import ALARM_PERIOD, Monitoring
from .monitoring_topic import create_alarm_topic

# Logs Insights over the EMF documents (one per invocation; fields as bedrock_handler.metrics writes them).
TOKENS_QUERY = logs.QueryString(
    filter_statements=["ispresent(Requests)"],
    stats_statements=[
        "sum(InputTokens) as inputTokens, sum(OutputTokens) as outputTokens, count(*) as requests "
        "by bin(1d) as day, Principal, Caller, ModelId"
    ],
    sort="day desc",
)
TOKENS_QUERY_SUFFIX = " tokens by caller and model per day"
_NOT_IN_DASHBOARD_NAME = re.compile(r"[^A-Za-z0-9_-]")


class BedrockStreamingMonitoring(Construct):
    """A dashboard, alarms (notifying ``alarm_topic`` when there is one) and a saved query for one function.

    Created by ``BedrockStreamingFunction(monitoring=...)``; a ``BedrockStreamingRestApi`` on that function
    adds its stage with ``add_rest_api``.

    :param scope: the parent construct (the BedrockStreamingFunction).
    :param construct_id: the construct id.
    :param function: the Lambda function.
    :param log_group: the function's log group (where its metrics documents are).
    :param model_ids: the configured chat models: one token series per model and API.
    :param embedding_model_ids: the configured embedding models: one input token series each.
    :param namespace: the namespace the function writes its metrics to.
    :param reserved_concurrency: the function's reserved concurrency (None: no saturation alarm).
    :param settings: thresholds, names and the alarm topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        log_group: logs.ILogGroup,
        model_ids: Sequence[str],
        embedding_model_ids: Sequence[str],
        namespace: str,
        reserved_concurrency: int | None,
        settings: Monitoring,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        """The thresholds and names the monitoring was built with."""
        self.metrics = FunctionMetrics(
            namespace=namespace, function_name=function.function_name, period=ALARM_PERIOD
        )
        """Builds the function's metrics (its namespace, its ``FunctionName``)."""
        self.alarm_topic: sns.ITopic | None = settings.alarm_topic
        """The topic every alarm notifies (given, or created for ``alarm_email``); None without one."""
        if settings.alarm_email is not None:
            self.alarm_topic = create_alarm_topic(self, email=settings.alarm_email)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        """Every alarm by name (``ErrorRate``, ``BedrockThrottles``, ... and ``<api>ServerErrorRate``)."""
        self._add_alarms(
            function_alarms(
                self, metrics=self.metrics, settings=settings, reserved_concurrency=reserved_concurrency
            )
        )
        parts = _name_parts(scope)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=settings.dashboard_name or _dashboard_name(parts),
            widgets=function_rows(
                self.metrics,
                model_ids=model_ids,
                embedding_model_ids=embedding_model_ids,
                reserved_concurrency=reserved_concurrency,
                alarms=list(self.alarms.values()),
            ),
        )
        """The CloudWatch dashboard."""
        self.query_definition = logs.QueryDefinition(
            self,
            "TokensQuery",
            query_definition_name=_query_name(parts),
            query_string=TOKENS_QUERY,
            log_groups=[log_group],
        )
        """The saved Logs Insights query: tokens and requests per day, principal, caller and model."""
        self._rest_api_names: set[str] = set()

    def add_rest_api(self, api: apigw.RestApi, *, name: str | None = None) -> None:
        """A dashboard row for ``api``'s deployment stage (4xx, 5xx, latency, integration latency) and its
        5xx-rate alarm ``<name>ServerErrorRate``. ``name`` defaults to the API's construct id."""
        label = name or api.node.id
        if label in self._rest_api_names:
            raise ValueError(f"the REST API {label!r} is already monitored; pass another name")
        self._rest_api_names.add(label)
        stage = api.deployment_stage
        alarms = rest_api_alarms(self, label, stage=stage, settings=self.settings)
        self._add_alarms(alarms)
        self.dashboard.add_widgets(*rest_api_row(label, stage=stage, alarms=list(alarms.values())))

    def _add_alarms(self, alarms: dict[str, cloudwatch.Alarm]) -> None:
        for alarm in alarms.values():
            if self.alarm_topic is not None:
                action = cloudwatch_actions.SnsAction(self.alarm_topic)
                alarm.add_alarm_action(action)
                alarm.add_ok_action(action)
        self.alarms.update(alarms)


def _name_parts(scope: Construct) -> list[str]:
    """The stack's name, then the construct ids from the stack down to ``scope``."""
    stack = cdk.Stack.of(scope)
    below_stack = scope.node.scopes[scope.node.scopes.index(stack) + 1 :]
    return [stack.stack_name, *(construct.node.id for construct in below_stack)]


def _query_name(parts: list[str]) -> str:
    """``<stack>/<path> tokens by caller and model per day`` (the console shows ``<stack>`` as a folder),
    its path shortened from the left to the 255 characters a name may have."""
    name = "/".join(parts) + TOKENS_QUERY_SUFFIX
    return name[-255:] if not cdk.Token.is_unresolved(name) else name


def _dashboard_name(parts: list[str]) -> str | None:
    """``<stack>-<path>`` in the characters a dashboard name allows; None (CloudFormation picks one) when
    the stack's name is a token."""
    if cdk.Token.is_unresolved(parts[0]):
        return None
    return _NOT_IN_DASHBOARD_NAME.sub("-", "-".join(parts))[:255]
