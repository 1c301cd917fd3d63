"""Security of the synthesized stack: URL auth AWS_IAM unless NONE is chosen, least-privilege IAM only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

import app as app_module
from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_stack import ContextError, StackSettings
from tests.security.iam_walk import Statement, identity_statements, render, resources_of_type

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
INVOKE_STREAM = "bedrock:InvokeModelWithResponseStream"
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
PROFILE_CONDITION = "bedrock:InferenceProfileArn"
P, R, A = "${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}"

# What each synthesized variant must grant on Bedrock: exactly these ARNs, nothing else; True marks a
# profile's underlying model, which must be reachable only through that profile (the condition).
EXPECTED_BEDROCK = {
    "cdk_json": {
        f"arn:{P}:bedrock:{R}:{A}:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0": False,
        f"arn:{P}:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0": True,
        f"arn:{P}:bedrock:{R}::foundation-model/amazon.nova-lite-v1:0": False,
    },
    "other_models": {
        f"arn:{P}:bedrock:{R}::foundation-model/amazon.nova-micro-v1:0": False,
        f"arn:{P}:bedrock:{R}:{A}:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0": False,
        f"arn:{P}:bedrock:{R}::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0": True,
        f"arn:{P}:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0": True,
    },
}
VARIANTS: dict[str, dict[str, Any]] = {
    "cdk_json": CDK_CONTEXT,
    "no_auth_context": {k: v for k, v in CDK_CONTEXT.items() if k != "authType"},
    "none_by_context": {**CDK_CONTEXT, "authType": "NONE"},
    "other_models": {
        **CDK_CONTEXT,
        "modelIds": ["amazon.nova-micro-v1:0", "global.anthropic.claude-sonnet-4-5-20250929-v1:0"],
    },
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """app.py's app synthesized once per context variant, plus bare constructs with and without the prop."""
    found: dict[str, dict[str, Any]] = {}
    for name, context in VARIANTS.items():
        outdir = tmp_path_factory.mktemp(f"cdk.out-{name}")
        app, stack = app_module.build_app(context=context, outdir=str(outdir))
        app.synth()
        found[name] = json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
    build_context = tmp_path_factory.mktemp("runtime")
    (build_context / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    app = cdk.App(context=CDK_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out-construct")))
    stacks = {
        "construct_default": {},
        "construct_none": {"auth_type": lambda_.FunctionUrlAuthType.NONE},
    }
    for name, props in stacks.items():
        stack = cdk.Stack(app, name.replace("_", "-"))
        BedrockStreamingFunction(
            stack, "Fn", model_ids=["amazon.nova-lite-v1:0"], runtime_directory=build_context, **props
        )
    assembly = app.synth()
    for name in stacks:
        found[name] = assembly.get_stack_by_name(name.replace("_", "-")).template
    return found


def _url_auth(template: dict[str, Any]) -> str:
    (url,) = resources_of_type(template, "AWS::Lambda::Url").values()
    assert url["Properties"]["InvokeMode"] == "RESPONSE_STREAM"
    auth: str = url["Properties"]["AuthType"]
    return auth


def _public_permissions(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p["Properties"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"].get("Principal") == "*"
    ]


# --- 1. Function URL auth --------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["cdk_json", "no_auth_context", "other_models", "construct_default"])
def test_url_auth_is_aws_iam_unless_none_is_chosen(templates: dict[str, Any], variant: str) -> None:
    template = templates[variant]
    assert _url_auth(template) == "AWS_IAM"
    assert _public_permissions(template) == []  # nobody outside IAM may call it


@pytest.mark.parametrize("variant", ["none_by_context", "construct_none"])
def test_url_auth_none_only_by_explicit_choice(templates: dict[str, Any], variant: str) -> None:
    template = templates[variant]
    assert _url_auth(template) == "NONE"
    actions = {p["Action"] for p in _public_permissions(template)}
    assert "lambda:InvokeFunctionUrl" in actions  # public on purpose, and visibly so in the template


def test_cdk_json_does_not_turn_auth_off() -> None:
    assert str(CDK_CONTEXT.get("authType", "AWS_IAM")).upper() == "AWS_IAM"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, lambda_.FunctionUrlAuthType.AWS_IAM),
        ("", lambda_.FunctionUrlAuthType.AWS_IAM),
        ("aws_iam", lambda_.FunctionUrlAuthType.AWS_IAM),
        ("NONE", lambda_.FunctionUrlAuthType.NONE),
        ("none", lambda_.FunctionUrlAuthType.NONE),
    ],
)
def test_auth_context_values_that_are_accepted(value: str | None, expected: Any) -> None:
    context: dict[str, Any] = {"modelIds": ["amazon.nova-lite-v1:0"]}
    if value is not None:
        context["authType"] = value
    assert StackSettings.from_context(cdk.App(context=context).node).auth_type == expected


