"""Guardrail, prompt caching and embedding models: environment, exact IAM, synth-time checks, nag, lint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrock as bedrock
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_stack import BedrockStreamingStack, StackSettings
from tests.infra.conftest import CDK_CONTEXT, policy_statements, render_pseudo_parameters
from tests.infra.test_lint import TOOL_TIMEOUT_S, _checkov, _tool

ACCOUNT, REGION = "111122223333", "us-east-1"
NOVA_LITE = "amazon.nova-lite-v1:0"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
MODELS = [HAIKU_PROFILE, NOVA_LITE]
GUARDRAIL_ID = "abc123xyz"
GUARDRAIL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/gr0123456789"
TITAN_V2 = "amazon.titan-embed-text-v2:0"
COHERE_EN = "cohere.embed-english-v3"
COHERE_MULTI = "cohere.embed-multilingual-v3"
COHERE_V4 = "cohere.embed-v4:0"
EMBEDDINGS = [TITAN_V2, COHERE_EN, COHERE_MULTI, COHERE_V4]
NEW_VARIABLES = {
    "GUARDRAIL_ID",
    "GUARDRAIL_VERSION",
    "GUARDRAIL_STREAM_MODE",
    "PROMPT_CACHING",
    "EMBEDDING_MODEL_IDS",
}
# What `cdk deploy -c key=value` hands the app: every value a string.
COMMAND_LINE_CONTEXT = {
    "guardrailId": "abc123",
    "guardrailVersion": "2",
    "guardrailStreamMode": "ASYNC",
    "promptCaching": "System",
    "embeddingModelIds": f"{TITAN_V2}, {COHERE_MULTI}",
}
LINTED = ("everything", "guarded_arn", "tokens", "from_context")


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal Docker build context: these tests are about the construct, not the runtime's files."""
    directory = tmp_path_factory.mktemp("runtime")
    (directory / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return directory


@pytest.fixture(scope="module")
def synthesized(build_context: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One app, one synth, the AwsSolutions pack on: a plain function and one per new prop (and all of
    them together), CDK tokens from a guardrail built in the app, and the stack read from -c strings."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(context={**CDK_CONTEXT, **COMMAND_LINE_CONTEXT}, outdir=str(outdir))
    plain: dict[str, Any] = {"model_ids": MODELS, "runtime_directory": build_context}
    variants: dict[str, tuple[dict[str, Any], cdk.Environment | None]] = {
        "plain": ({}, None),
        "guarded": ({"guardrail_id": GUARDRAIL_ID, "guardrail_version": "1"}, None),
        "guarded_arn": (
            {"guardrail_id": GUARDRAIL_ARN, "guardrail_version": "DRAFT", "guardrail_stream_mode": "async"},
            None,
        ),
        "caching": ({"prompt_caching": "messages"}, None),
        "embeddings": ({"embedding_model_ids": EMBEDDINGS}, None),
        "everything": (
            {
                "guardrail_id": GUARDRAIL_ID,
                "guardrail_version": "12",
                "guardrail_stream_mode": "async",
                "prompt_caching": "all",
                "embedding_model_ids": [TITAN_V2],
            },
            None,
        ),
    }
    stacks: dict[str, cdk.Stack] = {}
    constructs: dict[str, BedrockStreamingFunction] = {}
    for name, (props, env) in variants.items():
        stacks[name] = cdk.Stack(app, name.title().replace("_", ""), env=env)
        constructs[name] = BedrockStreamingFunction(stacks[name], "Fn", **plain, **props)

    tokens = stacks["tokens"] = cdk.Stack(app, "Tokens")
    guardrail = bedrock.CfnGuardrail(
        tokens,
        "Guardrail",
        name="chat-guardrail",
        blocked_input_messaging="Sorry, I cannot answer that.",
        blocked_outputs_messaging="Sorry, I cannot answer that.",
        content_policy_config=bedrock.CfnGuardrail.ContentPolicyConfigProperty(
            filters_config=[
                bedrock.CfnGuardrail.ContentFilterConfigProperty(
                    type="HATE", input_strength="HIGH", output_strength="HIGH"
                )
            ]
        ),
    )
    version = bedrock.CfnGuardrailVersion(
        tokens, "GuardrailVersion", guardrail_identifier=guardrail.attr_guardrail_id
    )
    embedding = cdk.CfnParameter(tokens, "EmbeddingModel", default=TITAN_V2).value_as_string
    constructs["tokens"] = BedrockStreamingFunction(
        tokens,
        "Fn",
        **plain,
        guardrail_id=guardrail.attr_guardrail_arn,
        guardrail_version=version.attr_version,
        embedding_model_ids=[embedding, COHERE_V4],
    )
    stacks["from_context"] = BedrockStreamingStack(
        app,
        "FromContext",
        settings=StackSettings.from_context(app.node),
        function_options={"runtime_directory": build_context},
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    app.synth()  # raises ValidationFailed on any unacknowledged AwsSolutions finding
    return {
        "templates": {name: Template.from_stack(stack) for name, stack in stacks.items()},
        "paths": {name: outdir / f"{stack.stack_name}.template.json" for name, stack in stacks.items()},
        "report": json.loads((outdir / "validation-report.json").read_text()),
        "constructs": constructs,
        "stacks": stacks,
    }


def _template(synthesized: dict[str, Any], name: str) -> Template:
    template: Template = synthesized["templates"][name]
    return template


def _variables(synthesized: dict[str, Any], name: str) -> dict[str, Any]:
    (function,) = _template(synthesized, name).find_resources("AWS::Lambda::Function").values()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _statements(synthesized: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [render_pseudo_parameters(s) for s in policy_statements(_template(synthesized, name).to_json())]


def _added_statements(synthesized: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The statements of ``name`` beyond the plain function's, after checking that those are all kept."""
    plain, other = _statements(synthesized, "plain"), _statements(synthesized, name)
    assert [s for s in other if s in plain] == plain
    return [s for s in other if s not in plain]


def _foundation_arn(model_id: str) -> str:
    return f"arn:aws:bedrock:<region>::foundation-model/{model_id}"


def test_the_plain_function_has_none_of_the_new_variables_or_actions(synthesized: dict[str, Any]) -> None:
    assert NEW_VARIABLES.isdisjoint(_variables(synthesized, "plain"))
    actions = json.dumps([s["Action"] for s in _statements(synthesized, "plain")])
    assert "ApplyGuardrail" not in actions and '"bedrock:InvokeModel"' not in actions
    assert synthesized["constructs"]["plain"].guardrail_arn is None


def test_a_guardrail_id_adds_exactly_one_statement_apply_guardrail_on_its_arn(
    synthesized: dict[str, Any],
) -> None:
    assert _added_statements(synthesized, "guarded") == [
        {
            "Action": "bedrock:ApplyGuardrail",
            "Effect": "Allow",
            "Resource": f"arn:aws:bedrock:<region>:<account>:guardrail/{GUARDRAIL_ID}",
        }
    ]
    construct = synthesized["constructs"]["guarded"]
    arn = render_pseudo_parameters(synthesized["stacks"]["guarded"].resolve(construct.guardrail_arn))
    assert arn == f"arn:aws:bedrock:<region>:<account>:guardrail/{GUARDRAIL_ID}"


def test_a_guardrail_arn_is_granted_as_given(synthesized: dict[str, Any]) -> None:
    assert _added_statements(synthesized, "guarded_arn") == [
        {"Action": "bedrock:ApplyGuardrail", "Effect": "Allow", "Resource": GUARDRAIL_ARN}
    ]
    assert synthesized["constructs"]["guarded_arn"].guardrail_arn == GUARDRAIL_ARN


def test_a_guardrail_sets_its_three_variables_and_nothing_else(synthesized: dict[str, Any]) -> None:
    plain = _variables(synthesized, "plain")
    guarded, by_arn = _variables(synthesized, "guarded"), _variables(synthesized, "guarded_arn")
    assert {k: v for k, v in guarded.items() if k not in plain} == {
        "GUARDRAIL_ID": GUARDRAIL_ID,
        "GUARDRAIL_VERSION": "1",
        "GUARDRAIL_STREAM_MODE": "sync",
    }
    assert {k: v for k, v in by_arn.items() if k not in plain} == {
        "GUARDRAIL_ID": GUARDRAIL_ARN,
        "GUARDRAIL_VERSION": "DRAFT",
        "GUARDRAIL_STREAM_MODE": "async",
    }
    assert {k: v for k, v in guarded.items() if k in plain} == plain


def test_prompt_caching_sets_its_variable_and_grants_nothing(synthesized: dict[str, Any]) -> None:
    plain, caching = _variables(synthesized, "plain"), _variables(synthesized, "caching")
    assert caching == {**plain, "PROMPT_CACHING": "messages"}
    assert _added_statements(synthesized, "caching") == []
    assert synthesized["constructs"]["caching"].prompt_caching == "messages"


def test_embedding_models_get_invoke_model_on_exactly_their_foundation_arns(
    synthesized: dict[str, Any],
) -> None:
    (added,) = _added_statements(synthesized, "embeddings")
    assert added["Action"] == "bedrock:InvokeModel"
    assert sorted(added["Resource"]) == sorted(_foundation_arn(model_id) for model_id in EMBEDDINGS)
    assert set(added) == {"Action", "Effect", "Resource"}  # no condition, nothing else
    assert _variables(synthesized, "embeddings") == {
        **_variables(synthesized, "plain"),
        "EMBEDDING_MODEL_IDS": ",".join(EMBEDDINGS),
    }
    assert synthesized["constructs"]["embeddings"].embedding_model_ids == tuple(EMBEDDINGS)


def test_all_three_together_add_one_statement_each(synthesized: dict[str, Any]) -> None:
    added = sorted(_added_statements(synthesized, "everything"), key=lambda s: str(s["Action"]))
    assert added == [
        {
            "Action": "bedrock:ApplyGuardrail",
            "Effect": "Allow",
            "Resource": f"arn:aws:bedrock:<region>:<account>:guardrail/{GUARDRAIL_ID}",
        },
        {"Action": "bedrock:InvokeModel", "Effect": "Allow", "Resource": _foundation_arn(TITAN_V2)},
    ]
    variables = _variables(synthesized, "everything")
    assert {k: variables[k] for k in NEW_VARIABLES} == {
        "GUARDRAIL_ID": GUARDRAIL_ID,
        "GUARDRAIL_VERSION": "12",
        "GUARDRAIL_STREAM_MODE": "async",
        "PROMPT_CACHING": "all",
        "EMBEDDING_MODEL_IDS": TITAN_V2,
    }


def test_tokens_are_used_as_the_guardrail_arn_version_and_model_id(synthesized: dict[str, Any]) -> None:
    template = _template(synthesized, "tokens")
    (guardrail_id,) = template.find_resources("AWS::Bedrock::Guardrail")
    (version_id,) = template.find_resources("AWS::Bedrock::GuardrailVersion")
    statements = _statements(synthesized, "tokens")
    apply = [s for s in statements if s["Action"] == "bedrock:ApplyGuardrail"]
    assert apply == [
        {
            "Action": "bedrock:ApplyGuardrail",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]},
        }
    ]
    (invoke,) = [s for s in statements if s["Action"] == "bedrock:InvokeModel"]
    assert invoke["Resource"] == [
        {"Fn::Join": ["", ["arn:aws:bedrock:<region>::foundation-model/", {"Ref": "EmbeddingModel"}]]},
        _foundation_arn(COHERE_V4),
    ]
    variables = _variables(synthesized, "tokens")
    assert variables["GUARDRAIL_ID"] == {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]}
    assert variables["GUARDRAIL_VERSION"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert variables["EMBEDDING_MODEL_IDS"] == {
        "Fn::Join": ["", [{"Ref": "EmbeddingModel"}, f",{COHERE_V4}"]]
    }


def test_command_line_context_strings_reach_the_stacks_function(synthesized: dict[str, Any]) -> None:
    variables = _variables(synthesized, "from_context")
    assert {k: variables[k] for k in NEW_VARIABLES} == {
        "GUARDRAIL_ID": "abc123",
        "GUARDRAIL_VERSION": "2",
        "GUARDRAIL_STREAM_MODE": "async",
        "PROMPT_CACHING": "system",
        "EMBEDDING_MODEL_IDS": f"{TITAN_V2},{COHERE_MULTI}",
    }
    statements = _statements(synthesized, "from_context")
    assert [s["Resource"] for s in statements if s["Action"] == "bedrock:ApplyGuardrail"] == [
        "arn:aws:bedrock:<region>:<account>:guardrail/abc123"
    ]
    (invoke,) = [s for s in statements if s["Action"] == "bedrock:InvokeModel"]
    assert invoke["Resource"] == [_foundation_arn(TITAN_V2), _foundation_arn(COHERE_MULTI)]


def test_nag_is_clean_and_nothing_new_is_acknowledged(synthesized: dict[str, Any]) -> None:
    violations = [v for plugin in synthesized["report"]["pluginReports"] for v in plugin["violations"]]
    assert violations == []

    def acknowledged(name: str) -> list[str]:
        return [
            entry["id"]
            for resource in _template(synthesized, name).to_json()["Resources"].values()
            for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        ]

    # Only the us. profile's Region wildcard, which the plain function has too.
    assert len(acknowledged("plain")) == 1
    for name in ("guarded", "guarded_arn", "caching", "embeddings", "everything", "tokens", "from_context"):
        assert acknowledged(name) == acknowledged("plain"), name


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


def test_checkov_passes_with_the_plain_functions_skips(synthesized: dict[str, Any]) -> None:
    reports = _checkov(*(synthesized["paths"][name] for name in ("plain", *LINTED)))
    failed = {(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]}
    assert failed == set()
    skipped = {
        (c["check_id"], c["file_path"].rsplit("/", 1)[-1])
        for r in reports
        for c in r["results"]["skipped_checks"]
    }
    by_file: dict[str, set[str]] = {}
    for check_id, file_name in skipped:
        by_file.setdefault(file_name, set()).add(check_id)
    plain = by_file.pop("Plain.template.json")
    assert plain == {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173", "CKV_AWS_158"}
    assert by_file == {synthesized["paths"][name].name: plain for name in LINTED}


VALID: dict[str, Any] = {"model_ids": [NOVA_LITE]}

INVALID_PROPS = [
    ("id without version", {"guardrail_id": GUARDRAIL_ID}, "guardrail_id and guardrail_version go together"),
    ("version without id", {"guardrail_version": "1"}, "guardrail_id and guardrail_version go together"),
    (
        "upper-case id",
        {"guardrail_id": "ABC123", "guardrail_version": "1"},
        "guardrail_id 'ABC123' is neither a guardrail id",
    ),
    ("id with a dash", {"guardrail_id": "abc-123", "guardrail_version": "1"}, "'abc-123' is neither"),
    (
        "ARN of something else",
        {"guardrail_id": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/abc123", "guardrail_version": "1"},
        "is neither a guardrail id",
    ),
    ("empty id", {"guardrail_id": "", "guardrail_version": "1"}, "guardrail_id must not be empty"),
    ("id not a string", {"guardrail_id": 123, "guardrail_version": "1"}, "guardrail_id must be a string"),
    (
        "version zero",
        {"guardrail_id": GUARDRAIL_ID, "guardrail_version": "0"},
        "guardrail_version '0' must be 'DRAFT' or a version number",
    ),
    (
        "version draft lower-case",
        {"guardrail_id": GUARDRAIL_ID, "guardrail_version": "draft"},
        "'draft' must",
    ),
    ("version dotted", {"guardrail_id": GUARDRAIL_ID, "guardrail_version": "1.0"}, "'1.0' must"),
    ("version a number", {"guardrail_id": GUARDRAIL_ID, "guardrail_version": 1}, "guardrail_version 1 must"),
    (
        "unknown stream mode",
        {"guardrail_id": GUARDRAIL_ID, "guardrail_version": "1", "guardrail_stream_mode": "fast"},
        "guardrail_stream_mode 'fast' must be 'sync' or 'async'",
    ),
    (
        "async without guardrail",
        {"guardrail_stream_mode": "async"},
        "guardrail_stream_mode 'async' needs guardrail_id and guardrail_version",
    ),
    (
        "unknown prompt caching",
        {"prompt_caching": "tools"},
        "prompt_caching 'tools' must be one of 'none', 'system', 'messages', 'all'",
    ),
    ("prompt caching is case-sensitive", {"prompt_caching": "System"}, "prompt_caching 'System'"),
    ("embeddings one string", {"embedding_model_ids": TITAN_V2}, "embedding_model_ids must be a list"),
    ("embedding duplicate", {"embedding_model_ids": [TITAN_V2, TITAN_V2]}, "listed twice"),
    ("embedding empty", {"embedding_model_ids": [" "]}, "embedding model ids must not be empty"),
    (
        "embedding not an embedding model",
        {"embedding_model_ids": [NOVA_LITE]},
        f"embedding model id {NOVA_LITE!r} is not a Titan Text Embeddings or Cohere Embed model",
    ),
    (
        "embedding through a profile",
        {"embedding_model_ids": ["us.cohere.embed-v4:0"]},
        "'us.cohere.embed-v4:0' is an inference profile or ARN",
    ),
    (
        "embedding ARN",
        {"embedding_model_ids": [f"arn:aws:bedrock:{REGION}::foundation-model/{COHERE_V4}"]},
        "is an inference profile or ARN",
    ),
    (
        "embedding ids joined",
        {"embedding_model_ids": [f"{TITAN_V2},{COHERE_V4}"]},
        "is malformed: embeddings are called by foundation model id",
    ),
    (
        "guardrail through environment",
        {"environment": {"GUARDRAIL_ID": "x"}},
        "GUARDRAIL_ID is set from its prop",
    ),
    ("caching through environment", {"environment": {"PROMPT_CACHING": "all"}}, "PROMPT_CACHING is set from"),
    (
        "embeddings through environment",
        {"environment": {"EMBEDDING_MODEL_IDS": TITAN_V2}},
        "EMBEDDING_MODEL_IDS is set from its prop",
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


def test_every_new_problem_is_listed_in_one_error(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError) as raised:
        BedrockStreamingFunction(
            stack,
            "Fn",
            model_ids=[NOVA_LITE],
            guardrail_id="Bad",
            guardrail_stream_mode="later",  # type: ignore[arg-type]
            prompt_caching="everything",  # type: ignore[arg-type]
            embedding_model_ids=[NOVA_LITE],
            runtime_directory=build_context,
        )
    problems = [line for line in str(raised.value).splitlines() if line.startswith("- ")]
    assert len(problems) == 5, problems
    for fragment in (
        "'Bad' is neither",
        "go together",
        "'later' must be",
        "'everything' must",
        "not a Titan",
    ):
        assert [fragment in problem for problem in problems].count(True) == 1, fragment
