"""The stack outputs of the function's monitoring: the dashboard's name and console URL, the alarm topic."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from .monitoring import BedrockStreamingMonitoring


def add_monitoring_outputs(scope: Construct, monitoring: BedrockStreamingMonitoring) -> None:
    """``DashboardName``, ``DashboardUrl`` and, when the alarms notify a topic, ``AlarmTopicArn``."""
    name = monitoring.dashboard.dashboard_name
    cdk.CfnOutput(scope, "DashboardName", value=name, description="The CloudWatch dashboard")
    cdk.CfnOutput(
        scope,
        "DashboardUrl",
        value=f"https://console.aws.amazon.com/cloudwatch/home?region={cdk.Stack.of(scope).region}"
        f"#dashboards:name={name}",
        description="The dashboard in the CloudWatch console",
    )
    if monitoring.alarm_topic is not None:
        cdk.CfnOutput(
            scope,
            "AlarmTopicArn",
            value=monitoring.alarm_topic.topic_arn,
            description="The SNS topic the alarms notify (an email subscription must be confirmed first)",
        )
