"""The cdk-nag findings the REST API door acknowledges on purpose, each with its written reason."""

from __future__ import annotations

import json
from collections.abc import Iterable

import aws_cdk as cdk
from constructs import IConstruct

from .rest_api_auth import RestApiAuthMode

_NOT_COGNITO = {
    "api-keys": (
        "This method's auth mode is API keys by design (RestApiAuth.api_keys): OpenAI-SDK callers send "
        "Authorization: Bearer <key>, a Lambda TOKEN authorizer hands the key to API Gateway, and the "
        "key's usage plan throttles and meters it. A Cognito authorizer is the RestApiAuth.cognito mode."
    ),
    "iam": (
        "This method's auth mode is AWS_IAM by design (RestApiAuth.iam): backend callers sign with SigV4 "
        "and need execute-api:Invoke on this API. A Cognito authorizer is the RestApiAuth.cognito mode."
    ),
}
_NO_REQUEST_VALIDATOR = (
    "Every method is a Lambda proxy with no request model: the function validates each body against its "
    "own API (native and OpenAI-compatible) and answers in the project's error shape; an API Gateway model "
    "would duplicate that schema, drift from it and answer in another shape."
)
_NO_EXECUTION_LOGGING = (
    "Execution logging needs an account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), which "
    "this construct does not create or change; the stage writes JSON access logs instead. Pass "
    "execution_logging=MethodLoggingLevel.ERROR once the account has that role."
)
_PLUS_TIER = (
    "The Plus feature plan (threat protection) is billed per monthly active user on top of Essentials; "
    "the created pool already requires TOTP MFA and a strong password, and admits only invited users. "
    "Pass your own Plus pool as RestApiAuth.cognito(user_pool=...) for it."
)
_NO_WAF = (
    "No web ACL was asked for (waf=None): AWS WAF costs a monthly fee per web ACL and rule. Callers are "
    "authenticated on every method, and the stage and usage plans throttle; pass "
    "waf=RestApiWaf.rate_limited() or RestApiWaf.from_arn(...) to add one."
)


def acknowledge_methods(methods: Iterable[IConstruct], *, mode: RestApiAuthMode) -> None:
    """COG4 on each API-key or IAM method (Cognito methods satisfy it)."""
    reason = _NOT_COGNITO.get(mode)
    if reason is None:
        return
    for method in methods:
        _acknowledge(method, "AwsSolutions-COG4", reason)


def acknowledge_api(api: IConstruct, stage: IConstruct, *, execution_logging: bool, waf: bool) -> None:
    """APIG2 on the API; APIG6 without execution logging and APIG3 without a web ACL, on the stage."""
    _acknowledge(api, "AwsSolutions-APIG2", _NO_REQUEST_VALIDATOR)
    if not execution_logging:
        _acknowledge(stage, "AwsSolutions-APIG6", _NO_EXECUTION_LOGGING)
    if not waf:
        _acknowledge(stage, "AwsSolutions-APIG3", _NO_WAF)


def acknowledge_runtime(function: IConstruct, runtime_name: str) -> None:
    """L1 on the key authorizer when its runtime is not the newest Python this aws-cdk-lib knows."""
    _acknowledge(
        function,
        "AwsSolutions-L1",
        f"{runtime_name} is the key authorizer's runtime (authorizer_runtime): the function image runs "
        "Python 3.12 too, so both halves of the door run one Python; the authorizer uses only the "
        "standard library and runs unchanged on a newer runtime passed as authorizer_runtime.",
    )


def acknowledge_user_pool_tier(user_pool: IConstruct) -> None:
    """COG8 on a created user pool (Essentials, not Plus)."""
    _acknowledge(user_pool, "AwsSolutions-COG8", _PLUS_TIER)


def acknowledge_invoke_wildcard(grantee: IConstruct, resource: str) -> None:
    """IAM5 on a grantee's default policy for the stage-wide ``execute-api:Invoke`` of ``grant_invoke``,
    when the grantee and its policy live in the API's stack (another stack's policy is its owner's)."""
    policy = grantee.node.try_find_child("DefaultPolicy")
    stack = cdk.Stack.of(grantee)
    if policy is None or cdk.Stack.of(policy) is not stack:
        return
    cdk.Validations.of(policy).acknowledge(
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{nag_resource_name(stack.resolve(resource))}]",
            reason=(
                "execute-api:Invoke on <api>/<stage>/*/*: the API has one proxy resource ({proxy+}) that "
                "routes every path to the one function, so every method and path of this one stage of "
                "this one API is exactly what an IAM caller of the door is allowed."
            ),
        )
    )


def nag_resource_name(value: object) -> str:
    """A resolved CloudFormation value as cdk-nag names it in a finding (its flattenCfnReference)."""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and "Fn::Join" in value:
        delimiter, items = value["Fn::Join"]
        return str(delimiter).join(nag_resource_name(item) for item in items)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"<{nag_resource_name(resource)}.{nag_resource_name(attribute)}>"
    if isinstance(value, dict) and "Ref" in value:
        return f"<{nag_resource_name(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))


def _acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    # On the L1 resource itself: an acknowledgement on an L2 also covers its children (a method's
    # Lambda permissions, the API's gateway responses), which the finding is not about.
    resource = construct.node.default_child or construct
    cdk.Validations.of(resource).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))
