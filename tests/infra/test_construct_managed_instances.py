"""managed_instances: off by default; created, in-app or imported capacity providers; checks; nag, lint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.managed_instances import ManagedInstances
from tests.infra.conftest import CDK_CONTEXT, policy_statements
from tests.infra.test_lint import TOOL_TIMEOUT_S, _checkov, _ids, _tool

NOVA_LITE = "amazon.nova-lite-v1:0"
ACCOUNT, REGION = "111122223333", "us-east-1"
SHARED_PROVIDER = f"arn:aws:lambda:{REGION}:{ACCOUNT}:capacity-provider:shared"
PRIVATE_SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002", "subnet-0a1b2c3d4e5f60003"]
OPERATOR_POLICY = "AWSLambdaManagedEC2ResourceOperator"
GIVEN_SUBNET, GIVEN_GROUP = "subnet-0a1b2c3d4e5f60004", "sg-0a1b2c3d4e5f60005"
LMI: dict[str, Any] = {"memory_size": 2048, "reserved_concurrent_executions": None}


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal Docker build context: these tests are about the construct, not the runtime's files."""
    directory = tmp_path_factory.mktemp("runtime")
    (directory / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return directory


def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=[f"{REGION}a", f"{REGION}b", f"{REGION}c"],
        private_subnet_ids=PRIVATE_SUBNETS,
        private_subnet_route_table_ids=[
            "rtb-0a1b2c3d4e5f60001",
            "rtb-0a1b2c3d4e5f60002",
            "rtb-0a1b2c3d4e5f60003",
        ],
    )


def _given_subnet(stack: cdk.Stack) -> ec2.ISubnet:
    return ec2.Subnet.from_subnet_attributes(
        stack, "Subnet", subnet_id=GIVEN_SUBNET, route_table_id="rtb-0a1b2c3d4e5f60004"
    )


