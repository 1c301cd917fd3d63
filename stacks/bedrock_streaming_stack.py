"""The deployable stack: one BedrockStreamingFunction configured from CDK context, with its outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, Node

from .bedrock_streaming_function import DEFAULT_RESERVED_CONCURRENCY, BedrockStreamingFunction
from .bedrock_streaming_rest_api import BedrockStreamingRestApi
from .context_values import ContextError, choice, flag
from .function_props import PROMPT_CACHING_MODES, PromptCaching
from .guardrail import DEFAULT_GUARDRAIL_STREAM_MODE, GUARDRAIL_STREAM_MODES, GuardrailStreamMode
from .monitoring_metrics import DEFAULT_NAMESPACE
from .monitoring_outputs import add_monitoring_outputs
from .monitoring_props import Monitoring
from .rest_api_outputs import add_rest_api_outputs
from .rest_api_settings import RestApiSettings

_AUTH_TYPES = {"AWS_IAM": lambda_.FunctionUrlAuthType.AWS_IAM, "NONE": lambda_.FunctionUrlAuthType.NONE}


@dataclass(frozen=True, kw_only=True)
class StackSettings:
    """The stack's settings as read from CDK context."""

    model_ids: tuple[str, ...]
    model_aliases: tuple[tuple[str, str], ...] = ()
    auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM
    allowed_origins: tuple[str, ...] = ()
    reserved_concurrency: int | None = DEFAULT_RESERVED_CONCURRENCY
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    guardrail_stream_mode: GuardrailStreamMode = DEFAULT_GUARDRAIL_STREAM_MODE
    prompt_caching: PromptCaching = "none"
    embedding_model_ids: tuple[str, ...] = ()
    rest_api: RestApiSettings = field(default_factory=RestApiSettings)
    monitoring: bool = True
    alarm_email: str | None = None
    tracing: bool = False
    metrics_namespace: str = DEFAULT_NAMESPACE

    @classmethod
    def from_context(cls, node: Node) -> StackSettings:
        """Read ``modelIds``, ``modelAliases``, ``authType``, ``allowedOrigins``, ``reservedConcurrency``,
        ``guardrailId``, ``guardrailVersion``, ``guardrailStreamMode``, ``promptCaching``,
        ``embeddingModelIds``, ``monitoring``, ``alarmEmail``, ``tracing`` and ``metricsNamespace`` from
        context, and the REST API door's keys (``RestApiSettings``); list
        values may also be given as comma-separated strings
        (``cdk synth -c modelIds=a,b``), ``modelAliases`` as an object or as ``alias=model-id,...``
        (``cdk synth -c modelAliases=gpt-4o-mini=amazon.nova-lite-v1:0``), and ``guardrailVersion`` as a
        number or a string (``-c guardrailVersion=1``)."""
        get: Any = node.try_get_context
        raw_auth = get("authType")
        # Only an absent or empty value means the default; 0, false and the like are mistakes to report.
        auth_name = "AWS_IAM" if raw_auth is None or raw_auth == "" else str(raw_auth).upper()
        if auth_name not in _AUTH_TYPES:
            raise ContextError(f"context authType must be AWS_IAM or NONE, got {auth_name!r}")
        guardrail_id, guardrail_version, guardrail_stream_mode = _guardrail_settings(
            get("guardrailId"), get("guardrailVersion"), get("guardrailStreamMode")
        )
        try:
            rest_api = RestApiSettings.from_context(get)
        except ValueError as error:
            raise ContextError(str(error)) from None
        return cls(
            model_ids=_string_list("modelIds", get("modelIds")),
            model_aliases=_alias_pairs("modelAliases", get("modelAliases")),
            auth_type=_AUTH_TYPES[auth_name],
            allowed_origins=_string_list("allowedOrigins", get("allowedOrigins")),
            reserved_concurrency=_optional_int(
                "reservedConcurrency", get("reservedConcurrency"), default=DEFAULT_RESERVED_CONCURRENCY
            ),
            guardrail_id=guardrail_id,
            guardrail_version=guardrail_version,
            guardrail_stream_mode=guardrail_stream_mode,
            prompt_caching=choice("promptCaching", get("promptCaching"), PROMPT_CACHING_MODES),
            embedding_model_ids=_string_list("embeddingModelIds", get("embeddingModelIds")),
            rest_api=rest_api,
            monitoring=flag("monitoring", get("monitoring"), default=True),
            alarm_email=_optional_string("alarmEmail", get("alarmEmail")),
            tracing=flag("tracing", get("tracing"), default=False),
            metrics_namespace=(
                _optional_string("metricsNamespace", get("metricsNamespace")) or DEFAULT_NAMESPACE
            ),
        )


