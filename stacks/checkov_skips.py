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

_AUTHORIZER_FUNCTION = {
    "CKV_AWS_116": "Invoked synchronously by API Gateway as a TOKEN authorizer only; a DLQ applies to "
    "asynchronous invocations and would never receive anything.",
    "CKV_AWS_117": "Reads only the Authorization header it is given and calls no AWS API or private "
    "resource; a VPC would add ENI cold starts and nothing to reach.",
    "CKV_AWS_115": "Answers are cached per token for the authorizer TTL and callers are throttled by the "
    "stage (and WAF when configured); a reservation would take from the account pool and turn a burst "
    "into 500s for every caller.",
}
_ALWAYS_ON_STAGE = {
    "CKV_AWS_120": "Stage caching is not supported with responseTransferMode STREAM (every method streams); "
    "a cache cluster would cost money and never be used.",
}
_NO_TRACING = (
    "tracing=False was left at its default: X-Ray traces every request at a per-trace cost; pass "
    "tracing=True to the construct to turn it on."
)
_WEB_ACL = {
    "CKV_AWS_192": "The Log4j rule set (AWSManagedRulesKnownBadInputsRuleSet) inspects request bodies for "
    "${jndi: and similar text, which a chat prompt may legitimately contain; the function is Python, "
    "not Java, so the rule could only block users.",
}


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


def authorizer_function_skips() -> dict[str, str]:
    """Check id -> reason for the REST API's key authorizer function."""
    return dict(_AUTHORIZER_FUNCTION)


def rest_api_stage_skips(*, tracing: bool) -> dict[str, str]:
    """Check id -> reason for the REST API's stage, given whether X-Ray tracing is on."""
    skips = dict(_ALWAYS_ON_STAGE)
    if not tracing:
        skips["CKV_AWS_73"] = _NO_TRACING
    return skips


def web_acl_skips() -> dict[str, str]:
    """Check id -> reason for the web ACL the REST API creates."""
    return dict(_WEB_ACL)


def add_checkov_skips(construct: IConstruct, skips: dict[str, str]) -> None:
    """Write ``Metadata.checkov.skip`` (the form checkov reads from CloudFormation) on an L2's resource,
    or on an L1 resource itself."""
    # An L2 construct's default child is its L1 CfnResource, where the Metadata lives.
    resource = (
        construct
        if isinstance(construct, cdk.CfnResource)
        else cast(cdk.CfnResource, construct.node.default_child)
    )
    resource.add_metadata("checkov", {"skip": [{"id": key, "comment": why} for key, why in skips.items()]})
