"""BedrockStreamingStack: settings read from CDK context, and the outputs a user pastes after deploy."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from stacks.bedrock_streaming_stack import ContextError, StackSettings
from tests.infra.conftest import CDK_CONTEXT, SynthesizedApp


def _settings(context: dict[str, Any]) -> StackSettings:
    return StackSettings.from_context(cdk.App(context=context).node)


def test_cdk_json_defaults_are_secure() -> None:
    settings = _settings(CDK_CONTEXT)
    assert settings.auth_type == lambda_.FunctionUrlAuthType.AWS_IAM
    assert settings.allowed_origins == ()
    assert settings.reserved_concurrency == 10
    assert len(settings.model_ids) == 2
    # The guardrail, prompt caching and embeddings keys are present and add nothing by default.
    assert {
        "guardrailId",
        "guardrailVersion",
        "guardrailStreamMode",
        "promptCaching",
        "embeddingModelIds",
    } <= set(CDK_CONTEXT)
    assert (settings.guardrail_id, settings.guardrail_version, settings.guardrail_stream_mode) == (
        None,
        None,
        "sync",
    )
    assert (settings.prompt_caching, settings.embedding_model_ids) == ("none", ())
    assert CDK_CONTEXT["notices"] is False
    assert CDK_CONTEXT["cli-telemetry"] is False


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"modelIds": "a.b, c.d"}, {"model_ids": ("a.b", "c.d")}),
        (
            {"modelIds": ["a.b"], "authType": "none", "allowedOrigins": "http://localhost:3000"},
            {"auth_type": lambda_.FunctionUrlAuthType.NONE, "allowed_origins": ("http://localhost:3000",)},
        ),
        ({"modelIds": ["a.b"], "reservedConcurrency": "none"}, {"reserved_concurrency": None}),
        ({"modelIds": ["a.b"], "reservedConcurrency": "25"}, {"reserved_concurrency": 25}),
        (
            {"modelIds": ["a.b", "c.d"], "modelAliases": {"gpt-4o": "a.b", "mini": "c.d"}},
            {"model_aliases": (("gpt-4o", "a.b"), ("mini", "c.d"))},
        ),
        (
            {"modelIds": ["a.b", "c.d"], "modelAliases": " gpt-4o = a.b ,mini=c.d,"},
            {"model_aliases": (("gpt-4o", "a.b"), ("mini", "c.d"))},
        ),
        ({"modelIds": ["a.b"], "modelAliases": {}}, {"model_aliases": ()}),
        (
            {"modelIds": ["a.b"]},
            {
                "reserved_concurrency": 10,
                "auth_type": lambda_.FunctionUrlAuthType.AWS_IAM,
                "model_aliases": (),
                "guardrail_id": None,
                "guardrail_version": None,
                "guardrail_stream_mode": "sync",
                "prompt_caching": "none",
                "embedding_model_ids": (),
            },
        ),
        # What `-c guardrailId=abc123 -c guardrailVersion=1` gives: strings.
        (
            {"modelIds": ["a.b"], "guardrailId": "abc123", "guardrailVersion": "1"},
            {"guardrail_id": "abc123", "guardrail_version": "1", "guardrail_stream_mode": "sync"},
        ),
        (
            {
                "modelIds": ["a.b"],
                "guardrailId": " abc123 ",
                "guardrailVersion": 3,
                "guardrailStreamMode": "ASYNC",
            },
            {"guardrail_id": "abc123", "guardrail_version": "3", "guardrail_stream_mode": "async"},
        ),
        (
            {"modelIds": ["a.b"], "guardrailId": "abc123", "guardrailVersion": "draft"},
            {"guardrail_version": "DRAFT"},
        ),
        (
            {"modelIds": ["a.b"], "guardrailId": "", "guardrailVersion": "", "guardrailStreamMode": ""},
            {"guardrail_id": None, "guardrail_version": None, "guardrail_stream_mode": "sync"},
        ),
        ({"modelIds": ["a.b"], "promptCaching": "Messages"}, {"prompt_caching": "messages"}),
        ({"modelIds": ["a.b"], "promptCaching": ""}, {"prompt_caching": "none"}),
        (
            {"modelIds": ["a.b"], "embeddingModelIds": "amazon.titan-embed-text-v2:0, cohere.embed-v4:0"},
            {"embedding_model_ids": ("amazon.titan-embed-text-v2:0", "cohere.embed-v4:0")},
        ),
        (
            {"modelIds": ["a.b"], "embeddingModelIds": ["cohere.embed-english-v3"]},
            {"embedding_model_ids": ("cohere.embed-english-v3",)},
        ),
    ],
)
def test_context_values_from_cdk_json_or_command_line(
    context: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings = _settings(context)
    assert {key: getattr(settings, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"modelIds": ["a.b"], "authType": "PUBLIC"}, "authType must be AWS_IAM or NONE"),
        ({"modelIds": [1, 2]}, "modelIds must be a list of strings"),
        ({"modelIds": ["a.b"], "reservedConcurrency": "ten"}, "reservedConcurrency must be an integer"),
        ({"modelIds": ["a.b"], "reservedConcurrency": True}, "reservedConcurrency must be an integer"),
        ({"modelIds": ["a.b"], "modelAliases": ["gpt=a.b"]}, "modelAliases must be an object"),
        ({"modelIds": ["a.b"], "modelAliases": {"gpt": 1}}, "modelAliases must be an object"),
        ({"modelIds": ["a.b"], "modelAliases": "gpt"}, "entries must be alias=model-id, got 'gpt'"),
        ({"modelIds": ["a.b"], "modelAliases": "=a.b"}, "entries must be alias=model-id"),
        ({"modelIds": ["a.b"], "modelAliases": "g=a.b,g=a.b"}, "names the alias 'g' twice"),
        ({"modelIds": ["a.b"], "guardrailId": "abc123"}, "guardrailId and guardrailVersion go together"),
        ({"modelIds": ["a.b"], "guardrailVersion": "1"}, "guardrailId and guardrailVersion go together"),
        ({"modelIds": ["a.b"], "guardrailId": 123, "guardrailVersion": "1"}, "guardrailId must be a string"),
        (
            {"modelIds": ["a.b"], "guardrailId": "a", "guardrailVersion": True},
            "guardrailVersion must be a string",
        ),
        (
            {"modelIds": ["a.b"], "guardrailId": "a", "guardrailVersion": "1", "guardrailStreamMode": "fast"},
            "guardrailStreamMode must be sync or async, got 'fast'",
        ),
        (
            {"modelIds": ["a.b"], "guardrailStreamMode": "async"},
            "guardrailStreamMode=async needs guardrailId",
        ),
        (
            {"modelIds": ["a.b"], "promptCaching": "tools"},
            "promptCaching must be none, system, messages or all, got 'tools'",
        ),
        ({"modelIds": ["a.b"], "promptCaching": False}, "promptCaching must be none, system"),
        ({"modelIds": ["a.b"], "embeddingModelIds": [1]}, "embeddingModelIds must be a list of strings"),
    ],
)
def test_bad_context_raises_context_error(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=message):
        _settings(context)


def test_outputs_url_name_models_openai_base_url_and_a_client_command(
    synthesized_app: SynthesizedApp,
) -> None:
    template = synthesized_app.template()
    outputs = template["Outputs"]
    url_id = next(k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Url")
    function_id = next(k for k, v in template["Resources"].items() if v["Type"] == "AWS::Lambda::Function")
    url = {"Fn::GetAtt": [url_id, "FunctionUrl"]}
    assert outputs["FunctionUrl"]["Value"] == url
    assert outputs["FunctionName"]["Value"] == {"Ref": function_id}
    assert outputs["ModelIds"]["Value"] == ",".join(CDK_CONTEXT["modelIds"])
    # The URL ends with "/": the OpenAI SDK's base_url is https://<id>.lambda-url.<region>.on.aws/v1
    assert outputs["OpenAIBaseUrl"]["Value"] == {"Fn::Join": ["", [url, "v1"]]}
    assert outputs["StreamClientCommand"]["Value"] == {
        "Fn::Join": ["", ["python -m stream_client ", url, ' "Hello"']]
    }