@pytest.mark.parametrize("value", ["PUBLIC", "IAM", "OPEN", " NONE ", "true", "AWS_IAM,NONE", True, False, 0])
def test_any_other_auth_context_is_rejected_clearly(value: object) -> None:
    context = {"modelIds": ["amazon.nova-lite-v1:0"], "authType": value}
    with pytest.raises(ContextError, match=r"authType must be AWS_IAM or NONE"):
        StackSettings.from_context(cdk.App(context=context).node)


@pytest.mark.parametrize("value", ["NONE", "AWS_IAM", 0])
def test_auth_prop_must_be_the_enum(value: object, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(TypeError, match=r"auth_type must be one of"):
        BedrockStreamingFunction(
            stack, "Fn", model_ids=["amazon.nova-lite-v1:0"], runtime_directory=tmp_path, auth_type=value
        )  # type: ignore[arg-type]


# --- 2. IAM: no Resource "*", only the Bedrock action needed, only the configured models ------------


def test_render_handles_the_intrinsics_cdk_emits() -> None:
    join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x/", {"Fn::GetAtt": ["Lg", "Arn"]}]]}
    assert render(join) == "arn:${AWS::Partition}:x/${Lg.Arn}"
    assert render("*") == "*"


def test_the_walker_finds_statements_in_every_kind_of_identity_policy() -> None:
    """Control: a wildcard hidden in a Role's inline policy or a ManagedPolicy is found, not skipped."""
    star = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    template = {
        "Resources": {
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {"Policies": [{"PolicyName": "i", "PolicyDocument": {"Statement": [star]}}]},
            },
            "M": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": star}}},
            "P": {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [star]}}},
        }
    }
    found = identity_statements(template)
    assert [s.where.split()[0] for s in found] == ["R", "M", "P"]
    assert all(s.resources == ("*",) for s in found)


@pytest.mark.parametrize("variant", [*sorted(VARIANTS), "construct_default", "construct_none"])
def test_no_statement_allows_every_resource_or_action(templates: dict[str, Any], variant: str) -> None:
    statements = identity_statements(templates[variant])
    assert statements, "expected the execution role's policy"
    for statement in statements:
        assert statement.effect == "Allow", statement.raw
        assert "NotAction" not in statement.raw and "NotResource" not in statement.raw, statement.raw
        assert statement.resources, statement.raw
        assert "*" not in statement.resources, f"Resource '*' in {statement.where}: {statement.raw}"
        assert all("*" not in action for action in statement.actions), statement.raw
        for resource in statement.resources:
            if "*" in resource:  # only the unpinned Region of a profile's model, reachable only through it
                assert PROFILE_CONDITION in statement.conditions.get("StringEquals", {}), statement.raw
                assert resource.startswith(f"arn:{P}:bedrock:*::foundation-model/"), resource


def _bedrock(statements: list[Statement]) -> list[Statement]:
    return [s for s in statements if any(a.startswith("bedrock:") for a in s.actions)]


@pytest.mark.parametrize("variant", sorted(EXPECTED_BEDROCK))
def test_bedrock_grant_is_one_action_on_exactly_the_configured_models(
    templates: dict[str, Any], variant: str
) -> None:
    statements = identity_statements(templates[variant])
    bedrock = _bedrock(statements)
    assert {a for s in bedrock for a in s.actions} == {INVOKE_STREAM}
    expected = EXPECTED_BEDROCK[variant]
    assert {r for s in bedrock for r in s.resources} == set(expected)
    for statement in bedrock:
        conditioned = PROFILE_CONDITION in statement.conditions.get("StringEquals", {})
        assert {expected[r] for r in statement.resources} == {conditioned}, statement.raw


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_everything_else_is_log_writes_to_its_own_log_group(templates: dict[str, Any], variant: str) -> None:
    template = templates[variant]
    (log_group_id,) = resources_of_type(template, "AWS::Logs::LogGroup")
    other = [s for s in identity_statements(template) if s not in _bedrock(identity_statements(template))]
    assert {a for s in other for a in s.actions} == LOG_ACTIONS
    assert {r for s in other for r in s.resources} == {f"${{{log_group_id}.Arn}}"}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_role_has_no_managed_policy_and_only_lambda_may_assume_it(
    templates: dict[str, Any], variant: str
) -> None:
    for role in resources_of_type(templates[variant], "AWS::IAM::Role").values():
        props = role["Properties"]
        assert props.get("ManagedPolicyArns", []) == []
        (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert (trust["Action"], trust["Principal"]) == (
            "sts:AssumeRole",
            {"Service": "lambda.amazonaws.com"},
        )
    assert resources_of_type(templates[variant], "AWS::IAM::ManagedPolicy") == {}
