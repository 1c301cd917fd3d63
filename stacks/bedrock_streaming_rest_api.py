"""A reusable construct: a REGIONAL API Gateway REST API streaming a BedrockStreamingFunction's responses."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .bedrock_streaming_function import BedrockStreamingFunction
from .checkov_skips import add_checkov_skips, log_group_skips, rest_api_stage_skips
from .rest_api_access_log import access_log_format, access_log_group
from .rest_api_acknowledgements import acknowledge_api, acknowledge_invoke_wildcard, acknowledge_methods
from .rest_api_auth import RestApiAuth
from .rest_api_cognito import CognitoSignIn
from .rest_api_cors import gateway_response_headers, let_function_answer_origins, preflight_options
from .rest_api_gateway_responses import add_gateway_responses
from .rest_api_key_authorizer import (
    DEFAULT_AUTHORIZER_DIRECTORY,
    DEFAULT_AUTHORIZER_RUNTIME,
    ApiKeyAuthorizer,
)
from .rest_api_props import RestApiPropsToCheck, rest_api_problems
from .rest_api_waf import RestApiWaf, attach_web_acl

DEFAULT_STAGE_NAME = "prod"
DEFAULT_STAGE_THROTTLE = apigw.ThrottleSettings(rate_limit=50, burst_limit=100)
_KEY_NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BedrockStreamingRestApi(Construct):
    """A REST API in front of a streaming function: ``ANY /`` and ``ANY /{proxy+}`` on a Lambda proxy
    integration with ``responseTransferMode: STREAM``, behind one auth mode, with API Gateway's own
    refusals in the project's error shape. When the function has monitoring, its dashboard gains a row for
    this stage and its alarms the stage's 5xx rate (``<construct id>ServerErrorRate``).

    :param scope: the parent construct.
    :param construct_id: the construct id.
    :param function: the ``BedrockStreamingFunction`` to stream (its alias ``live`` when it has one); the
        integration timeout is the function's timeout (at most 15 minutes). Default: none (required).
    :param auth: ``RestApiAuth.api_keys(...)``, ``RestApiAuth.cognito(...)`` or ``RestApiAuth.iam()``.
        Default: none (required).
    :param stage_name: the stage, the first path segment of the URL. Default: ``prod``.
    :param allowed_origins: CORS origins (``https://host[:port]`` or ``*``): an ``OPTIONS`` preflight on
        every resource and the CORS headers on the gateway responses. Default: none (no CORS).
    :param stage_throttle: the stage-wide default rate (requests per second) and burst for every method.
        Default: 50 rps, burst 100. None: only the account's limits.
    :param execution_logging: the stage's execution log level (``MethodLoggingLevel.ERROR`` or ``INFO``);
        needs the account's API Gateway CloudWatch role. Default: None (off; access logs are always on).
    :param tracing: X-Ray tracing on the stage (the trace continues into a function with ``tracing=True``).
        Default: False.
    :param waf: ``RestApiWaf.from_arn(arn)`` or ``RestApiWaf.rate_limited(...)``. Default: None (no WAF).
    :param log_retention: retention of the access log group and the key authorizer's log group.
        Default: one month.
    :param authorizer_directory: the folder zipped as the key authorizer's code (holds
        ``api_key_authorizer.py``). Default: ``authorizer/`` beside the ``stacks`` package.
    :param authorizer_runtime: the key authorizer's managed Python runtime. Default: Python 3.12.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: BedrockStreamingFunction,
        auth: RestApiAuth,
        stage_name: str = DEFAULT_STAGE_NAME,
        allowed_origins: Sequence[str] = (),
        stage_throttle: apigw.ThrottleSettings | None = DEFAULT_STAGE_THROTTLE,
        execution_logging: apigw.MethodLoggingLevel | None = None,
        tracing: bool = False,
        waf: RestApiWaf | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        authorizer_directory: str | os.PathLike[str] = DEFAULT_AUTHORIZER_DIRECTORY,
        authorizer_runtime: lambda_.Runtime = DEFAULT_AUTHORIZER_RUNTIME,
    ) -> None:
        is_streaming = isinstance(function, BedrockStreamingFunction)
        problems = rest_api_problems(
            RestApiPropsToCheck(
                function_is_streaming=is_streaming,
                function_timeout=function.function.timeout if is_streaming else None,
                auth=auth,
                stage_name=stage_name,
                allowed_origins=allowed_origins,
                stage_throttle=stage_throttle,
                waf=waf,
                authorizer_directory=Path(authorizer_directory),
                authorizer_runtime=authorizer_runtime,
            )
        )
        if problems:
            raise ValueError(
                f"invalid BedrockStreamingRestApi props for {construct_id!r}:\n- " + "\n- ".join(problems)
            )
        # Only after validation, so that a refused construct leaves nothing in the tree.
        super().__init__(scope, construct_id)
        self.auth = auth
        """The auth mode the API was built with."""
        self.access_log_group = access_log_group(self, "AccessLogs", retention=log_retention)
        """The stage's access log group (one JSON line per request)."""
        add_checkov_skips(self.access_log_group, log_group_skips())
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{cdk.Stack.of(self).stack_name}-{construct_id}",
            description="Streams Amazon Bedrock output (API Gateway REST response streaming)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER if auth.mode == "api-keys" else None,
            cloud_watch_role=False,
            default_cors_preflight_options=preflight_options(allowed_origins),
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=access_log_format(),
                throttling_rate_limit=stage_throttle.rate_limit if stage_throttle else None,
                throttling_burst_limit=stage_throttle.burst_limit if stage_throttle else None,
                logging_level=execution_logging,
                data_trace_enabled=False,
                tracing_enabled=tracing,
            ),
        )
        """The ``RestApi``."""
        # RestApi adds an "Endpoint" output of its own; the URL is an attribute, output where the app wants.
        self.api.node.try_remove_child("Endpoint")
        self.stage: apigw.Stage = self.api.deployment_stage
        """The deployed stage."""
        self.url: str = self.api.url
        """``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``."""
        self.openai_base_url: str = f"{self.api.url}v1"
        """``<url>v1``: the ``base_url`` for OpenAI SDKs."""
        add_checkov_skips(self.stage, rest_api_stage_skips(tracing=tracing))

        self.authorizer: apigw.IAuthorizer | None = None
        """The key ``TokenAuthorizer`` or the ``CognitoUserPoolsAuthorizer``; None with IAM."""
        self.authorizer_function: lambda_.Function | None = None
        """The key authorizer's function; None unless auth is API keys."""
        self.user_pool: cognito.IUserPool | None = None
        """The Cognito user pool (given or created); None unless auth is Cognito."""
        self.user_pool_client: cognito.IUserPoolClient | None = None
        """The Cognito app client (created for a browser, or given); None otherwise."""
        self.user_pool_domain: cognito.UserPoolDomain | None = None
        """The hosted sign-in domain of a created pool; None otherwise."""
        self.usage_plan: apigw.UsagePlan | None = None
        """The default usage plan every ``add_api_key`` key joins; None unless auth is API keys."""
        self.api_keys: dict[str, apigw.IApiKey] = {}
        """Keys added with ``add_api_key`` or ``import_api_key``, by name."""
        method_options = self._auth_method_options(
            auth,
            authorizer_directory=authorizer_directory,
            runtime=authorizer_runtime,
            retention=log_retention,
        )

        target = function.alias or function.function
        integration = apigw.LambdaIntegration(
            target,
            proxy=True,
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=function.function.timeout,
            allow_test_invoke=False,  # the console's test invoke buffers streams; test with curl instead
        )
        methods = [
            resource.add_method(
                "ANY",
                integration,
                authorizer=method_options.authorizer,
                authorization_type=method_options.authorization_type,
                api_key_required=method_options.api_key_required,
            )
            for resource in (self.api.root, self.api.root.add_resource("{proxy+}"))
        ]
        self.methods: tuple[apigw.Method, ...] = tuple(methods)
        """``ANY /`` and ``ANY /{proxy+}``."""
        add_gateway_responses(self.api, headers=gateway_response_headers(allowed_origins))

        self.web_acl: wafv2.CfnWebACL | None = None
        """The created web ACL; None without WAF or with a given one."""
        self.web_acl_arn: str | None = None
        """The ARN of the web ACL on the stage (given or created); None without WAF."""
        if waf is not None:
            self.web_acl, self.web_acl_arn = attach_web_acl(self, waf, stage=self.stage)
        acknowledge_methods(methods, mode=auth.mode)
        acknowledge_api(
            self.api, self.stage, execution_logging=execution_logging is not None, waf=waf is not None
        )
        self._tell_function(function, name=construct_id, allowed_origins=allowed_origins)

    def add_usage_plan(
        self,
        construct_id: str,
        *,
        throttle: apigw.ThrottleSettings | None = None,
        quota: apigw.QuotaSettings | None = None,
        description: str | None = None,
    ) -> apigw.UsagePlan:
        """Another usage plan on this API's stage (API keys only); put keys in it with ``plan=``."""
        self._require_keys("add_usage_plan")
        return self.api.add_usage_plan(
            construct_id,
            throttle=throttle,
            quota=quota,
            description=description,
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.stage)],
        )

    def add_api_key(
        self, name: str, *, plan: apigw.UsagePlan | None = None, enabled: bool = True
    ) -> apigw.IApiKey:
        """A key whose value API Gateway generates (never in the template), in ``plan`` (default: the
        default plan). Read the value with ``aws apigateway get-api-key --api-key <id> --include-value``."""
        self._check_key_name(name)
        key = apigw.ApiKey(
            self,
            f"ApiKey-{name}",
            enabled=enabled,
            description=f"{name}: a key of the Bedrock streaming REST API (value generated by API Gateway)",
        )
        return self._join_plan(name, key, plan)

    def import_api_key(self, name: str, key_id: str, *, plan: apigw.UsagePlan | None = None) -> apigw.IApiKey:
        """An existing key (by id) added to ``plan`` (default: the default plan)."""
        self._check_key_name(name)
        return self._join_plan(name, apigw.ApiKey.from_api_key_id(self, f"ApiKey-{name}", key_id), plan)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """``execute-api:Invoke`` on every method and path of the stage (what IAM-mode callers need);
        the wildcard is acknowledged in cdk-nag on a grantee's default policy in this stack."""
        arn = self.api.arn_for_execute_api(stage=self.stage.stage_name)
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=["execute-api:Invoke"], resource_arns=[arn]
        )
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            acknowledge_invoke_wildcard(principal, arn)
        return grant

    def _tell_function(
        self, function: BedrockStreamingFunction, *, name: str, allowed_origins: Sequence[str]
    ) -> None:
        """What the function learns of this door: the origins to answer on streamed responses (API Gateway
        cannot add CORS headers to them) and, with monitoring, this stage's dashboard row and 5xx alarm."""
        let_function_answer_origins(function.function, allowed_origins)
        if function.monitoring is not None:
            function.monitoring.add_rest_api(self.api, name=name)

    def _auth_method_options(
        self,
        auth: RestApiAuth,
        *,
        authorizer_directory: str | os.PathLike[str],
        runtime: lambda_.Runtime,
        retention: logs.RetentionDays,
    ) -> apigw.MethodOptions:
        if auth.mode == "api-keys":
            key_authorizer = ApiKeyAuthorizer(
                self,
                "KeyAuthorizer",
                directory=authorizer_directory,
                runtime=runtime,
                cache_ttl=auth.cache_ttl,
                log_retention=retention,
            )
            self.authorizer, self.authorizer_function = key_authorizer.authorizer, key_authorizer.function
            self.usage_plan = self.add_usage_plan(
                "UsagePlan",
                throttle=auth.throttle,
                quota=auth.quota,
                description="Default plan of the Bedrock streaming REST API's keys",
            )
            return apigw.MethodOptions(authorizer=self.authorizer, api_key_required=True)
        if auth.mode == "cognito":
            sign_in = CognitoSignIn(self, "Cognito", auth=auth)
            self.authorizer, self.user_pool = sign_in.authorizer, sign_in.user_pool
            self.user_pool_client, self.user_pool_domain = sign_in.user_pool_client, sign_in.domain
            return apigw.MethodOptions(
                authorizer=self.authorizer, authorization_type=apigw.AuthorizationType.COGNITO
            )
        return apigw.MethodOptions(authorization_type=apigw.AuthorizationType.IAM)

    def _require_keys(self, what: str) -> None:
        if self.auth.mode != "api-keys":
            raise ValueError(f"{what} needs RestApiAuth.api_keys(); this API's auth is {self.auth.mode}")

    def _check_key_name(self, name: str) -> None:
        self._require_keys("an API key")
        if not _KEY_NAME.match(name):
            raise ValueError(f"API key name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        if name in self.api_keys:
            raise ValueError(f"API key name {name!r} is already used on this API")

    def _join_plan(self, name: str, key: apigw.IApiKey, plan: apigw.UsagePlan | None) -> apigw.IApiKey:
        target_plan = plan or self.usage_plan
        assert target_plan is not None  # _require_keys: API keys always have the default plan
        target_plan.add_api_key(key)
        self.api_keys[name] = key
        return key