def _string_list(key: str, value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ContextError(f"context {key} must be a list of strings or a comma-separated string")


def _alias_pairs(key: str, value: object) -> tuple[tuple[str, str], ...]:
    # Only the shape is judged here; what the aliases point to is the construct's check.
    if value is None or value == "":
        return ()
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return tuple(value.items())
    if not isinstance(value, str):
        raise ContextError(
            f'context {key} must be an object of alias: model id, or an "alias=model-id,..." string'
        )
    pairs: list[tuple[str, str]] = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        alias, sep, model_id = (piece.strip() for piece in part.partition("="))
        if not (alias and sep and model_id):
            raise ContextError(f"context {key} entries must be alias=model-id, got {part!r}")
        if any(alias == seen for seen, _ in pairs):
            raise ContextError(f"context {key} names the alias {alias!r} twice")
        pairs.append((alias, model_id))
    return tuple(pairs)


def _guardrail_settings(
    raw_id: object, raw_version: object, raw_mode: object
) -> tuple[str | None, str | None, GuardrailStreamMode]:
    # Only the shape is judged here; the id and version patterns are the construct's check.
    guardrail_id = _optional_string("guardrailId", raw_id)
    if isinstance(raw_version, int) and not isinstance(raw_version, bool):
        raw_version = str(raw_version)  # cdk.json may hold a JSON number; -c always gives a string
    guardrail_version = _optional_string("guardrailVersion", raw_version)
    if guardrail_version is not None and guardrail_version.upper() == "DRAFT":
        guardrail_version = "DRAFT"
    if (guardrail_id is None) != (guardrail_version is None):
        raise ContextError(
            "context guardrailId and guardrailVersion go together "
            "(-c guardrailId=<id or ARN> -c guardrailVersion=<DRAFT or number>)"
        )
    mode = choice("guardrailStreamMode", raw_mode, GUARDRAIL_STREAM_MODES)
    if mode != DEFAULT_GUARDRAIL_STREAM_MODE and guardrail_id is None:
        raise ContextError(f"context guardrailStreamMode={mode} needs guardrailId and guardrailVersion")
    return guardrail_id, guardrail_version, mode


def _optional_string(key: str, value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ContextError(f"context {key} must be a string, got {value!r}")
    return value.strip() or None


def _optional_int(key: str, value: object, *, default: int) -> int | None:
    # CDK context cannot tell JSON null from a missing key, so "none" is the explicit opt-out.
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lower() in {"none", "null", "off"}:
        return None
    if isinstance(value, bool):
        raise ContextError(f'context {key} must be an integer or "none", got {value!r}')
    try:
        return int(str(value))
    except ValueError:
        raise ContextError(f'context {key} must be an integer or "none", got {value!r}') from None


class BedrockStreamingStack(cdk.Stack):
    """Deploys the streaming function and outputs its URL and a ready-to-paste client command."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        function_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """:param settings: what to deploy (usually ``StackSettings.from_context``).
        :param function_options: extra BedrockStreamingFunction props (e.g. ``runtime_directory``).
            Default: none.
        :param kwargs: passed to ``cdk.Stack`` (``env``, ``description``, ...)."""
        kwargs.setdefault("description", "Streams Amazon Bedrock output through a Lambda Function URL")
        super().__init__(scope, construct_id, **kwargs)
        self.streaming = BedrockStreamingFunction(
            self,
            "BedrockStreaming",
            model_ids=settings.model_ids,
            model_aliases=dict(settings.model_aliases),
            auth_type=settings.auth_type,
            allowed_origins=settings.allowed_origins,
            reserved_concurrent_executions=settings.reserved_concurrency,
            guardrail_id=settings.guardrail_id,
            guardrail_version=settings.guardrail_version,
            guardrail_stream_mode=settings.guardrail_stream_mode,
            prompt_caching=settings.prompt_caching,
            embedding_model_ids=settings.embedding_model_ids,
            metrics_namespace=settings.metrics_namespace,
            monitoring=Monitoring(alarm_email=settings.alarm_email) if settings.monitoring else False,
            tracing=settings.tracing,
            **dict(function_options or {}),
        )
        cdk.CfnOutput(
            self,
            "FunctionUrl",
            value=self.streaming.url,
            description="The streaming endpoint (POST a prompt)",
        )
        cdk.CfnOutput(
            self,
            "FunctionName",
            value=self.streaming.function.function_name,
            description="The Lambda function (logs, metrics, configuration)",
        )
        cdk.CfnOutput(
            self,
            "ModelIds",
            value=",".join(settings.model_ids),
            description="Allowed model ids; the first is the default",
        )
        cdk.CfnOutput(
            self,
            "OpenAIBaseUrl",
            # The URL ends with "/", so this is https://<id>.lambda-url.<region>.on.aws/v1
            value=f"{self.streaming.url}v1",
            description="base_url for OpenAI SDKs (chat/completions, models); AWS_IAM needs SigV4 signing",
        )
        cdk.CfnOutput(
            self,
            "StreamClientCommand",
            value=f'python -m stream_client {self.streaming.url} "Hello"',
            description="Paste into a shell in this repository to stream a reply",
        )
        cdk.CfnOutput(
            self,
            "SmokeCommand",
            value=(
                f"python -m stream_client smoke {self.streaming.url} "
                f"--log-group {self.streaming.log_group.log_group_name}"
            ),
            description="Paste into a shell in this repository to smoke-test the deployment",
        )
        self.rest_api: BedrockStreamingRestApi | None = None
        """The REST API door (context ``restApi``); None for ``none``."""
        if settings.rest_api.door != "none":
            self.rest_api = self._rest_api(settings)
            add_rest_api_outputs(self, self.rest_api)
        if self.streaming.monitoring is not None:
            add_monitoring_outputs(self, self.streaming.monitoring)

    def _rest_api(self, settings: StackSettings) -> BedrockStreamingRestApi:
        door = settings.rest_api
        rest_api = BedrockStreamingRestApi(
            self,
            "RestApi",
            function=self.streaming,
            auth=door.auth(),
            allowed_origins=settings.allowed_origins,
            execution_logging=door.logging_level(),
            waf=door.web_acl(),
            tracing=settings.tracing,
        )
        if door.door == "api-keys":
            rest_api.add_api_key("default")
        return rest_api