@pytest.fixture(scope="module")
def synthesized(build_context: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One app, one synth, the AwsSolutions pack on: the default function, and one on each kind of
    capacity provider (created in a VPC, created from subnets, built in the app, imported by ARN)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context=CDK_CONTEXT, outdir=str(outdir))
    env = cdk.Environment(account=ACCOUNT, region=REGION)
    ids = {
        "default": "Default",
        "vpc": "InVpc",
        "subnets": "InSubnets",
        "in_app": "InApp",
        "imported": "Imported",
    }
    stacks = {name: cdk.Stack(app, stack_id, env=env) for name, stack_id in ids.items()}
    plain: dict[str, Any] = {"model_ids": [NOVA_LITE], "runtime_directory": build_context}
    BedrockStreamingFunction(stacks["default"], "Fn", **plain)

    vpc_stack = stacks["vpc"]
    in_vpc = BedrockStreamingFunction(
        vpc_stack,
        "Fn",
        **plain,
        **LMI,
        managed_instances=ManagedInstances(
            vpc=_vpc(vpc_stack), max_vcpu_count=24, max_execution_environments=6
        ),
    )
    subnet_stack = stacks["subnets"]
    BedrockStreamingFunction(
        subnet_stack,
        "Fn",
        **plain,
        **LMI,
        architecture=lambda_.Architecture.X86_64,
        managed_instances=ManagedInstances(
            subnets=[_given_subnet(subnet_stack)],
            security_groups=[ec2.SecurityGroup.from_security_group_id(subnet_stack, "Sg", GIVEN_GROUP)],
            max_concurrency=8,
        ),
    )
    app_stack = stacks["in_app"]
    own_provider = lambda_.CapacityProvider(
        app_stack,
        "OwnProvider",
        subnets=_vpc(app_stack).private_subnets,
        security_groups=[ec2.SecurityGroup.from_security_group_id(app_stack, "Sg", GIVEN_GROUP)],
        architectures=[lambda_.Architecture.ARM_64],
    )
    cdk.Validations.of(own_provider).acknowledge(
        cdk.Acknowledgment(
            id=f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{OPERATOR_POLICY}]",
            reason="The test's own provider keeps the CDK's generated operator role and its AWS policy.",
        )
    )
    BedrockStreamingFunction(
        app_stack, "Fn", **plain, **LMI, managed_instances=ManagedInstances(capacity_provider=own_provider)
    )
    imported_stack = stacks["imported"]
    imported = BedrockStreamingFunction(
        imported_stack,
        "Fn",
        **plain,
        memory_size=4096,
        reserved_concurrent_executions=None,
        managed_instances=ManagedInstances(
            capacity_provider=lambda_.CapacityProvider.from_capacity_provider_arn(
                imported_stack, "Shared", SHARED_PROVIDER
            ),
            max_concurrency=32,
            memory_gib_per_vcpu=4,
            max_execution_environments=10,
        ),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    app.synth()  # raises ValidationFailed on any unacknowledged AwsSolutions finding
    return {
        "templates": {name: Template.from_stack(stack) for name, stack in stacks.items()},
        "paths": {name: outdir / f"{stack.stack_name}.template.json" for name, stack in stacks.items()},
        "report": json.loads((outdir / "validation-report.json").read_text()),
        "in_vpc": in_vpc,
        "imported": imported,
    }


def _template(synthesized: dict[str, Any], name: str) -> Template:
    template: Template = synthesized["templates"][name]
    return template


def _function(template: Template) -> dict[str, Any]:
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    properties: dict[str, Any] = function["Properties"]
    return properties


def test_off_by_default_nothing_of_managed_instances_is_synthesized(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "default")
    for resource_type in ("AWS::Lambda::CapacityProvider", "AWS::EC2::SecurityGroup"):
        template.resource_count_is(resource_type, 0)
    properties = _function(template)
    assert not {"CapacityProviderConfig", "PublishToLatestPublished", "FunctionScalingConfig"} & set(
        properties
    )
    assert properties["ReservedConcurrentExecutions"] == 10 and properties["MemorySize"] == 1024
    assert "ManagedPolicyArns" not in json.dumps(template.find_resources("AWS::IAM::Role"))


def test_a_provider_created_in_a_vpc_uses_its_private_subnets_and_an_https_only_group(
    synthesized: dict[str, Any],
) -> None:
    template = _template(synthesized, "vpc")
    (group_id,) = template.find_resources("AWS::EC2::SecurityGroup")
    template.has_resource_properties(
        "AWS::Lambda::CapacityProvider",
        {
            "VpcConfig": {
                "SubnetIds": PRIVATE_SUBNETS,
                "SecurityGroupIds": [{"Fn::GetAtt": [group_id, "GroupId"]}],
            },
            "InstanceRequirements": {"Architectures": ["arm64"]},
            "CapacityProviderScalingConfig": {"MaxVCpuCount": 24},
            "PermissionsConfig": {
                "CapacityProviderOperatorRoleArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}
            },
        },
    )
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "VpcId": "vpc-0123456789abcdef0",
            "SecurityGroupEgress": [
                {
                    "CidrIp": "0.0.0.0/0",
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "Description": Match.any_value(),
                }
            ],
            "SecurityGroupIngress": Match.absent(),
        },
    )


def test_the_function_carries_the_concurrency_memory_and_scaling_settings(
    synthesized: dict[str, Any],
) -> None:
    template = _template(synthesized, "vpc")
    (provider_id,) = template.find_resources("AWS::Lambda::CapacityProvider")
    properties = _function(template)
    assert properties["CapacityProviderConfig"] == {
        "LambdaManagedInstancesCapacityProviderConfig": {
            "CapacityProviderArn": {"Fn::GetAtt": [provider_id, "Arn"]},
            "PerExecutionEnvironmentMaxConcurrency": 16,
            "ExecutionEnvironmentMemoryGiBPerVCpu": 2,
        }
    }
    assert properties["PublishToLatestPublished"] is True
    assert properties["FunctionScalingConfig"] == {"MaxExecutionEnvironments": 6}
    assert properties["MemorySize"] == 2048 and "ReservedConcurrentExecutions" not in properties
    # Lambda sets AWS_LAMBDA_MAX_CONCURRENCY itself from PerExecutionEnvironmentMaxConcurrency.
    assert "AWS_LAMBDA_MAX_CONCURRENCY" not in properties["Environment"]["Variables"]
    assert synthesized["in_vpc"].capacity_provider is not None


