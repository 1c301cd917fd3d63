"""The alarm topic the monitoring creates for an email address: SNS under its own KMS key, TLS only."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

_CLOUDWATCH = iam.ServicePrincipal("cloudwatch.amazonaws.com")


def create_alarm_topic(scope: Construct, *, email: str) -> sns.Topic:
    """A topic CloudWatch alarms may publish to, with ``email`` subscribed.

    The key is customer-managed because an alarm cannot publish to a topic encrypted with the AWS-managed
    ``alias/aws/sns`` key: that key's policy cannot be changed to let CloudWatch use it."""
    key = kms.Key(
        scope,
        "AlarmTopicKey",
        description="Encrypts the Bedrock streaming function's alarm topic",
        enable_key_rotation=True,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToUseTheKey",
            principals=[_CLOUDWATCH],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy "*" is this key
        )
    )
    topic = sns.Topic(
        scope,
        "AlarmTopic",
        display_name="Bedrock streaming alarms",
        master_key=key,
        enforce_ssl=True,
    )
    stack = cdk.Stack.of(scope)
    alarms = f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
    # The topic policy that enforce_ssl creates replaces SNS's default one, so CloudWatch is allowed here,
    # for this account's alarms only.
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowThisAccountsAlarmsToPublish",
            principals=[_CLOUDWATCH],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        )
    )
    topic.add_subscription(subscriptions.EmailSubscription(email))
    return topic
