"""The monitoring alarms (metric, statistic, threshold, comparison, periods, actions) against the metrics the
handler emits, and the alarm topic: given, or created for an email under a key CloudWatch may use."""

from __future__ import annotations

import re
from typing import Any

from bedrock_handler import metrics as emitted

from tests.infra.conftest import resources_of_type
from tests.infra.monitoring_apps import EMAIL, GIVEN_TOPIC_ARN, MonitoringApp, logical_id

ABOVE, AT_LEAST = "GreaterThanThreshold", "GreaterThanOrEqualToThreshold"
# The outcomes the error rate counts, by their contract names (not the construct's copy of them).
ERROR_OUTCOMES = ("bedrock_error", "mid_stream_failure", "function_error", "deadline_stop")


def _summary(alarm: dict[str, Any]) -> tuple[Any, ...]:
    """A single-metric alarm as (namespace, metric, statistic, threshold, comparison, evaluation periods,
    datapoints to alarm)."""
    assert "Metrics" not in alarm, "a metric-math alarm"
    return (
        alarm["Namespace"],
        alarm["MetricName"],
        alarm.get("Statistic") or alarm.get("ExtendedStatistic"),
        alarm["Threshold"],
        alarm["ComparisonOperator"],
        alarm["EvaluationPeriods"],
        alarm["DatapointsToAlarm"],
    )