def test_the_streaming_url_stays_on_the_unqualified_function(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "vpc")
    (function_id,) = template.find_resources("AWS::Lambda::Function")
    template.has_resource_properties(
        "AWS::Lambda::Url",
        {
            "InvokeMode": "RESPONSE_STREAM",
            "AuthType": "AWS_IAM",
            "TargetFunctionArn": {"Fn::GetAtt": [function_id, "Arn"]},
            "Qualifier": Match.absent(),
        },
    )
    for resource_type in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
        template.resource_count_is(resource_type, 0)


def test_the_operator_role_is_the_aws_policy_trusted_only_from_this_account(
    synthesized: dict[str, Any],
) -> None:
    template = _template(synthesized, "vpc")
    operator = [
        role
        for role in template.find_resources("AWS::IAM::Role").values()
        if "ManagedPolicyArns" in role["Properties"]
    ]
    assert len(operator) == 1
    properties = operator[0]["Properties"]
    assert properties["ManagedPolicyArns"] == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/{OPERATOR_POLICY}"]]}
    ]
    (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    # No inline policy anywhere grants EC2; the execution role keeps only logs and Bedrock.
    actions = {json.dumps(s["Action"]) for s in policy_statements(template.to_json())}
    assert not [action for action in actions if "ec2:" in action]
    assert actions == {
        json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"]),
        json.dumps("bedrock:InvokeModelWithResponseStream"),
    }


def test_given_subnets_and_groups_are_used_as_they_are(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "subnets")
    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    template.has_resource_properties(
        "AWS::Lambda::CapacityProvider",
        {
            "VpcConfig": {"SubnetIds": [GIVEN_SUBNET], "SecurityGroupIds": [GIVEN_GROUP]},
            "InstanceRequirements": {"Architectures": ["x86_64"]},
            "CapacityProviderScalingConfig": Match.absent(),
        },
    )
    properties = _function(template)
    assert properties["Architectures"] == ["x86_64"]
    config = properties["CapacityProviderConfig"]["LambdaManagedInstancesCapacityProviderConfig"]
    assert config["PerExecutionEnvironmentMaxConcurrency"] == 8


def test_a_provider_built_in_the_app_is_attached_not_duplicated(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "in_app")
    providers = template.find_resources("AWS::Lambda::CapacityProvider")
    assert len(providers) == 1 and next(iter(providers)).startswith("OwnProvider")
    config = _function(template)["CapacityProviderConfig"]["LambdaManagedInstancesCapacityProviderConfig"]
    assert config["CapacityProviderArn"] == {"Fn::GetAtt": [next(iter(providers)), "Arn"]}


def test_an_imported_provider_is_referenced_by_arn(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "imported")
    for resource_type in ("AWS::Lambda::CapacityProvider", "AWS::EC2::SecurityGroup"):
        template.resource_count_is(resource_type, 0)
    assert len(template.find_resources("AWS::IAM::Role")) == 1  # the execution role only
    properties = _function(template)
    assert properties["CapacityProviderConfig"] == {
        "LambdaManagedInstancesCapacityProviderConfig": {
            "CapacityProviderArn": SHARED_PROVIDER,
            "PerExecutionEnvironmentMaxConcurrency": 32,
            "ExecutionEnvironmentMemoryGiBPerVCpu": 4,
        }
    }
    assert properties["PublishToLatestPublished"] is True
    assert properties["FunctionScalingConfig"] == {"MaxExecutionEnvironments": 10}
    assert synthesized["imported"].capacity_provider.capacity_provider_arn == SHARED_PROVIDER


def test_nag_is_clean_and_the_one_acknowledgement_is_the_operator_policy(synthesized: dict[str, Any]) -> None:
    violations = [v for plugin in synthesized["report"]["pluginReports"] for v in plugin["violations"]]
    assert violations == []
    template = _template(synthesized, "vpc").to_json()
    acknowledged = [
        entry
        for resource in template["Resources"].values()
        for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert [entry["id"] for entry in acknowledged] == [
        f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{OPERATOR_POLICY}]"
    ]
    assert len(acknowledged[0]["reason"]) > 100


def test_the_acknowledgement_names_the_finding_the_pack_raises(tmp_path: Path) -> None:
    """Control: a role with the same managed policy and no acknowledgement fails synth with that id."""
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Control")
    cdk.aws_iam.Role(
        stack,
        "Operator",
        assumed_by=cdk.aws_iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[cdk.aws_iam.ManagedPolicy.from_aws_managed_policy_name(OPERATOR_POLICY)],
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert rules == {f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{OPERATOR_POLICY}]"}


LINTED = ("vpc", "subnets", "imported")


def test_cfn_lint_is_clean_except_w3005(synthesized: dict[str, Any]) -> None:
    paths = [str(synthesized["paths"][name]) for name in LINTED]
    result = subprocess.run(
        [_tool("cfn-lint"), *paths, "--ignore-checks", "W3005"],
        capture_output=True,
        text=True,
        timeout=TOOL_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_passes_with_reasoned_skips_that_are_all_needed(
    synthesized: dict[str, Any], tmp_path: Path
) -> None:
    reports = _checkov(*(synthesized["paths"][name] for name in LINTED))
    failed = {c["check_id"]: c["resource"] for r in reports for c in r["results"]["failed_checks"]}
    assert failed == {}
    skipped = _ids(reports, "skipped_checks")
    assert {"CKV_AWS_115", "CKV_AWS_117"} <= set(skipped)
    assert "Managed Instances" in skipped["CKV_AWS_117"] and "Managed Instances" in skipped["CKV_AWS_115"]
    # Control: without the skip metadata checkov fails exactly the skipped checks.
    template = synthesized["templates"]["vpc"].to_json()
    expected = set()
    for resource in template["Resources"].values():
        expected |= {skip["id"] for skip in resource.get("Metadata", {}).pop("checkov", {}).get("skip", [])}
    bare = tmp_path / "bare.template.json"
    bare.write_text(json.dumps(template))
    assert set(_ids(_checkov(bare), "failed_checks")) == expected


def _build(build_context: Path, **props: Any) -> BedrockStreamingFunction:
    stack = cdk.Stack(cdk.App(), "Invalid", env=cdk.Environment(account=ACCOUNT, region=REGION))
    props = dict(props)  # the parametrized dict is shared; the settings are built in this stack
    if "managed_instances" in props and callable(props["managed_instances"]):
        props["managed_instances"] = props["managed_instances"](stack)
    return BedrockStreamingFunction(
        stack, "Fn", model_ids=[NOVA_LITE], runtime_directory=build_context, **props
    )


def _shared(stack: cdk.Stack, **fields: Any) -> ManagedInstances:
    provider = lambda_.CapacityProvider.from_capacity_provider_arn(stack, "Shared", SHARED_PROVIDER)
    return ManagedInstances(capacity_provider=provider, **fields)


def _x86_provider(stack: cdk.Stack) -> ManagedInstances:
    provider = lambda_.CapacityProvider(
        stack,
        "X86",
        subnets=[_given_subnet(stack)],
        security_groups=[ec2.SecurityGroup.from_security_group_id(stack, "Sg", GIVEN_GROUP)],
        architectures=[lambda_.Architecture.X86_64],
    )
    return ManagedInstances(capacity_provider=provider)


def _public_only_vpc(stack: cdk.Stack) -> ManagedInstances:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Public",
        vpc_id="vpc-0a1b2c3d4e5f6000f",
        availability_zones=[f"{REGION}a"],
        public_subnet_ids=["subnet-0a1b2c3d4e5f6000f"],
        public_subnet_route_table_ids=["rtb-0a1b2c3d4e5f6000f"],
    )
    return ManagedInstances(vpc=vpc)


def _subnets_without_groups(stack: cdk.Stack) -> ManagedInstances:
    return ManagedInstances(subnets=[_given_subnet(stack)])


INVALID = [
    (
        "nothing to run on",
        {**LMI, "managed_instances": ManagedInstances()},
        "needs capacity_provider, or vpc",
    ),
    (
        "memory below 2 GB",
        {"reserved_concurrent_executions": None, "managed_instances": _shared},
        "memory_size 1024 MB is outside 2048-32768",
    ),
    (
        "memory above 32 GB",
        {**LMI, "memory_size": 40960, "managed_instances": _shared},
        "memory_size 40960 MB is outside 2048-32768",
    ),
    (
        "less than one vCPU",
        {**LMI, "managed_instances": lambda s: _shared(s, memory_gib_per_vcpu=8)},
        "memory_size 2048 MB is less than one vCPU at memory_gib_per_vcpu 8 (8192 MB)",
    ),
    (
        "default reserved concurrency",
        {"memory_size": 2048, "managed_instances": _shared},
        "reserved_concurrent_executions must be None",
    ),
    (
        "provisioned concurrency",
        {**LMI, "provisioned_concurrency": 2, "managed_instances": _shared},
        "provisioned_concurrency must be None with managed_instances",
    ),
    (
        "max concurrency zero",
        {**LMI, "managed_instances": lambda s: _shared(s, max_concurrency=0)},
        "max_concurrency 0 is outside 1-1600",
    ),
    (
        "max concurrency too high",
        {**LMI, "managed_instances": lambda s: _shared(s, max_concurrency=1601)},
        "max_concurrency 1601 is outside 1-1600",
    ),
    (
        "memory per vCPU too low",
        {**LMI, "managed_instances": lambda s: _shared(s, memory_gib_per_vcpu=1)},
        "memory_gib_per_vcpu 1 is outside 2-8",
    ),
    (
        "max environments below three",
        {**LMI, "managed_instances": lambda s: _shared(s, max_execution_environments=2)},
        "max_execution_environments 2 is outside 3-15000",
    ),
    (
        "provider props with an existing provider",
        {**LMI, "managed_instances": lambda s: _shared(s, max_vcpu_count=24)},
        "with capacity_provider, max_vcpu_count would be ignored",
    ),
    (
        "vcpu cap too low",
        {**LMI, "managed_instances": lambda s: ManagedInstances(vpc=_vpc(s), max_vcpu_count=4)},
        "max_vcpu_count 4 is outside 12-15000",
    ),
    (
        "architecture mismatch",
        {**LMI, "managed_instances": _x86_provider},
        "runs x86_64 instances, but the function (and its image) is arm64",
    ),
    (
        "vpc without private subnets",
        {**LMI, "managed_instances": _public_only_vpc},
        "the vpc has no private subnets with egress",
    ),
    (
        "subnets without groups",
        {**LMI, "managed_instances": _subnets_without_groups},
        "subnets need security_groups",
    ),
    (
        "not a ManagedInstances",
        {**LMI, "managed_instances": {"vpc": None}},
        "managed_instances must be a ManagedInstances",
    ),
    (
        "max concurrency by hand",
        {"environment": {"AWS_LAMBDA_MAX_CONCURRENCY": "8"}},
        "AWS_LAMBDA_MAX_CONCURRENCY is set by Lambda on Managed Instances",
    ),
]


@pytest.mark.parametrize(
    ("props", "message"), [(p, m) for _, p, m in INVALID], ids=[i for i, _, _ in INVALID]
)
def test_invalid_combinations_raise_with_a_clear_message(
    build_context: Path, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="invalid BedrockStreamingFunction props") as raised:
        _build(build_context, **props)
    assert message in str(raised.value)


def test_every_managed_instances_problem_is_listed_in_one_error(build_context: Path) -> None:
    with pytest.raises(ValueError) as raised:
        _build(
            build_context,
            provisioned_concurrency=1,
            managed_instances=lambda s: _shared(s, max_concurrency=0, memory_gib_per_vcpu=9),
        )
    problems = [line for line in str(raised.value).splitlines() if line.startswith("- ")]
    assert len(problems) == 5, problems
    for fragment in (
        "max_concurrency 0",
        "memory_gib_per_vcpu 9",
        "memory_size 1024",
        "reserved_",
        "provisioned_",
    ):
        assert [fragment in p for p in problems].count(True) == 1, fragment


def test_unresolved_tokens_are_not_judged(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Tokens")
    number = cdk.CfnParameter(stack, "Number", type="Number").value_as_number
    function = BedrockStreamingFunction(
        stack,
        "Fn",
        model_ids=[NOVA_LITE],
        runtime_directory=build_context,
        memory_size=int(number),
        reserved_concurrent_executions=None,
        managed_instances=ManagedInstances(
            capacity_provider=lambda_.CapacityProvider.from_capacity_provider_arn(
                stack, "P", SHARED_PROVIDER
            ),
            max_concurrency=int(number),
            max_execution_environments=int(number),
        ),
    )
    assert function.capacity_provider is not None
