"""The stack with `-c restApi=api-keys`: the streaming REST API, key authorizer, plan, key, errors, logs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import (
    SynthesizedApp,
    policy_statements,
    render_pseudo_parameters,
    resources_of_type,
)
from tests.infra.rest_api_apps import API_KEYS, synthesize

# The shared contract's error shape, written out here rather than built by the code under test.
EXPECTED_GATEWAY_RESPONSES = {
    "UNAUTHORIZED": ("401", "unauthorized"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "INVALID_API_KEY": ("403", "invalid_api_key"),
    "MISSING_AUTHENTICATION_TOKEN": ("403", "missing_authentication_token"),
    "THROTTLED": ("429", "throttled"),
    "QUOTA_EXCEEDED": ("429", "quota_exceeded"),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
    "INTEGRATION_TIMEOUT": ("504", "integration_timeout"),
    "DEFAULT_4XX": (None, "bad_request"),
    "DEFAULT_5XX": (None, "gateway_error"),
}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    yield synthesize(API_KEYS, tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="module")
def template(synthesized: SynthesizedApp) -> dict[str, Any]:
    return synthesized.template()


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def _streaming_function_id(template: dict[str, Any]) -> str:
    return next(
        key
        for key, resource in resources_of_type(template, "AWS::Lambda::Function").items()
        if "ImageUri" in resource["Properties"]["Code"]
    )


def _any_methods(template: dict[str, Any]) -> list[dict[str, Any]]:
    methods = resources_of_type(template, "AWS::ApiGateway::Method").values()
    return [method["Properties"] for method in methods if method["Properties"]["HttpMethod"] == "ANY"]


def test_a_regional_api_whose_key_source_is_the_authorizer(template: dict[str, Any]) -> None:
    _, api = _one(template, "AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    assert "Endpoint" not in "".join(template["Outputs"])  # RestApi's own output was removed


def test_any_on_root_and_proxy_stream_from_the_function_with_its_timeout(template: dict[str, Any]) -> None:
    function_id = _streaming_function_id(template)
    timeout_s = template["Resources"][function_id]["Properties"]["Timeout"]
    methods = _any_methods(template)
    api_id, _ = _one(template, "AWS::ApiGateway::RestApi")
    proxy_id, proxy = _one(template, "AWS::ApiGateway::Resource")
    assert proxy["Properties"]["PathPart"] == "{proxy+}"
    assert sorted(json.dumps(m["ResourceId"]) for m in methods) == sorted(
        [json.dumps({"Fn::GetAtt": [api_id, "RootResourceId"]}), json.dumps({"Ref": proxy_id})]
    )
    for method in methods:
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["IntegrationHttpMethod"] == "POST"
        assert integration["ResponseTransferMode"] == "STREAM"
        assert integration["TimeoutInMillis"] == timeout_s * 1000 == 300_000
        uri = render_pseudo_parameters(integration["Uri"])["Fn::Join"][1]
        assert uri == [
            "arn:aws:apigateway:<region>:lambda:path/2021-11-15/functions/",
            {"Fn::GetAtt": [function_id, "Arn"]},
            "/response-streaming-invocations",
        ]
    assert "OPTIONS" not in {
        m["Properties"]["HttpMethod"] for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
    }  # no allowedOrigins, no preflight


def test_every_method_needs_the_token_authorizer_and_an_api_key(template: dict[str, Any]) -> None:
    authorizer_id, authorizer = _one(template, "AWS::ApiGateway::Authorizer")
    properties = authorizer["Properties"]
    assert properties["Type"] == "TOKEN"
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    assert properties["AuthorizerResultTtlInSeconds"] == 300
    for method in _any_methods(template):
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True


def test_the_authorizer_is_a_python_zip_of_the_authorizer_folder_only(
    template: dict[str, Any], synthesized: SynthesizedApp
) -> None:
    _, authorizer = _one(template, "AWS::ApiGateway::Authorizer")
    function_id = authorizer["Properties"]["AuthorizerUri"]["Fn::Join"][1][-2]["Fn::GetAtt"][0]
    function = template["Resources"][function_id]["Properties"]
    assert (function["Runtime"], function["Handler"]) == ("python3.12", "api_key_authorizer.handler")
    assert function["Code"]["S3Key"].endswith(".zip")
    digest = function["Code"]["S3Key"].removesuffix(".zip")
    staged = synthesized.outdir / f"asset.{digest}"
    files = sorted(str(path.relative_to(staged)) for path in staged.rglob("*"))
    assert files == ["__init__.py", "api_key_authorizer.py"]
    assert "Environment" not in function  # nothing configured, nothing secret


def test_the_authorizer_role_writes_its_own_logs_and_nothing_else(template: dict[str, Any]) -> None:
    _, authorizer = _one(template, "AWS::ApiGateway::Authorizer")
    function_id = authorizer["Properties"]["AuthorizerUri"]["Fn::Join"][1][-2]["Fn::GetAtt"][0]
    function = template["Resources"][function_id]["Properties"]
    role_id = function["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30
    statements = [
        statement
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
        }
    ]


def test_api_gateway_may_invoke_the_function_only_through_this_api(template: dict[str, Any]) -> None:
    function_id = _streaming_function_id(template)
    api_id, _ = _one(template, "AWS::ApiGateway::RestApi")
    permissions = [
        p["Properties"]
        for p in resources_of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    sources = [render_pseudo_parameters(p["SourceArn"]) for p in permissions]
    assert {p["Action"] for p in permissions} == {"lambda:InvokeFunction"}
    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    assert len(sources) == 2  # ANY / and ANY /{proxy+}; no test-invoke-stage permission
    for source in sources:
        parts = source["Fn::Join"][1]
        assert parts[0] == "arn:aws:execute-api:<region>:<account>:" and parts[1] == {"Ref": api_id}
        assert parts[-1] in {"/*/", "/*/*"}


def test_the_usage_plan_throttles_and_quotas_each_key_on_the_stage(template: dict[str, Any]) -> None:
    plan_id, plan = _one(template, "AWS::ApiGateway::UsagePlan")
    stage_id, _ = _one(template, "AWS::ApiGateway::Stage")
    api_id, _ = _one(template, "AWS::ApiGateway::RestApi")
    properties = plan["Properties"]
    assert properties["Throttle"] == {"RateLimit": 10, "BurstLimit": 20}
    assert properties["Quota"] == {"Limit": 1000, "Period": "DAY"}
    assert [(s["ApiId"], s["Stage"]) for s in properties["ApiStages"]] == [
        ({"Ref": api_id}, {"Ref": stage_id})
    ]
    key_id, _ = _one(template, "AWS::ApiGateway::ApiKey")
    _, plan_key = _one(template, "AWS::ApiGateway::UsagePlanKey")
    assert plan_key["Properties"] == {
        "KeyId": {"Ref": key_id},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": plan_id},
    }


def test_the_key_value_is_generated_by_api_gateway_and_never_in_the_template(
    template: dict[str, Any],
) -> None:
    key_id, key = _one(template, "AWS::ApiGateway::ApiKey")
    assert "Value" not in key["Properties"] and key["Properties"]["Enabled"] is True
    assert template["Outputs"]["RestApiKeyId"]["Value"] == {"Ref": key_id}
    assert "get-api-key" in template["Outputs"]["RestApiKeyId"]["Description"]
    # Nothing reads the key resource but its id (Ref): no attribute of it is output or passed on.
    text = json.dumps(template)
    assert text.count(f'"Ref": "{key_id}"') == 2  # the plan key and the output
    assert f'"{key_id}", "' not in text  # no Fn::GetAtt on the key


def test_gateway_responses_are_the_projects_error_shape(template: dict[str, Any]) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources_of_type(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == set(EXPECTED_GATEWAY_RESPONSES)
    for response_type, (status, error_type) in EXPECTED_GATEWAY_RESPONSES.items():
        response = responses[response_type]
        assert response.get("StatusCode") == status, response_type
        body = response["ResponseTemplates"]["application/json"]
        assert body == (
            f'{{"error": {{"type": "{error_type}", "message": $context.error.messageString, '
            f'"code": "{error_type}"}}}}'
        )
        # API Gateway substitutes messageString already JSON-quoted: the result is the error shape.
        rendered = json.loads(body.replace("$context.error.messageString", json.dumps('Say "no"')))
        assert list(rendered["error"]) == ["type", "message", "code"]
        assert "ResponseParameters" not in response  # no allowedOrigins, no CORS headers


def test_access_logs_are_json_lines_with_the_caller_but_never_the_key(template: dict[str, Any]) -> None:
    _, stage = _one(template, "AWS::ApiGateway::Stage")
    setting = stage["Properties"]["AccessLogSetting"]
    log_group_id = setting["DestinationArn"]["Fn::Join"][1][-1]["Ref"]
    assert template["Resources"][log_group_id]["Properties"]["RetentionInDays"] == 30
    line = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "-", setting["Format"]))
    assert {"requestId", "ip", "principalId", "apiKeyId", "status", "responseLatency"} <= set(line)
    assert {"responseTransferMode", "cognitoSub", "userArn", "errorType"} <= set(line)
    fields = json.loads(setting["Format"])
    assert fields["responseTransferMode"] == "$context.integration.responseTransferMode"
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    assert "$context.identity.apiKey" not in set(fields.values())  # the key value itself
    assert not any("authorization" in value.lower() for value in fields.values())


def test_the_stage_throttles_streams_without_cache_tracing_or_execution_logs(
    template: dict[str, Any],
) -> None:
    _, stage = _one(template, "AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    assert properties["StageName"] == "prod"
    assert properties["MethodSettings"] == [
        {
            "DataTraceEnabled": False,
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "ThrottlingBurstLimit": 100,
            "ThrottlingRateLimit": 50,
        }
    ]
    assert properties["TracingEnabled"] is False
    assert "CacheClusterEnabled" not in properties  # caching is not supported with STREAM
    assert not resources_of_type(template, "AWS::WAFv2::WebACLAssociation")


def test_outputs_give_the_urls_the_key_id_and_the_plan_and_keep_the_function_url(
    template: dict[str, Any],
) -> None:
    outputs = template["Outputs"]
    api_id, _ = _one(template, "AWS::ApiGateway::RestApi")
    stage_id, _ = _one(template, "AWS::ApiGateway::Stage")
    plan_id, _ = _one(template, "AWS::ApiGateway::UsagePlan")
    url = render_pseudo_parameters(outputs["RestApiUrl"]["Value"])
    assert url == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": api_id},
                ".execute-api.<region>.",
                {"Ref": "AWS::URLSuffix"},
                "/",
                {"Ref": stage_id},
                "/",
            ],
        ]
    }
    base = render_pseudo_parameters(outputs["RestApiOpenAIBaseUrl"]["Value"])["Fn::Join"][1]
    assert base == [*url["Fn::Join"][1][:-1], "/v1"]
    assert outputs["RestApiUsagePlanId"]["Value"] == {"Ref": plan_id}
    assert not {"UserPoolId", "UserPoolClientId", "CognitoDomain"} & set(outputs)
    _, function_url = _one(template, "AWS::Lambda::Url")
    assert function_url["Properties"]["AuthType"] == "AWS_IAM"  # backend callers keep the Function URL
    assert {"FunctionUrl", "OpenAIBaseUrl", "StreamClientCommand"} <= set(outputs)


def test_the_function_role_gains_nothing(template: dict[str, Any], synthesized_app: SynthesizedApp) -> None:
    """The door is API Gateway's: the streaming function's own policy is the default stack's."""
    function_id = _streaming_function_id(template)
    role_id = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    default = synthesized_app.template()
    assert template["Resources"][role_id] == default["Resources"][role_id]
    assert template["Resources"][function_id] == default["Resources"][function_id]
    assert [s for s in policy_statements(template) if "bedrock" in json.dumps(s)] == [
        s for s in policy_statements(default) if "bedrock" in json.dumps(s)
    ]


def test_no_resource_of_the_door_is_in_the_default_stack(synthesized_app: SynthesizedApp) -> None:
    default = synthesized_app.template()
    assert not [r for r in default["Resources"].values() if r["Type"].startswith("AWS::ApiGateway::")]
    assert not {"RestApiUrl", "RestApiOpenAIBaseUrl", "RestApiKeyId"} & set(default["Outputs"])


def test_the_asset_folder_is_the_repository_authorizer(synthesized: SynthesizedApp) -> None:
    source = Path(__file__).resolve().parents[2] / "authorizer" / "api_key_authorizer.py"
    staged = [p for p in synthesized.outdir.glob("asset.*/api_key_authorizer.py")]
    assert len(staged) == 1 and staged[0].read_bytes() == source.read_bytes()
