"""BedrockStreamingRestApi's other modes and options: Cognito, IAM, WAF, CORS, plans, keys, alias target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from stacks.bedrock_streaming_function import BedrockStreamingFunction
from stacks.bedrock_streaming_rest_api import BedrockStreamingRestApi
from stacks.rest_api_auth import RestApiAuth
from stacks.rest_api_waf import RestApiWaf
from tests.infra.conftest import CDK_CONTEXT, render_pseudo_parameters, resources_of_type

FOUNDATION = "amazon.nova-micro-v1:0"
ENV = cdk.Environment(account="111122223333", region="us-east-1")
GIVEN_ACL = "arn:aws:wafv2:us-east-1:111122223333:regional/webacl/shared/0123abcd-4567-89ef-0123-456789abcdef"
ORIGINS = ["https://chat.example.com", "http://localhost:3000"]


@pytest.fixture(scope="module")
def build_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("runtime")
    (directory / "Dockerfile").write_text("FROM public.ecr.aws/lambda/provided:al2023\n")
    return directory


@pytest.fixture(scope="module")
def built(build_context: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Five stacks in ONE app (one synth, cdk-nag on): each mode with options the stack never sets."""
    app = cdk.App(context=CDK_CONTEXT, outdir=str(tmp_path_factory.mktemp("cdk.out")))

    def function(stack: cdk.Stack, **options: Any) -> BedrockStreamingFunction:
        return BedrockStreamingFunction(
            stack, "Fn", model_ids=[FOUNDATION], runtime_directory=build_context, **options
        )

    cognito_stack = cdk.Stack(app, "CognitoCreated", env=ENV)
    created = BedrockStreamingRestApi(
        cognito_stack,
        "Api",
        function=function(cognito_stack),
        auth=RestApiAuth.cognito(
            callback_urls=["https://chat.example.com/callback", "http://localhost:3000/"],
            logout_urls=["https://chat.example.com/"],
            domain_prefix="my-chat-door",
        ),
        allowed_origins=["https://chat.example.com"],
    )

    given_stack = cdk.Stack(app, "CognitoGiven", env=ENV)
    pool = cognito.UserPool.from_user_pool_id(given_stack, "Pool", "us-east-1_AbCdEfGhI")
    client = cognito.UserPoolClient.from_user_pool_client_id(given_stack, "Client", "1example23456789")
    given = BedrockStreamingRestApi(
        given_stack,
        "Api",
        function=function(given_stack),
        auth=RestApiAuth.cognito(user_pool=pool, user_pool_client=client),
    )

    iam_stack = cdk.Stack(app, "Iam", env=ENV)
    iam_api = BedrockStreamingRestApi(
        iam_stack,
        "Api",
        function=function(iam_stack, timeout=cdk.Duration.minutes(15), provisioned_concurrency=2),
        auth=RestApiAuth.iam(),
        stage_name="v1",
        stage_throttle=None,
        execution_logging=apigw.MethodLoggingLevel.INFO,
        tracing=True,
        waf=RestApiWaf.from_arn(GIVEN_ACL),
        authorizer_runtime=lambda_.Runtime.PYTHON_3_14,  # ignored: no key authorizer with IAM
    )
    caller = iam.Role(iam_stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    iam_grant = iam_api.grant_invoke(caller)

    keys_stack = cdk.Stack(app, "Keys", env=ENV)
    keys = BedrockStreamingRestApi(
        keys_stack,
        "Api",
        function=function(keys_stack),
        auth=RestApiAuth.api_keys(
            throttle=None,
            quota=apigw.QuotaSettings(limit=50, period=apigw.Period.WEEK),
            cache_ttl=cdk.Duration.seconds(0),
        ),
        allowed_origins=ORIGINS,
        waf=RestApiWaf.rate_limited(rate_limit=100, window=cdk.Duration.minutes(1)),
    )
    gold = keys.add_usage_plan(
        "Gold", throttle=apigw.ThrottleSettings(rate_limit=100, burst_limit=200), quota=None
    )
    keys.add_api_key("alice", plan=gold)
    keys.add_api_key("carol", enabled=False)
    keys.import_api_key("bob", "abcdef1234")

    newest_stack = cdk.Stack(app, "NewestRuntime", env=ENV)
    newest = BedrockStreamingRestApi(
        newest_stack,
        "Api",
        function=function(newest_stack),
        auth=RestApiAuth.api_keys(),
        authorizer_runtime=lambda_.Runtime.PYTHON_3_14,
    )

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    assembly = app.synth()  # raises ValidationFailed on any unacknowledged cdk-nag finding
    templates = {
        name: assembly.get_stack_by_name(name).template
        for name in ("CognitoCreated", "CognitoGiven", "Iam", "Keys", "NewestRuntime")
    }
    return {
        "templates": templates,
        "created": created,
        "given": given,
        "iam": iam_api,
        "iam_grant": iam_grant,
        "keys": keys,
        "newest": newest,
        "pool": pool,
        "client": client,
    }


def _methods(template: dict[str, Any], http_method: str = "ANY") -> list[dict[str, Any]]:
    return [
        m["Properties"]
        for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == http_method
    ]


def _only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, sorted(found)
    key, resource = next(iter(found.items()))
    return key, resource["Properties"]


def test_cognito_created_pool_is_for_invited_users_with_mfa(built: dict[str, Any]) -> None:
    template = built["templates"]["CognitoCreated"]
    _, pool = _only(template, "AWS::Cognito::UserPool")
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert pool["MfaConfiguration"] == "ON" and pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    assert pool["UsernameAttributes"] == ["email"]


def test_cognito_created_client_is_a_browser_code_flow_without_secret(built: dict[str, Any]) -> None:
    template = built["templates"]["CognitoCreated"]
    _, client = _only(template, "AWS::Cognito::UserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]  # authorization code (PKCE on the client); no implicit
    assert client["AllowedOAuthScopes"] == ["openid", "email", "profile"]
    assert client["CallbackURLs"] == ["https://chat.example.com/callback", "http://localhost:3000/"]
    assert client["LogoutURLs"] == ["https://chat.example.com/"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    _, domain = _only(template, "AWS::Cognito::UserPoolDomain")
    assert domain["Domain"] == "my-chat-door"


def test_cognito_methods_use_the_pool_authorizer_and_no_key(built: dict[str, Any]) -> None:
    template = built["templates"]["CognitoCreated"]
    pool_id, _ = _only(template, "AWS::Cognito::UserPool")
    authorizer_id, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    for method in _methods(template):
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert not method.get("ApiKeyRequired")
    _, api = _only(template, "AWS::ApiGateway::RestApi")
    assert "ApiKeySourceType" not in api
    assert not resources_of_type(template, "AWS::ApiGateway::UsagePlan")
    functions = resources_of_type(template, "AWS::Lambda::Function").values()
    assert all("ImageUri" in f["Properties"]["Code"] for f in functions)  # no key authorizer function


def test_cognito_created_attributes(built: dict[str, Any]) -> None:
    created: BedrockStreamingRestApi = built["created"]
    assert created.user_pool is not None and created.user_pool_client is not None
    assert created.user_pool_domain is not None and created.authorizer is not None
    assert created.authorizer_function is None and created.usage_plan is None and created.web_acl is None


def test_one_cors_origin_is_on_the_preflight_and_every_gateway_response(built: dict[str, Any]) -> None:
    template = built["templates"]["CognitoCreated"]
    preflights = _methods(template, "OPTIONS")
    assert len(preflights) == 2
    for method in preflights:
        assert method["AuthorizationType"] == "NONE"
        parameters = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        assert (
            parameters["method.response.header.Access-Control-Allow-Origin"] == "'https://chat.example.com'"
        )
        assert "authorization" in parameters["method.response.header.Access-Control-Allow-Headers"]
    for response in resources_of_type(template, "AWS::ApiGateway::GatewayResponse").values():
        assert response["Properties"]["ResponseParameters"] == {
            "gatewayresponse.header.Access-Control-Allow-Origin": "'https://chat.example.com'",
            "gatewayresponse.header.Vary": "'Origin'",
        }


def test_the_function_answers_the_origins_on_streamed_responses(built: dict[str, Any]) -> None:
    """API Gateway cannot add headers to a streamed proxy response, so the function gets the origins."""
    functions = resources_of_type(built["templates"]["Keys"], "AWS::Lambda::Function")
    [streaming] = [f for f in functions.values() if f["Properties"].get("PackageType") == "Image"]
    variables = streaming["Properties"]["Environment"]["Variables"]
    assert variables["CORS_ALLOWED_ORIGINS"] == ",".join(ORIGINS)


def test_several_origins_are_echoed_on_gateway_responses(built: dict[str, Any]) -> None:
    template = built["templates"]["Keys"]
    for response in resources_of_type(template, "AWS::ApiGateway::GatewayResponse").values():
        parameters = response["Properties"]["ResponseParameters"]
        assert (
            parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
        )
    for method in _methods(template, "OPTIONS"):
        template_text = json.dumps(method["Integration"]["IntegrationResponses"][0]["ResponseTemplates"])
        assert "http://localhost:3000" in template_text  # CDK's preflight picks the matching origin


def test_a_given_pool_is_used_as_it_is(built: dict[str, Any]) -> None:
    template = built["templates"]["CognitoGiven"]
    assert not resources_of_type(template, "AWS::Cognito::UserPool")
    assert not resources_of_type(template, "AWS::Cognito::UserPoolDomain")
    _, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    assert render_pseudo_parameters(authorizer["ProviderARNs"]) == [
        "arn:aws:cognito-idp:us-east-1:111122223333:userpool/us-east-1_AbCdEfGhI"
    ]
    given: BedrockStreamingRestApi = built["given"]
    assert given.user_pool is built["pool"] and given.user_pool_client is built["client"]
    assert given.user_pool_domain is None


def test_iam_methods_and_grant_invoke(built: dict[str, Any]) -> None:
    template = built["templates"]["Iam"]
    for method in _methods(template):
        assert method["AuthorizationType"] == "AWS_IAM"
        assert "AuthorizerId" not in method
    assert not resources_of_type(template, "AWS::ApiGateway::Authorizer")
    assert built["iam_grant"].success
    api_id, _ = _only(template, "AWS::ApiGateway::RestApi")
    statements = [
        s
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "execute-api:Invoke"
    ]
    assert len(statements) == 1
    resource = render_pseudo_parameters(statements[0]["Resource"])["Fn::Join"][1]
    assert resource[0] == "arn:aws:execute-api:us-east-1:111122223333:" and resource[1] == {"Ref": api_id}
    assert resource[-1].endswith("/*/*")


def test_iam_stage_options_alias_target_and_fifteen_minutes(built: dict[str, Any]) -> None:
    template = built["templates"]["Iam"]
    _, stage = _only(template, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == "v1" and stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {"DataTraceEnabled": False, "HttpMethod": "*", "LoggingLevel": "INFO", "ResourcePath": "/*"}
    ]  # execution logging on, no stage throttle
    alias_id, _ = _only(template, "AWS::Lambda::Alias")
    for method in _methods(template):
        integration = method["Integration"]
        assert integration["TimeoutInMillis"] == 900_000
        assert integration["Uri"]["Fn::Join"][1][-2] == {"Ref": alias_id}
        assert integration["Uri"]["Fn::Join"][1][-1] == "/response-streaming-invocations"


def test_a_given_web_acl_is_associated_with_the_stage(built: dict[str, Any]) -> None:
    template = built["templates"]["Iam"]
    stage_id, _ = _only(template, "AWS::ApiGateway::Stage")
    assert not resources_of_type(template, "AWS::WAFv2::WebACL")
    _, association = _only(template, "AWS::WAFv2::WebACLAssociation")
    assert association["WebACLArn"] == GIVEN_ACL
    assert association["ResourceArn"]["Fn::Join"][1][-1] == {"Ref": stage_id}
    assert built["iam"].web_acl is None and built["iam"].web_acl_arn == GIVEN_ACL


def test_a_created_web_acl_limits_each_source_ip_with_the_error_shape(built: dict[str, Any]) -> None:
    template = built["templates"]["Keys"]
    acl_id, acl = _only(template, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    (rule,) = acl["Rules"]
    assert rule["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "EvaluationWindowSec": 60,
        "Limit": 100,
    }
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    body = json.loads(acl["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    assert body == {"error": {"type": "throttled", "message": "Too Many Requests", "code": "throttled"}}
    _, association = _only(template, "AWS::WAFv2::WebACLAssociation")
    assert association["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


def test_plans_and_keys(built: dict[str, Any]) -> None:
    template = built["templates"]["Keys"]
    plans = {
        key: p["Properties"] for key, p in resources_of_type(template, "AWS::ApiGateway::UsagePlan").items()
    }
    assert len(plans) == 2
    default_id = next(k for k, p in plans.items() if "Quota" in p)
    gold_id = next(k for k in plans if k != default_id)
    assert (
        plans[default_id]["Quota"] == {"Limit": 50, "Period": "WEEK"} and "Throttle" not in plans[default_id]
    )
    assert (
        plans[gold_id]["Throttle"] == {"BurstLimit": 200, "RateLimit": 100} and "Quota" not in plans[gold_id]
    )
    keys = resources_of_type(template, "AWS::ApiGateway::ApiKey")
    assert len(keys) == 2 and all("Value" not in k["Properties"] for k in keys.values())
    enabled = {
        k["Properties"]["Description"].split(":")[0]: k["Properties"]["Enabled"] for k in keys.values()
    }
    assert enabled == {"alice": True, "carol": False}
    memberships = {
        (json.dumps(p["Properties"]["KeyId"]), p["Properties"]["UsagePlanId"]["Ref"])
        for p in resources_of_type(template, "AWS::ApiGateway::UsagePlanKey").values()
    }
    alice = next(k for k, r in keys.items() if r["Properties"]["Description"].startswith("alice"))
    carol = next(k for k, r in keys.items() if r["Properties"]["Description"].startswith("carol"))
    assert memberships == {
        (json.dumps({"Ref": alice}), gold_id),
        (json.dumps({"Ref": carol}), default_id),
        (json.dumps("abcdef1234"), default_id),  # the imported key, by id
    }
    assert set(built["keys"].api_keys) == {"alice", "carol", "bob"}
    _, authorizer = _only(template, "AWS::ApiGateway::Authorizer")
    assert authorizer["AuthorizerResultTtlInSeconds"] == 0


def test_l1_is_acknowledged_only_for_an_older_runtime(built: dict[str, Any]) -> None:
    def l1(template: dict[str, Any]) -> list[str]:
        return [
            entry["reason"]
            for resource in template["Resources"].values()
            for entry in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            if entry["id"] == "AwsSolutions-L1"
        ]

    assert len(l1(built["templates"]["Keys"])) == 1
    assert l1(built["templates"]["NewestRuntime"]) == []
    newest = resources_of_type(built["templates"]["NewestRuntime"], "AWS::Lambda::Function").values()
    assert {f["Properties"].get("Runtime") for f in newest} == {None, "python3.14"}


def test_keys_need_the_api_keys_mode(built: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"needs RestApiAuth\.api_keys"):
        built["iam"].add_api_key("dave")
    with pytest.raises(ValueError, match=r"needs RestApiAuth\.api_keys"):
        built["created"].add_usage_plan("Silver")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("alice", "already used"),
        ("", "must be 1-64"),
        ("has space", "must be 1-64"),
        ("x" * 65, "must be 1-64"),
    ],
)
def test_key_names_are_checked(built: dict[str, Any], name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        built["keys"].add_api_key(name)