def _error_rate(alarm: dict[str, Any]) -> tuple[str, dict[str, tuple[str, str, str]]]:
    """The error-rate alarm's expression and its inputs (id -> namespace, metric, statistic)."""
    [expression] = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    inputs = {
        m["Id"]: (
            m["MetricStat"]["Metric"]["Namespace"],
            m["MetricStat"]["Metric"]["MetricName"],
            m["MetricStat"]["Stat"],
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    return expression, inputs


def test_default_alarms(monitoring_app: MonitoringApp) -> None:
    alarms = monitoring_app.alarms("Defaults")
    assert {name: _summary(alarm)[1:] for name, alarm in alarms.items() if name != "ErrorRate"} == {
        "BedrockThrottles": ("BedrockThrottles", "Sum", 5, AT_LEAST, 1, 1),
        "FirstTokenP99": ("TimeToFirstToken", "p99", 10000, ABOVE, 3, 3),
        "LambdaThrottles": ("Throttles", "Sum", 1, AT_LEAST, 1, 1),
        # 80 % of the default reservation of 10.
        "ConcurrencySaturation": ("ConcurrentExecutions", "Maximum", 8, AT_LEAST, 3, 3),
    }
    error_rate = alarms["ErrorRate"]
    assert (error_rate["Threshold"], error_rate["ComparisonOperator"]) == (5, ABOVE)
    assert (error_rate["EvaluationPeriods"], error_rate["DatapointsToAlarm"]) == (3, 3)
    for alarm in alarms.values():
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in alarm and "OKActions" not in alarm  # no topic by default
        assert len(alarm["AlarmDescription"]) > 30
        assert alarm.get("Period", 300) == 300
        assert all(m["MetricStat"]["Period"] == 300 for m in alarm.get("Metrics", []) if "MetricStat" in m)


def test_alarms_on_own_metrics_read_emitted_metrics_over_the_whole_function(
    monitoring_app: MonitoringApp,
) -> None:
    for stack in ("Defaults", "Custom", "GivenTopic"):
        ref = {"Ref": logical_id(monitoring_app.functions[stack].function)}
        for name, alarm in monitoring_app.alarms(stack).items():
            stats = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m] or [
                alarm
            ]
            for metric in stats:
                if metric["Namespace"].startswith("AWS/"):
                    continue
                assert metric["MetricName"] in emitted.METRIC_UNITS, (stack, name)
                assert metric["Dimensions"] == [{"Name": emitted.DIMENSION_NAMES[0], "Value": ref}], (
                    stack,
                    name,
                )


def test_the_error_rate_is_the_service_failures_over_requests(monitoring_app: MonitoringApp) -> None:
    expression, inputs = _error_rate(monitoring_app.alarms("Defaults")["ErrorRate"])
    errors = [emitted.OUTCOME_METRICS[outcome] for outcome in ERROR_OUTCOMES]
    ids = {metric: metric_id for metric_id, (_, metric, _) in inputs.items()}
    assert set(ids) == {"Requests", *errors}
    assert {stat for _, _, stat in inputs.values()} == {"Sum"}
    assert {namespace for namespace, _, _ in inputs.values()} == {emitted.DEFAULT_NAMESPACE}
    # A period without an error outcome has no data point for it (FILL 0); without requests, no rate.
    filled = " + ".join(f"FILL({ids[metric]}, 0)" for metric in sorted(errors, key=list(ids).index))
    assert expression == f"100 * ({filled}) / {ids['Requests']}"
    assert "FILL(" + ids["Requests"] not in expression


def test_custom_thresholds_namespace_and_no_reservation(monitoring_app: MonitoringApp) -> None:
    alarms = monitoring_app.alarms("Custom")
    # lambda_throttles=None leaves that alarm out; no reservation, no saturation alarm.
    assert set(alarms) == {"ErrorRate", "BedrockThrottles", "FirstTokenP99", "DoorServerErrorRate"}
    assert _summary(alarms["BedrockThrottles"]) == (
        "Team/Chat",
        "BedrockThrottles",
        "Sum",
        10,
        AT_LEAST,
        1,
        1,
    )
    assert _summary(alarms["FirstTokenP99"]) == ("Team/Chat", "TimeToFirstToken", "p99", 5000, ABOVE, 2, 2)
    assert (alarms["ErrorRate"]["Threshold"], alarms["ErrorRate"]["EvaluationPeriods"]) == (2, 2)
    assert {ns for ns, _, _ in _error_rate(alarms["ErrorRate"])[1].values()} == {"Team/Chat"}


def test_rest_api_5xx_rate_alarm_only_when_attached(monitoring_app: MonitoringApp) -> None:
    assert not [name for name in monitoring_app.alarms("Defaults") if "ServerError" in name]
    alarm = monitoring_app.alarms("Custom")["DoorServerErrorRate"]
    expression, inputs = _error_rate(alarm)
    assert expression == "100 * serverErrors"
    assert inputs == {"serverErrors": ("AWS/ApiGateway", "5XXError", "Average")}
    [stat] = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    [stage] = resources_of_type(monitoring_app.template("Custom"), "AWS::ApiGateway::Stage")
    assert stat["Dimensions"] == [
        {"Name": "ApiName", "Value": "Custom-Door"},
        {"Name": "Stage", "Value": {"Ref": stage}},
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"], alarm["EvaluationPeriods"]) == (1, ABOVE, 2)
    assert "DeployableServer" not in "".join(monitoring_app.alarms("DeployableOff"))
    assert "RestApiServerErrorRate" in monitoring_app.alarms("Deployable")


def test_saturation_threshold_rounds_up(monitoring_app: MonitoringApp) -> None:
    # 50 % of 3 is 1.5: the alarm fires at 2 concurrent streams.
    assert _summary(monitoring_app.alarms("GivenTopic")["ConcurrencySaturation"])[3] == 2


def test_every_alarm_notifies_the_given_topic(monitoring_app: MonitoringApp) -> None:
    alarms = monitoring_app.alarms("GivenTopic")
    assert alarms and {name: (a["AlarmActions"], a["OKActions"]) for name, a in alarms.items()} == {
        name: ([GIVEN_TOPIC_ARN], [GIVEN_TOPIC_ARN]) for name in alarms
    }
    types = {r["Type"] for r in monitoring_app.template("GivenTopic")["Resources"].values()}
    assert not {"AWS::SNS::Topic", "AWS::KMS::Key"} & types
    assert monitoring_app.functions["GivenTopic"].alarm_topic is not None


def test_a_created_topic_is_encrypted_tls_only_and_mails_the_address(monitoring_app: MonitoringApp) -> None:
    template = monitoring_app.template("Custom")
    [topic_id] = resources_of_type(template, "AWS::SNS::Topic")
    [key_id] = resources_of_type(template, "AWS::KMS::Key")
    key = template["Resources"][key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    topic = template["Resources"][topic_id]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    cloudwatch = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert [(s["Effect"], sorted(s["Action"]), s["Resource"]) for s in cloudwatch] == [
        ("Allow", ["kms:Decrypt", "kms:GenerateDataKey*"], "*")
    ]
    [policy] = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in deny] == [{"Bool": {"aws:SecureTransport": "false"}}]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert (allow["Principal"], allow["Action"]) == ({"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    assert set(allow["Condition"]) == {"StringEquals", "ArnLike"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    [subscription] = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email",
        EMAIL,
    )
    alarms = monitoring_app.alarms("Custom")
    assert {name: (a["AlarmActions"], a["OKActions"]) for name, a in alarms.items()} == {
        name: ([{"Ref": topic_id}], [{"Ref": topic_id}]) for name in alarms
    }


def test_tracing_turns_on_active_tracing_and_its_acknowledged_statement(
    monitoring_app: MonitoringApp,
) -> None:
    def tracing(stack: str) -> Any:
        function = monitoring_app.functions[stack].function
        return monitoring_app.template(stack)["Resources"][logical_id(function)]["Properties"].get(
            "TracingConfig"
        )

    assert (tracing("Custom"), tracing("Deployable"), tracing("Defaults")) == (
        {"Mode": "Active"},
        {"Mode": "Active"},
        None,
    )
    role = monitoring_app.functions["Custom"].role
    policy = monitoring_app.template("Custom")["Resources"][logical_id(role.node.find_child("DefaultPolicy"))]
    xray = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if "xray:PutTraceSegments" in s["Action"]
    ]
    assert [(sorted(s["Action"]), s["Resource"]) for s in xray] == [
        (["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*")
    ]
    acknowledged = policy["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [a["id"] for a in acknowledged] == ["AwsSolutions-IAM5[Resource::*]"]
    assert "X-Ray" in acknowledged[0]["reason"]


def test_the_stack_outputs_the_dashboard_and_the_topic(monitoring_app: MonitoringApp) -> None:
    outputs = monitoring_app.template("Deployable")["Outputs"]
    dashboard = logical_id(monitoring_app.functions["Deployable"].dashboard)
    assert outputs["DashboardName"]["Value"] == {"Ref": dashboard}
    assert outputs["DashboardUrl"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "https://console.aws.amazon.com/cloudwatch/home?region=",
                {"Ref": "AWS::Region"},
                "#dashboards:name=",
                {"Ref": dashboard},
            ],
        ]
    }
    [topic] = resources_of_type(monitoring_app.template("Deployable"), "AWS::SNS::Topic")
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": topic}
    # The stack's tracing context also traces the REST API door's stage.
    [stage] = resources_of_type(monitoring_app.template("Deployable"), "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["TracingEnabled"] is True
    off = monitoring_app.template("DeployableOff")["Outputs"]
    assert not {"DashboardName", "DashboardUrl", "AlarmTopicArn"} & set(off)


def test_alarm_descriptions_name_their_thresholds(monitoring_app: MonitoringApp) -> None:
    descriptions = {name: a["AlarmDescription"] for name, a in monitoring_app.alarms("Custom").items()}
    assert re.search(r"\b2 %", descriptions["ErrorRate"]) and "5000 ms" in descriptions["FirstTokenP99"]
    assert descriptions["DoorServerErrorRate"].startswith("Door: ")
