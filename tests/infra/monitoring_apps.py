"""One app (one synth, cdk-nag on) holding the monitoring variants the test_monitoring* modules read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_rest_api import BedrockStreamingRestApi
from stacks.bedrock_streaming_stack import BedrockStreamingStack, StackSettings
from stacks.monitoring_props import Monitoring
from stacks.rest_api_auth import RestApiAuth
from stacks.rest_api_settings import RestApiSettings
from tests.infra.conftest import CDK_CONTEXT

PROFILE, NOVA, COHERE = (
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "amazon.nova-lite-v1:0",
    "cohere.embed-v4:0",
)
GIVEN_TOPIC_ARN = "arn:aws:sns:us-east-1:111122223333:ops-alarms"
EMAIL = "ops@example.com"
CUSTOM = Monitoring(
    alarm_email=EMAIL,
    dashboard_name="chat-ops",
    error_rate_percent=2,
    bedrock_throttles=10,
    first_token_p99_ms=5000,
    lambda_throttles=None,
    rest_api_5xx_percent=1,
    evaluation_periods=2,
)


@dataclass(frozen=True)
class MonitoringApp:
    """The synthesized variants: ``functions`` and ``templates`` by stack name, the stacks themselves."""

    outdir: Path
    functions: dict[str, BedrockStreamingFunction]
    stacks: dict[str, cdk.Stack]

    def template(self, stack_name: str) -> dict[str, Any]:
        template: dict[str, Any] = json.loads((self.outdir / f"{stack_name}.template.json").read_text())
        return template

    def template_path(self, stack_name: str) -> Path:
        return self.outdir / f"{stack_name}.template.json"

    def alarms(self, stack_name: str) -> dict[str, dict[str, Any]]:
        """Each alarm's template properties by its name in the function's ``alarms``."""
        resources = self.template(stack_name)["Resources"]
        return {
            name: resources[logical_id(alarm)]["Properties"]
            for name, alarm in self.functions[stack_name].alarms.items()
        }


def build_monitoring_app(build_context: Path, outdir: Path) -> MonitoringApp:
    """Defaults (two chat models, reserved 10); Custom (namespace Team/Chat, an embedding model, no
    reservation, tracing, email topic, other thresholds, a REST API); GivenTopic (an imported topic,
    reserved 3 at 50 %); Off (no metrics, no monitoring); Deployable and DeployableOff (the stack from
    settings, with email, tracing and an IAM door, and with monitoring off)."""
    app = cdk.App(context=CDK_CONTEXT, outdir=str(outdir))
    functions: dict[str, BedrockStreamingFunction] = {}
    stacks: dict[str, cdk.Stack] = {}

    def function(stack_name: str, **props: Any) -> BedrockStreamingFunction:
        stacks[stack_name] = cdk.Stack(app, stack_name)
        functions[stack_name] = BedrockStreamingFunction(
            stacks[stack_name], "Fn", runtime_directory=build_context, **props
        )
        return functions[stack_name]

    function("Defaults", model_ids=[PROFILE, NOVA])
    custom = function(
        "Custom",
        model_ids=[NOVA],
        embedding_model_ids=[COHERE],
        metrics_namespace="Team/Chat",
        reserved_concurrent_executions=None,
        tracing=True,
        monitoring=CUSTOM,
    )
    BedrockStreamingRestApi(stacks["Custom"], "Door", function=custom, auth=RestApiAuth.iam())
    given = stacks["GivenTopic"] = cdk.Stack(app, "GivenTopic")
    functions["GivenTopic"] = BedrockStreamingFunction(
        given,
        "Fn",
        runtime_directory=build_context,
        model_ids=[NOVA],
        reserved_concurrent_executions=3,
        monitoring=Monitoring(
            alarm_topic=sns.Topic.from_topic_arn(given, "Ops", GIVEN_TOPIC_ARN), concurrency_percent=50
        ),
    )
    function("Off", model_ids=[NOVA], metrics=False, monitoring=False)
    for name, settings in {
        "Deployable": StackSettings(
            model_ids=(NOVA,),
            alarm_email=EMAIL,
            tracing=True,
            metrics_namespace="Team/Chat",
            rest_api=RestApiSettings(door="iam"),
        ),
        "DeployableOff": StackSettings(model_ids=(NOVA,), monitoring=False),
    }.items():
        stack = BedrockStreamingStack(
            app, name, settings=settings, function_options={"runtime_directory": build_context}
        )
        stacks[name], functions[name] = stack, stack.streaming
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    app.synth()
    return MonitoringApp(outdir=outdir, functions=functions, stacks=stacks)


def _token(part: Any) -> str:
    """A CloudFormation intrinsic inside a JSON string, as text that keeps the string valid JSON."""
    if set(part) == {"Ref"}:
        return f"{{Ref:{part['Ref']}}}"
    if set(part) == {"Fn::GetAtt"}:
        return f"{{GetAtt:{'.'.join(part['Fn::GetAtt'])}}}"
    raise AssertionError(f"unexpected intrinsic in a dashboard body: {part}")


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The one dashboard's body as JSON, each Ref/GetAtt rendered ``{Ref:Id}`` / ``{GetAtt:Id.Attr}``."""
    [dashboard] = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = dashboard["Properties"]["DashboardBody"]
    separator, parts = body["Fn::Join"]
    text = separator.join(part if isinstance(part, str) else _token(part) for part in parts)
    rendered: dict[str, Any] = json.loads(text)
    return rendered


@dataclass(frozen=True)
class WidgetMetric:
    """One metric line of a graph widget."""

    widget: str
    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str
    label: str | None


def widget_metrics(body: dict[str, Any]) -> list[WidgetMetric]:
    """Every metric of every graph widget (``[namespace, name, dim, value, ..., {options}]``)."""
    found = []
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for line in widget["properties"]["metrics"]:
            *fields, options = line
            namespace, name, *pairs = fields
            found.append(
                WidgetMetric(
                    widget=widget["properties"]["title"],
                    namespace=namespace,
                    name=name,
                    dimensions=dict(zip(pairs[::2], pairs[1::2], strict=True)),
                    stat=options["stat"],
                    label=options.get("label"),
                )
            )
    return found


def logical_id(construct: Any) -> str:
    """The logical id of an L2 construct's resource in its stack's template."""
    stack = cdk.Stack.of(construct)
    resolved: str = stack.resolve(stack.get_logical_id(construct.node.default_child))
    return resolved
