"""model_aliases / context modelAliases: MODEL_ALIASES in the function, synth-time checks, IAM unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_stack import BedrockStreamingStack, StackSettings
from tests.infra.conftest import CDK_CONTEXT, policy_statements

NOVA_LITE = "amazon.nova-lite-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
ALIASES = {"gpt-4o-mini": NOVA_LITE, "gpt-4o": HAIKU, "fast": NOVA_LITE}
ALIASES_ENV = f"gpt-4o-mini={NOVA_LITE},gpt-4o={HAIKU},fast={NOVA_LITE}"


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal Docker build context: these tests are about the construct, not the runtime's files."""
    directory = tmp_path_factory.mktemp("runtime")
    (directory / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return directory


@pytest.fixture(scope="module")
def templates(build_context: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Template]:
    """One app, one synth: the same models without and with aliases, a token model id, and the stack
    configured from context (the string form of modelAliases, as ``-c modelAliases=...`` gives it)."""
    context = {**CDK_CONTEXT, "modelIds": [HAIKU, NOVA_LITE], "modelAliases": ALIASES_ENV}
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    plain = cdk.Stack(app, "Plain")
    BedrockStreamingFunction(plain, "Fn", model_ids=[HAIKU, NOVA_LITE], runtime_directory=build_context)
    aliased = cdk.Stack(app, "Aliased")
    BedrockStreamingFunction(
        aliased, "Fn", model_ids=[HAIKU, NOVA_LITE], model_aliases=ALIASES, runtime_directory=build_context
    )
    tokens = cdk.Stack(app, "Tokens")
    arn = cdk.CfnParameter(tokens, "ProfileArn").value_as_string
    alias = cdk.CfnParameter(tokens, "AliasName").value_as_string
    # A target that is a token, a literal target beside a token id, and an alias that is a token:
    # none can be judged at synth, so none is refused.
    BedrockStreamingFunction(
        tokens,
        "Fn",
        model_ids=[arn],
        model_aliases={"mine": arn, "other": NOVA_LITE, alias: arn},
        runtime_directory=build_context,
    )
    from_context = BedrockStreamingStack(
        app,
        "FromContext",
        settings=StackSettings.from_context(app.node),
        function_options={"runtime_directory": build_context},
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    app.synth()
    return {
        name: Template.from_stack(stack)
        for name, stack in {
            "plain": plain,
            "aliased": aliased,
            "tokens": tokens,
            "from_context": from_context,
        }.items()
    }


def _variables(template: Template) -> dict[str, Any]:
    (function,) = template.find_resources("AWS::Lambda::Function").values()
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_aliases_become_model_aliases_in_their_order(templates: dict[str, Template]) -> None:
    variables = _variables(templates["aliased"])
    assert variables["MODEL_ALIASES"] == ALIASES_ENV
    assert variables["MODEL_IDS"] == f"{HAIKU},{NOVA_LITE}"


def test_without_aliases_there_is_no_model_aliases_variable(templates: dict[str, Template]) -> None:
    plain = _variables(templates["plain"])
    assert "MODEL_ALIASES" not in plain
    # Aliases add that one variable and change nothing else in the function's environment.
    assert {k: v for k, v in _variables(templates["aliased"]).items() if k != "MODEL_ALIASES"} == plain


def test_aliases_grant_nothing_more(templates: dict[str, Template]) -> None:
    def bedrock(key: str) -> list[dict[str, Any]]:
        return [s for s in policy_statements(templates[key].to_json()) if "bedrock" in json.dumps(s)]

    aliased = bedrock("aliased")
    assert aliased == bedrock("plain")
    assert {json.dumps(s["Action"]) for s in aliased} == {json.dumps("bedrock:InvokeModelWithResponseStream")}
    assert "gpt-4o" not in json.dumps(templates["aliased"].find_resources("AWS::IAM::Policy"))


def test_tokens_are_not_judged_and_reach_the_variable(templates: dict[str, Template]) -> None:
    value = _variables(templates["tokens"])["MODEL_ALIASES"]
    text = json.dumps(value)
    assert {"Ref": "ProfileArn"} in value["Fn::Join"][1] and {"Ref": "AliasName"} in value["Fn::Join"][1]
    assert f"other={NOVA_LITE}" in text and "mine=" in text


def test_context_aliases_reach_the_stacks_function(templates: dict[str, Template]) -> None:
    assert _variables(templates["from_context"])["MODEL_ALIASES"] == ALIASES_ENV
    templates["from_context"].has_output(
        "OpenAIBaseUrl",
        {"Value": {"Fn::Join": ["", [{"Fn::GetAtt": [Match.any_value(), "FunctionUrl"]}, "v1"]]}},
    )


INVALID_ALIASES = [
    (
        "target not listed",
        {"gpt": "amazon.nova-pro-v1:0"},
        "'gpt' points to 'amazon.nova-pro-v1:0', which is not in model_ids",
    ),
    ("alias is a model id", {HAIKU: NOVA_LITE}, f"model alias {HAIKU!r} is already a model id"),
    ("empty alias", {"": NOVA_LITE}, f"a model alias for {NOVA_LITE!r} is empty"),
    ("blank alias", {"  ": NOVA_LITE}, "is empty"),
    ("comma", {"a,b": NOVA_LITE}, "model alias 'a,b' must not contain ',' or '='"),
    ("equals", {"a=b": NOVA_LITE}, "model alias 'a=b' must not contain ',' or '='"),
    ("padded", {" gpt": NOVA_LITE}, "model alias ' gpt' must not contain ',' or '=' nor begin or end"),
    ("not a mapping", "gpt=amazon.nova-lite-v1:0", "model_aliases must be a mapping"),
    ("not strings", {"gpt": 1}, "alias and model id must be strings"),
]


@pytest.mark.parametrize(
    ("aliases", "message"),
    [(a, m) for _, a, m in INVALID_ALIASES],
    ids=[case_id for case_id, _, _ in INVALID_ALIASES],
)
def test_invalid_aliases_raise(build_context: Path, aliases: Any, message: str) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError, match="invalid BedrockStreamingFunction props") as raised:
        BedrockStreamingFunction(
            stack, "Fn", model_ids=[HAIKU, NOVA_LITE], model_aliases=aliases, runtime_directory=build_context
        )
    assert message in str(raised.value)


def test_every_alias_problem_is_listed_in_one_error(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError) as raised:
        BedrockStreamingFunction(
            stack,
            "Fn",
            model_ids=[NOVA_LITE, "bad"],
            model_aliases={
                "ok": NOVA_LITE,
                "x": "amazon.nova-pro-v1:0",
                NOVA_LITE: NOVA_LITE,
                "a=b": NOVA_LITE,
            },
            runtime_directory=build_context,
        )
    problems = [line for line in str(raised.value).splitlines() if line.startswith("- ")]
    assert len(problems) == 4, problems
    assert "'bad' is neither" in problems[0]
    assert ["'x' points to" in p for p in problems[1:]].count(True) == 1
    assert ["is already a model id" in p for p in problems[1:]].count(True) == 1
    assert ["'a=b' must not contain" in p for p in problems[1:]].count(True) == 1


def test_model_aliases_cannot_be_set_through_environment(build_context: Path) -> None:
    stack = cdk.Stack(cdk.App(), "Invalid")
    with pytest.raises(ValueError, match="environment variable MODEL_ALIASES is set from its prop"):
        BedrockStreamingFunction(
            stack,
            "Fn",
            model_ids=[NOVA_LITE],
            environment={"MODEL_ALIASES": f"gpt={NOVA_LITE}"},
            runtime_directory=build_context,
        )
