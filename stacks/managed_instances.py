"""The optional Lambda Managed Instances setting of BedrockStreamingFunction, and its synth-time checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

# Ranges from the CloudFormation schema of AWS::Lambda::Function (MemorySize, PerExecutionEnvironment-
# MaxConcurrency, ExecutionEnvironmentMemoryGiBPerVCpu) and the CDK's CapacityProvider checks (MaxVCpuCount);
# the 2048 MB floor is from AWS's LMI best-practices page ("minimum supported function size is 2GB").
MIN_MEMORY_MB, MAX_MEMORY_MB = 2048, 32768
MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY = 1, 1600
MIN_MEMORY_GIB_PER_VCPU, MAX_MEMORY_GIB_PER_VCPU = 2.0, 8.0
MIN_VCPU_COUNT, MAX_VCPU_COUNT = 12, 15000
# Lambda keeps at least three execution environments of a published version (one per AZ) unless told
# otherwise, so a lower maximum could never be met.
MIN_EXECUTION_ENVIRONMENTS, MAX_EXECUTION_ENVIRONMENTS = 3, 15000
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5

# AWS's Python runtime default (16 concurrent requests per vCPU): at 2 GiB per vCPU and the 2048 MB
# minimum that is one vCPU, so 16 forked workers of ~40-60 MiB each in a 2 GiB environment.
DEFAULT_MAX_CONCURRENCY = 16
DEFAULT_MEMORY_GIB_PER_VCPU = 2.0


@dataclass(frozen=True, kw_only=True)
class ManagedInstances:
    """Run the function on Lambda Managed Instances: EC2 instances in your VPC that Lambda manages, each
    execution environment serving several streams at once.

    Either name an existing capacity provider, or give the network to create one in (``subnets`` plus
    ``security_groups``, or a ``vpc`` whose private subnets with egress are used and in which an
    HTTPS-egress-only security group is created).

    :param capacity_provider: an existing provider (``CapacityProvider`` of this app, or imported with
        ``CapacityProvider.from_capacity_provider_arn``). Default: None (create one).
    :param vpc: the VPC of a created provider; its ``PRIVATE_WITH_EGRESS`` subnets are used unless
        ``subnets`` is given, and a security group is created in it unless ``security_groups`` is given.
        Default: None.
    :param subnets: the subnets a created provider launches instances into (1-16; they need a route to
        Bedrock, e.g. a NAT gateway). Default: none (the VPC's private subnets with egress).
    :param security_groups: the security groups of a created provider's instances (1-5). Default: none
        (one created in ``vpc``, HTTPS out only).
    :param max_vcpu_count: the most vCPUs a created provider may run, the cost ceiling (12-15000).
        Default: None (the service default, 400).
    :param max_concurrency: concurrent invocations per execution environment (1-1600); Lambda passes it
        to the runtime as ``AWS_LAMBDA_MAX_CONCURRENCY``, which forks that many workers. Default: 16.
    :param memory_gib_per_vcpu: memory per vCPU of an execution environment, in GiB (2.0-8.0; AWS
        documents 2, 4 and 8); the vCPUs of an environment are ``memory_size`` divided by it. Default: 2.0.
    :param max_execution_environments: the most execution environments of the function's published
        version, its concurrency cap together with ``max_concurrency`` (3-15000). Default: None (no cap
        but the provider's).
    """

    capacity_provider: lambda_.ICapacityProvider | None = None
    vpc: ec2.IVpc | None = None
    subnets: Sequence[ec2.ISubnet] = ()
    security_groups: Sequence[ec2.ISecurityGroup] = ()
    max_vcpu_count: int | None = None
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    memory_gib_per_vcpu: float = DEFAULT_MEMORY_GIB_PER_VCPU
    max_execution_environments: int | None = None

    def provider_subnets(self) -> list[ec2.ISubnet]:
        """The subnets a created provider launches into: ``subnets``, else the VPC's private subnets with
        egress (raises the CDK's error when the VPC has none)."""
        if self.subnets or self.vpc is None:
            return list(self.subnets)
        return list(self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnets)


@dataclass(frozen=True, kw_only=True)
class FunctionShape:
    """The function props that Lambda Managed Instances constrain."""

    memory_size: int
    architecture: lambda_.Architecture
    reserved_concurrent_executions: int | None
    provisioned_concurrency: int | None


def managed_instances_problems(settings: ManagedInstances, *, function: FunctionShape) -> list[str]:
    """Every problem with the setting and with the function props it constrains; tokens are not judged."""
    if not isinstance(settings, ManagedInstances):
        return ["managed_instances must be a ManagedInstances"]
    return [
        *_provider_problems(settings, architecture=function.architecture),
        *_range_problems(settings),
        *_function_problems(settings, function),
    ]


def _literal(value: object) -> bool:
    return value is not None and not cdk.Token.is_unresolved(value)


def _outside(value: float | None, low: float, high: float) -> bool:
    return value is not None and _literal(value) and not low <= value <= high


def _provider_problems(settings: ManagedInstances, *, architecture: lambda_.Architecture) -> list[str]:
    if settings.capacity_provider is not None:
        given = [
            name
            for name, value in (
                ("vpc", settings.vpc),
                ("subnets", settings.subnets),
                ("security_groups", settings.security_groups),
                ("max_vcpu_count", settings.max_vcpu_count),
            )
            if value
        ]
        problems = _architecture_problems(settings.capacity_provider, architecture)
        if given:
            problems.insert(
                0,
                f"managed_instances: with capacity_provider, {', '.join(given)} would be ignored "
                "(they describe a provider to create)",
            )
        return problems
    if settings.vpc is None and not settings.subnets:
        return ["managed_instances needs capacity_provider, or vpc or subnets to create one in"]
    problems = []
    if not settings.security_groups and settings.vpc is None:
        problems.append("managed_instances: subnets need security_groups (or a vpc to create one in)")
    if len(settings.security_groups) > MAX_SECURITY_GROUPS:
        problems.append(f"managed_instances: at most {MAX_SECURITY_GROUPS} security_groups")
    try:
        subnets = settings.provider_subnets()
    except RuntimeError:  # jsii relays the CDK's "no such subnet group" error as a RuntimeError
        return [*problems, "managed_instances: the vpc has no private subnets with egress; pass subnets"]
    if not 1 <= len(subnets) <= MAX_SUBNETS:
        problems.append(f"managed_instances: {len(subnets)} subnets, but a provider takes 1-{MAX_SUBNETS}")
    return problems


def _architecture_problems(
    provider: lambda_.ICapacityProvider, architecture: lambda_.Architecture
) -> list[str]:
    """A provider of this app names its architectures on its L1; an imported one cannot be checked."""
    resource = provider.node.default_child
    if not isinstance(resource, lambda_.CfnCapacityProvider):
        return []
    requirements = resource.instance_requirements
    names = getattr(requirements, "architectures", None) or []
    if not names or cdk.Token.is_unresolved(names) or architecture.name in names:
        return []
    return [
        f"managed_instances: the capacity provider runs {', '.join(names)} instances, "
        f"but the function (and its image) is {architecture.name}"
    ]


def _range_problems(settings: ManagedInstances) -> list[str]:
    ratio = settings.memory_gib_per_vcpu
    checks = (
        ("max_concurrency", settings.max_concurrency, MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY),
        ("memory_gib_per_vcpu", ratio, MIN_MEMORY_GIB_PER_VCPU, MAX_MEMORY_GIB_PER_VCPU),
        ("max_vcpu_count", settings.max_vcpu_count, MIN_VCPU_COUNT, MAX_VCPU_COUNT),
        (
            "max_execution_environments",
            settings.max_execution_environments,
            MIN_EXECUTION_ENVIRONMENTS,
            MAX_EXECUTION_ENVIRONMENTS,
        ),
    )
    return [
        f"managed_instances: {name} {value} is outside {low:g}-{high:g}"
        for name, value, low, high in checks
        if _outside(value, low, high)
    ]


def _function_problems(settings: ManagedInstances, function: FunctionShape) -> list[str]:
    problems = []
    memory, ratio = function.memory_size, settings.memory_gib_per_vcpu
    if _outside(memory, MIN_MEMORY_MB, MAX_MEMORY_MB):
        problems.append(
            f"memory_size {memory} MB is outside {MIN_MEMORY_MB}-{MAX_MEMORY_MB} MB, "
            "the range of a Lambda Managed Instances function"
        )
    elif _literal(memory) and _literal(ratio) and memory < ratio * 1024:
        # AWS's smallest Managed Instances function is 2 GB and 1 vCPU.
        problems.append(
            f"memory_size {memory} MB is less than one vCPU at memory_gib_per_vcpu {ratio:g} "
            f"({ratio * 1024:g} MB)"
        )
    if function.reserved_concurrent_executions is not None:
        problems.append(
            "reserved_concurrent_executions must be None with managed_instances: the caps there are "
            "max_execution_environments times max_concurrency, and the provider's max_vcpu_count"
        )
    if function.provisioned_concurrency is not None:
        problems.append(
            "provisioned_concurrency must be None with managed_instances: Lambda keeps the published "
            "version's execution environments (at least 3) running instead"
        )
    return problems
