"""Fine-grained assertions on BedrockStreamingFunction: resources, IAM, URL auth, validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import DEFAULT_RUNTIME_DIRECTORY, BedrockStreamingFunction
from tests.infra.conftest import (
    CDK_CONTEXT,
    REPO_ROOT,
    policy_statements,
    render_pseudo_parameters,
    resources_of_type,
)

ACCOUNT, REGION = "111122223333", "us-east-1"
GEO_PINNED = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
GEO_OPEN = "eu.amazon.nova-lite-v1:0"
GLOBAL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
APP_PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/abc123"
FOUNDATION = "amazon.nova-micro-v1:0"
PROFILE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/"
INVOKE = "bedrock:InvokeModelWithResponseStream"


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal Docker build context: these tests are about the construct, not the runtime's files."""
    directory = tmp_path_factory.mktemp("runtime")
    (directory / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return directory


@pytest.fixture(scope="module")
def templates(build_context: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three stacks in ONE app (one synth): defaults, every kind of model id, and the loosened options."""
    # The feature flags of cdk.json (e.g. minimizePolicies) apply, as in the deployed app.
    app = cdk.App(context=CDK_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    default_stack = cdk.Stack(app, "Defaults")
    default = BedrockStreamingFunction(
        default_stack, "Fn", model_ids=[FOUNDATION], runtime_directory=build_context
    )
    caller = iam.Role(default_stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    grant = default.grant_invoke_url(caller)
    direct_grant = default.grant_invoke_stream(
        iam.Role(default_stack, "DirectCaller", assumed_by=iam.AccountRootPrincipal())
    )

    kinds_stack = cdk.Stack(app, "Kinds", env=cdk.Environment(account=ACCOUNT, region=REGION))
    BedrockStreamingFunction(
        kinds_stack,
        "Fn",
        model_ids=[GEO_PINNED, GEO_OPEN, GLOBAL, APP_PROFILE, FOUNDATION],
        inference_profile_regions={GEO_PINNED: ["us-east-1", "us-east-2", "us-west-2"]},
        runtime_directory=build_context,
    )

    loose_stack = cdk.Stack(app, "Loosened")
    loose = BedrockStreamingFunction(
        loose_stack,
        "Fn",
        model_ids=[FOUNDATION],
        runtime_directory=build_context,
        auth_type=lambda_.FunctionUrlAuthType.NONE,
        allowed_origins=["https://chat.example.com", "http://localhost:3000"],
        architecture=lambda_.Architecture.X86_64,
        memory_size=2048,
        timeout=cdk.Duration.minutes(15),
        reserved_concurrent_executions=None,
        provisioned_concurrency=2,
        max_tokens_limit=512,
        log_retention=cdk.aws_logs.RetentionDays.ONE_WEEK,
        environment={"DEADLINE_MARGIN_MS": "3000", "EXTRA": "1"},
        botocore_services=["bedrock-runtime", "s3"],
    )
    loose.grant_invoke_stream(iam.Role(loose_stack, "DirectCaller", assumed_by=iam.AccountRootPrincipal()))
    # The AwsSolutions pack runs over all three stacks: any unacknowledged finding fails the synth.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    assembly = app.synth()
    assets = json.loads(Path(assembly.directory, "Loosened.assets.json").read_text())
    default_assets = json.loads(Path(assembly.directory, "Defaults.assets.json").read_text())
    return {
        "default": Template.from_stack(default_stack),
        "kinds": Template.from_stack(kinds_stack),
        "loose": Template.from_stack(loose_stack),
        "grant": grant,
        "direct_grant": direct_grant,
        "loose_assets": assets,
        "default_assets": default_assets,
    }


def test_default_runtime_directory_is_beside_the_stacks_package() -> None:
    assert Path(DEFAULT_RUNTIME_DIRECTORY) == REPO_ROOT / "runtime"


def test_default_function_is_an_arm64_image_with_documented_defaults(templates: dict[str, Any]) -> None:
    templates["default"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Architectures": ["arm64"],
            "MemorySize": 1024,
            "Timeout": 300,
            "ReservedConcurrentExecutions": 10,
            "ImageConfig": {"Command": ["bedrock_handler.app.handler"]},
            "LoggingConfig": {
                "LogFormat": "JSON",
                "ApplicationLogLevel": "INFO",
                "LogGroup": Match.any_value(),
            },
            "Environment": {
                "Variables": {
                    "MODEL_IDS": FOUNDATION,
                    "MAX_TOKENS_LIMIT": "4096",
                    "DEFAULT_MAX_TOKENS": "1024",
                    "MAX_REQUEST_BYTES": "6291456",
                    "DEADLINE_MARGIN_MS": "2000",
                }
            },
        },
    )


def test_default_url_streams_and_requires_iam(templates: dict[str, Any]) -> None:
    template = templates["default"]
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.has_resource_properties(
        "AWS::Lambda::Url", {"InvokeMode": "RESPONSE_STREAM", "AuthType": "AWS_IAM", "Cors": Match.absent()}
    )
    # AWS_IAM: no resource-based permission opens the function to anyone.
    template.resource_count_is("AWS::Lambda::Permission", 0)
    template.resource_count_is("AWS::Lambda::Alias", 0)


def test_own_role_without_managed_policies_and_log_group_with_retention(templates: dict[str, Any]) -> None:
    template = templates["default"]
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "lambda.amazonaws.com"}})]}
            ),
            "ManagedPolicyArns": Match.absent(),
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})
    statements = policy_statements(template.to_json())
    log_writes = [s for s in statements if s["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]]
    assert len(log_writes) == 1
    assert log_writes[0]["Resource"]["Fn::GetAtt"][1] == "Arn"


def test_foundation_model_grant_is_one_arn_built_from_region_and_partition(templates: dict[str, Any]) -> None:
    bedrock = [s for s in policy_statements(templates["default"].to_json()) if "bedrock" in json.dumps(s)]
    assert bedrock == [
        {
            "Action": INVOKE,
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":bedrock:",
                        {"Ref": "AWS::Region"},
                        f"::foundation-model/{FOUNDATION}",
                    ],
                ]
            },
        }
    ]


def _bedrock_statements(template: Template) -> list[dict[str, Any]]:
    return [
        render_pseudo_parameters(s)
        for s in policy_statements(template.to_json())
        if "bedrock:" in json.dumps(s["Action"])
    ]


def test_every_kind_of_model_id_gets_exact_resources_and_conditions(templates: dict[str, Any]) -> None:
    statements = _bedrock_statements(templates["kinds"])
    assert {json.dumps(s["Action"]) for s in statements} == {json.dumps(INVOKE)}
    unconditioned = [s for s in statements if "Condition" not in s]
    assert len(unconditioned) == 1  # minimised into one statement
    assert sorted(unconditioned[0]["Resource"]) == sorted(
        [
            PROFILE + GEO_PINNED,
            PROFILE + GEO_OPEN,
            PROFILE + GLOBAL,
            APP_PROFILE,
            f"arn:aws:bedrock:{REGION}::foundation-model/{FOUNDATION}",
        ]
    )
    conditioned = {
        json.dumps(s["Condition"], sort_keys=True): s["Resource"] for s in statements if "Condition" in s
    }

    def through(profile_id: str, **extra: str) -> str:
        return json.dumps(
            {"StringEquals": {"bedrock:InferenceProfileArn": PROFILE + profile_id, **extra}}, sort_keys=True
        )

    assert conditioned == {
        through(GEO_PINNED): [
            f"arn:aws:bedrock:{region}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0"
            for region in ("us-east-1", "us-east-2", "us-west-2")
        ],
        through(GEO_OPEN): "arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0",
        through(
            GLOBAL
        ): f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
        through(GLOBAL, **{"aws:RequestedRegion": "unspecified"}): (
            "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"
        ),
    }


@pytest.mark.parametrize("key", ["default", "kinds", "loose"])
def test_no_statement_has_a_star_resource_and_wildcards_are_conditioned(
    templates: dict[str, Any], key: str
) -> None:
    for statement in policy_statements(templates[key].to_json()):
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        for resource in resources:
            assert resource != "*"
            if "*" in json.dumps(resource) and "bedrock" in json.dumps(resource):
                assert "bedrock:InferenceProfileArn" in statement["Condition"]["StringEquals"]


def test_region_wildcard_is_acknowledged_at_finding_level_with_a_reason(templates: dict[str, Any]) -> None:
    acknowledgements = [
        (logical_id, entry)
        for logical_id, resource in templates["kinds"].to_json()["Resources"].items()
        for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    # Only the unpinned profile's wildcard is acknowledged, only on the policy, only for that finding.
    assert [
        (logical_id.startswith("FnRoleDefaultPolicy"), entry["id"]) for logical_id, entry in acknowledgements
    ] == [(True, "AwsSolutions-IAM5[Resource::arn:aws:bedrock:*::foundation-model/amazon.nova-lite-v1:0]")]
    assert GEO_OPEN in acknowledgements[0][1]["reason"]
    assert "bedrock:InferenceProfileArn" in acknowledgements[0][1]["reason"]


def test_grant_invoke_url_grants_both_actions_the_url_requires(templates: dict[str, Any]) -> None:
    grant = templates["grant"]
    assert isinstance(grant, iam.Grant)
    assert grant.success
    statements = caller_statements(templates["default"], "Caller")
    actions = {s["Action"]: s.get("Condition") for s in statements if str(s["Action"]).startswith("lambda:")}
    assert actions == {
        "lambda:InvokeFunctionUrl": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
        "lambda:InvokeFunction": {"Bool": {"lambda:InvokedViaFunctionUrl": True}},
    }


def caller_statements(template: Template, role_prefix: str) -> list[dict[str, Any]]:
    """The statements of the policies attached to the role whose logical id starts with `role_prefix`."""
    resources = template.to_json()["Resources"]
    role = next(
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::IAM::Role" and name.startswith(role_prefix)
    )
    return [
        statement
        for policy in resources_of_type(template.to_json(), "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grant_invoke_stream_grants_exactly_invoke_function_on_the_function(
    templates: dict[str, Any],
) -> None:
    assert isinstance(templates["direct_grant"], iam.Grant) and templates["direct_grant"].success
    default = templates["default"].to_json()["Resources"]
    function = next(name for name, r in default.items() if r["Type"] == "AWS::Lambda::Function")
    assert caller_statements(templates["default"], "DirectCaller") == [
        {"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": {"Fn::GetAtt": [function, "Arn"]}}
    ]
    loose = templates["loose"].to_json()["Resources"]
    function = next(name for name, r in loose.items() if r["Type"] == "AWS::Lambda::Function")
    alias = next(name for name, r in loose.items() if r["Type"] == "AWS::Lambda::Alias")
    [statement] = caller_statements(templates["loose"], "DirectCaller")
    assert statement["Action"] == "lambda:InvokeFunction" and "Condition" not in statement
    assert statement["Resource"] == [{"Fn::GetAtt": [function, "Arn"]}, {"Ref": alias}]


def test_auth_none_grants_both_public_permissions(templates: dict[str, Any]) -> None:
    template = templates["loose"]
    template.has_resource_properties(
        "AWS::Lambda::Url", {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}
    )
    permissions = [
        r["Properties"] for r in resources_of_type(template.to_json(), "AWS::Lambda::Permission").values()
    ]
    by_action = {p["Action"]: p for p in permissions}
    assert set(by_action) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert by_action["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert by_action["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert {p["Principal"] for p in permissions} == {"*"}


def test_loosened_options_reach_the_template(templates: dict[str, Any]) -> None:
    template = templates["loose"]
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "Cors": {
                "AllowOrigins": ["https://chat.example.com", "http://localhost:3000"],
                "AllowMethods": ["POST"],
                "AllowHeaders": Match.array_with(["content-type", "authorization"]),
            }
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Architectures": ["x86_64"],
            "MemorySize": 2048,
            "Timeout": 900,
            "ReservedConcurrentExecutions": Match.absent(),
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "DEADLINE_MARGIN_MS": "3000",
                        "EXTRA": "1",
                        "MAX_TOKENS_LIMIT": "512",
                        "DEFAULT_MAX_TOKENS": "512",
                    }
                )
            },
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 7})
    images = templates["loose_assets"]["dockerImages"].values()
    assert [image["source"]["platform"] for image in images] == ["linux/amd64"]
    assert [image["source"]["dockerBuildArgs"] for image in images] == [
        {"BOTOCORE_SERVICES": "bedrock-runtime s3"}
    ]


def test_image_keeps_only_the_bedrock_runtime_model_by_default(templates: dict[str, Any]) -> None:
    images = templates["default_assets"]["dockerImages"].values()
    assert [image["source"]["dockerBuildArgs"] for image in images] == [
        {"BOTOCORE_SERVICES": "bedrock-runtime"}
    ]


def test_provisioned_concurrency_creates_alias_and_puts_url_on_it(templates: dict[str, Any]) -> None:
    template = templates["loose"]
    template.has_resource_properties(
        "AWS::Lambda::Alias",
        {"Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}},
    )
    template.resource_count_is("AWS::Lambda::Url", 1)
    template.has_resource_properties("AWS::Lambda::Url", {"Qualifier": "live"})
    # Both public permissions must name the alias too, or the aliased URL would answer 403.
    for permission in resources_of_type(template.to_json(), "AWS::Lambda::Permission").values():
        assert permission["Properties"]["FunctionName"] == {"Ref": _alias_id(template)}


def _alias_id(template: Template) -> str:
    return next(iter(resources_of_type(template.to_json(), "AWS::Lambda::Alias")))


def test_checkov_skips_carry_reasons_and_match_the_options(templates: dict[str, Any]) -> None:
    def skipped(key: str) -> dict[str, str]:
        return {
            skip["id"]: skip["comment"]
            for resource in templates[key].to_json()["Resources"].values()
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        }

    default, loose = skipped("default"), skipped("loose")
    assert set(default) == {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_158"}
    assert set(loose) == set(default) | {"CKV_AWS_115", "CKV_AWS_258"}
    assert all(len(comment) > 40 for comment in loose.values())


VALID: dict[str, Any] = {"model_ids": [FOUNDATION]}

INVALID_PROPS = [
    ("no models", {"model_ids": []}, "at least one model"),
    ("one string", {"model_ids": FOUNDATION}, "not one string"),
    ("empty id", {"model_ids": [""]}, "must not be empty"),
    ("malformed id", {"model_ids": ["claude"]}, "'claude' is neither"),
    ("comma in id", {"model_ids": ["amazon.nova-lite-v1:0,amazon.nova-pro-v1:0"]}, "must not contain ','"),
    ("duplicate id", {"model_ids": [FOUNDATION, FOUNDATION]}, "listed twice"),
    ("memory too small", {"memory_size": 64}, "memory_size 64 MB"),
    ("memory too large", {"memory_size": 20480}, "memory_size 20480 MB"),
    ("timeout too long", {"timeout": cdk.Duration.minutes(16)}, "timeout 960 s"),
    ("timeout zero", {"timeout": cdk.Duration.seconds(0)}, "timeout 0 s"),
    (
        "provisioned above reserved",
        {"reserved_concurrent_executions": 2, "provisioned_concurrency": 3},
        "provisioned_concurrency 3 exceeds reserved_concurrent_executions 2",
    ),
    ("reserved zero", {"reserved_concurrent_executions": 0}, "reserved_concurrent_executions 0"),
    (
        "origin with path",
        {"allowed_origins": ["https://example.com/chat"]},
        "'https://example.com/chat' is not an origin",
    ),
    ("origin without scheme", {"allowed_origins": ["example.com"]}, "'example.com' is not an origin"),
    ("origin trailing slash", {"allowed_origins": ["https://example.com/"]}, "is not an origin"),
    ("max tokens zero", {"max_tokens_limit": 0}, "max_tokens_limit 0"),
    ("bad handler", {"handler": "app handler"}, "handler 'app handler'"),
    (
        "botocore service path",
        {"botocore_services": ["bedrock-runtime", "../s3"]},
        "botocore service '../s3'",
    ),
    ("botocore without bedrock", {"botocore_services": ["s3"]}, "must keep 'bedrock-runtime'"),
    ("botocore one string", {"botocore_services": "bedrock-runtime"}, "not one string"),
    ("missing runtime", {"runtime_directory": "/nonexistent/runtime"}, "is not a directory"),
    ("reserved env", {"environment": {"AWS_REGION": "x"}}, "AWS_REGION is reserved"),
    ("env owned by prop", {"environment": {"MODEL_IDS": "x"}}, "set from its prop"),
    (
        "pinned regions for unknown profile",
        {"inference_profile_regions": {"us.amazon.nova-pro-v1:0": ["us-east-1"]}},
        "not a geographic inference profile listed in model_ids",
    ),
    (
        "pinned region malformed",
        {"model_ids": [GEO_PINNED], "inference_profile_regions": {GEO_PINNED: ["useast1"]}},
        "'useast1', which is not a Region",
    ),
]


@pytest.mark.parametrize(
    ("props", "message"),
    [(p, m) for _, p, m in INVALID_PROPS],
    ids=[case_id for case_id, _, _ in INVALID_PROPS],
)
def test_invalid_props_raise_value_error(build_context: Path, props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError, match="invalid BedrockStreamingFunction props") as raised:
        BedrockStreamingFunction(stack, "Fn", **{"runtime_directory": build_context, **VALID, **props})
    assert message in str(raised.value)


def test_all_problems_are_reported_in_one_error(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError) as raised:
        BedrockStreamingFunction(
            stack,
            "Fn",
            model_ids=["bad"],
            memory_size=1,
            timeout=cdk.Duration.hours(1),
            allowed_origins=["nope"],
            runtime_directory=build_context,
        )
    lines = str(raised.value).splitlines()
    assert len([line for line in lines if line.startswith("- ")]) == 4


def test_unresolved_tokens_are_not_judged(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Tokens")
    model = cdk.CfnParameter(stack, "Model").value_as_string
    memory = cdk.CfnParameter(stack, "Memory", type="Number").value_as_number
    function = BedrockStreamingFunction(
        stack, "Fn", model_ids=[model], memory_size=int(memory), runtime_directory=build_context
    )
    assert function.model_ids == (model,)
