"""The checkov findings the construct skips on purpose, each with the reason written into the template."""

from __future__ import annotations

from typing import cast

import aws_cdk as cdk
from constructs import IConstruct

_ALWAYS_ON_FUNCTION = {
    "CKV_AWS_116": "Invoked synchronously through its Function URL only; a DLQ applies to asynchronous "
    "invocations and would never receive anything.",
    "CKV_AWS_117": "Function URLs cannot stream responses from a VPC-attached function, and the function "
    "reaches only Bedrock's public endpoint; there are no private resources to reach.",
    "CKV_AWS_173": "The environment holds only model ids and limits, no secrets; Lambda already encrypts "
    "it at rest with an AWS-managed key.",
}
_NO_RESERVED_CONCURRENCY = (
    "reserved_concurrent_executions=None was passed deliberately: the function shares the account's "
    "unreserved concurrency pool."
)
_PUBLIC_URL = (
    "auth_type=NONE was passed deliberately to make the URL public (e.g. for a browser chat page); "
    "the construct's default is AWS_IAM."
)
# On Lambda Managed Instances the placement and the caps live on the capacity provider, not the function.
_MANAGED_INSTANCES_VPC = (
    "Runs on Lambda Managed Instances: the instances are in the capacity provider's subnets and security "
    "groups (AWS::Lambda::CapacityProvider VpcConfig), which this check does not read."
)
_MANAGED_INSTANCES_CONCURRENCY = (
    "Runs on Lambda Managed Instances: concurrency is capped by the execution environments times the "
    "per-environment maximum and by the capacity provider's vCPU limit; the construct refuses reserved "
    "concurrency there."
)
_LOG_GROUP_KMS = (
    "CloudWatch Logs encrypts log data at rest by default; prompts and completions are never logged at "
    "INFO, so a customer-managed KMS key adds cost without protecting sensitive data."
)


def function_skips(
    *, reserved_concurrency: int | None, public_url: bool, managed_instances: bool = False
) -> dict[str, str]:
    """Check id -> reason for the function resource, given the options that relax a check."""
    skips = dict(_ALWAYS_ON_FUNCTION)
    if managed_instances:
        skips["CKV_AWS_117"] = _MANAGED_INSTANCES_VPC
        skips["CKV_AWS_115"] = _MANAGED_INSTANCES_CONCURRENCY
    elif reserved_concurrency is None:
        skips["CKV_AWS_115"] = _NO_RESERVED_CONCURRENCY
    if public_url:
        skips["CKV_AWS_258"] = _PUBLIC_URL
    return skips


def log_group_skips() -> dict[str, str]:
    """Check id -> reason for the function's log group."""
    return {"CKV_AWS_158": _LOG_GROUP_KMS}


def add_checkov_skips(construct: IConstruct, skips: dict[str, str]) -> None:
    """Write ``Metadata.checkov.skip`` (the form checkov reads from CloudFormation) on an L2's resource."""
    # An L2 construct's default child is its L1 CfnResource, where the Metadata lives.
    resource = cast(cdk.CfnResource, construct.node.default_child)
    resource.add_metadata("checkov", {"skip": [{"id": key, "comment": why} for key, why in skips.items()]})
