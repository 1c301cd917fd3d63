"""BedrockStreamingStack: settings read from CDK context, and the outputs a user pastes after deploy."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
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
    log_group_id = next(k for k, v in template["Resources"].items() if v["Type"] == "AWS::Logs::LogGroup")
    assert outputs["SmokeCommand"]["Value"] == {
        "Fn::Join": ["", ["python -m stream_client smoke ", url, " --log-group ", {"Ref": log_group_id}]]
    }


def test_cdk_json_keeps_the_rest_api_door_shut() -> None:
    settings = _settings(CDK_CONTEXT)
    assert {
        "restApi",
        "restApiRateLimit",
        "restApiBurstLimit",
        "restApiQuotaPerDay",
        "restApiWaf",
        "restApiExecutionLogging",
        "cognitoCallbackUrls",
    } <= set(CDK_CONTEXT)
    assert settings.rest_api.door == "none"
    assert (settings.rest_api.rate_limit, settings.rest_api.burst_limit) == (10, 20)
    assert settings.rest_api.quota_per_day == 1000
    assert settings.rest_api.web_acl() is None and settings.rest_api.logging_level() is None


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"restApi": "API-Keys"}, {"door": "api-keys"}),
        ({"restApi": " cognito "}, {"door": "cognito", "callback_urls": ("http://localhost:3000/",)}),
        ({"restApi": ""}, {"door": "none"}),
        # What -c gives: strings.
        (
            {
                "restApi": "api-keys",
                "restApiRateLimit": "2.5",
                "restApiBurstLimit": "5",
                "restApiQuotaPerDay": "50",
            },
            {"rate_limit": 2.5, "burst_limit": 5, "quota_per_day": 50},
        ),
        ({"restApiQuotaPerDay": "none"}, {"quota_per_day": None}),
        ({"restApiWaf": "CREATE"}, {"waf": "create"}),
        (
            {"restApiWaf": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/a/b"},
            {"waf": "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/a/b"},
        ),
        ({"restApiExecutionLogging": "INFO"}, {"execution_logging": "info"}),
        (
            {"cognitoCallbackUrls": "https://a.example/cb, https://b.example/cb"},
            {"callback_urls": ("https://a.example/cb", "https://b.example/cb")},
        ),
        ({"cognitoCallbackUrls": ["https://a.example/cb"]}, {"callback_urls": ("https://a.example/cb",)}),
    ],
)
def test_rest_api_context_values(context: dict[str, Any], expected: dict[str, Any]) -> None:
    settings = _settings({"modelIds": ["a.b"], **context}).rest_api
    assert {key: getattr(settings, key) for key in expected} == expected


def test_rest_api_context_becomes_the_construct_props() -> None:
    keys = _settings({"modelIds": ["a.b"], "restApi": "api-keys", "restApiQuotaPerDay": 7}).rest_api
    auth = keys.auth()
    assert auth.mode == "api-keys" and auth.quota is not None and auth.throttle is not None
    assert (auth.quota.limit, auth.quota.period) == (7, apigw.Period.DAY)
    assert (auth.throttle.rate_limit, auth.throttle.burst_limit) == (10, 20)
    assert _settings({"modelIds": ["a.b"], "restApi": "iam"}).rest_api.auth().mode == "iam"
    created = _settings({"modelIds": ["a.b"], "restApi": "cognito", "restApiWaf": "create"}).rest_api
    assert created.auth().callback_urls == ("http://localhost:3000/",) and created.auth().user_pool is None
    assert created.web_acl() is not None and created.web_acl().web_acl_arn is None  # type: ignore[union-attr]
    logging = _settings({"modelIds": ["a.b"], "restApiExecutionLogging": "error"}).rest_api
    assert logging.logging_level() == apigw.MethodLoggingLevel.ERROR


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"restApi": "public"}, "restApi must be none, api-keys, cognito or iam, got 'public'"),
        ({"restApi": True}, "restApi must be none, api-keys, cognito or iam"),
        ({"restApiRateLimit": "fast"}, "restApiRateLimit must be a number of at least 0"),
        ({"restApiBurstLimit": "2.5"}, "restApiBurstLimit must be a whole number of at least 0"),
        ({"restApiBurstLimit": -1}, "restApiBurstLimit must be a whole number of at least 0"),
        ({"restApiQuotaPerDay": 0}, 'restApiQuotaPerDay must be at least 1 or "none"'),
        ({"restApiQuotaPerDay": False}, "restApiQuotaPerDay must be a whole number"),
        ({"restApiWaf": 1}, "restApiWaf must be none, create or a web ACL ARN"),
        ({"restApiExecutionLogging": "debug"}, "restApiExecutionLogging must be off, error or info"),
        ({"cognitoCallbackUrls": [1]}, "cognitoCallbackUrls must be a list of URLs"),
    ],
)
def test_bad_rest_api_context_raises_context_error(context: dict[str, Any], message: str) -> None:
    with pytest.raises(ContextError, match=re.escape(message)):
        _settings({"modelIds": ["a.b"], **context})
