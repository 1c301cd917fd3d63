"""Create or reuse the capacity provider a BedrockStreamingFunction runs on, and attach the function to it."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .managed_instances import ManagedInstances

# AWS documents this policy as the minimum an operator role needs, and keeps it current (it gained
# ec2:DescribeVpcEncryptionControls in April 2026); a hand-written copy would fall behind the service.
OPERATOR_POLICY = "AWSLambdaManagedEC2ResourceOperator"
HTTPS = 443


def attach_to_managed_instances(
    scope: Construct,
    *,
    function: lambda_.Function,
    settings: ManagedInstances,
    architecture: lambda_.Architecture,
) -> lambda_.ICapacityProvider:
    """Run ``function`` on the provider ``settings`` name or describe (created under ``scope``), with
    the per-environment concurrency and memory, published to ``$LATEST.PUBLISHED``; returns the provider."""
    provider = settings.capacity_provider or _create_provider(scope, settings, architecture)
    scaling = (
        lambda_.LatestPublishedScalingConfig(max_execution_environments=settings.max_execution_environments)
        if settings.max_execution_environments is not None
        else None
    )
    if isinstance(provider, lambda_.CapacityProvider):
        provider.add_function(
            function,
            per_execution_environment_max_concurrency=settings.max_concurrency,
            execution_environment_memory_gib_per_v_cpu=settings.memory_gib_per_vcpu,
            publish_to_latest_published=True,
            latest_published_scaling_config=scaling,
        )
    else:
        # An imported provider has no add_function: write the same three properties it would.
        resource = cast(lambda_.CfnFunction, function.node.default_child)
        resource.capacity_provider_config = lambda_.CfnFunction.CapacityProviderConfigProperty(
            lambda_managed_instances_capacity_provider_config=(
                lambda_.CfnFunction.LambdaManagedInstancesCapacityProviderConfigProperty(
                    capacity_provider_arn=provider.capacity_provider_arn,
                    per_execution_environment_max_concurrency=settings.max_concurrency,
                    execution_environment_memory_gib_per_v_cpu=settings.memory_gib_per_vcpu,
                )
            )
        )
        resource.publish_to_latest_published = True
        if scaling is not None:
            resource.function_scaling_config = lambda_.CfnFunction.FunctionScalingConfigProperty(
                max_execution_environments=scaling.max_execution_environments
            )
    return provider


def _create_provider(
    scope: Construct, settings: ManagedInstances, architecture: lambda_.Architecture
) -> lambda_.CapacityProvider:
    return lambda_.CapacityProvider(
        scope,
        "CapacityProvider",
        subnets=settings.provider_subnets(),
        security_groups=list(settings.security_groups) or [_https_only_security_group(scope, settings)],
        architectures=[architecture],
        operator_role=_operator_role(scope),
        max_v_cpu_count=settings.max_vcpu_count,
    )


def _https_only_security_group(scope: Construct, settings: ManagedInstances) -> ec2.SecurityGroup:
    # Everything the instances reach (Bedrock, ECR, CloudWatch Logs, the Lambda service) is HTTPS; DNS,
    # NTP and instance metadata use link-local addresses that security groups do not filter.
    group = ec2.SecurityGroup(
        scope,
        "CapacityProviderSecurityGroup",
        vpc=cast(ec2.IVpc, settings.vpc),
        allow_all_outbound=False,
        description="Lambda Managed Instances of the Bedrock streaming function: HTTPS out, nothing in",
    )
    group.add_egress_rule(
        ec2.Peer.any_ipv4(), ec2.Port.tcp(HTTPS), "HTTPS to Bedrock, ECR, CloudWatch Logs and Lambda"
    )
    return group


def _operator_role(scope: Construct) -> iam.Role:
    """The role Lambda assumes to run the provider's instances, trusted only from this account."""
    account = cdk.Stack.of(scope).account
    role = iam.Role(
        scope,
        "CapacityProviderOperatorRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com").with_conditions(
            {"StringEquals": {"aws:SourceAccount": account}}
        ),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(OPERATOR_POLICY)],
        description="Lets Lambda launch and manage the Managed Instances of the Bedrock streaming function",
    )
    cdk.Validations.of(role).acknowledge(
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{OPERATOR_POLICY}]",
            reason=(
                "AWS documents AWSLambdaManagedEC2ResourceOperator as the minimum permissions of a "
                "capacity provider's operator role: EC2 launch, tag and attach actions conditioned on "
                "ec2:ManagedResourceOperator = scaler.lambda.amazonaws.com, Amazon-owned images only, "
                "and read-only Describe calls. AWS updates it as the service changes; a copy would not."
            ),
        )
    )
    return role
