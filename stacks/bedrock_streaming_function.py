"""A reusable construct: a container-image Lambda that streams Bedrock output through a Function URL."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from .bedrock_arns import INVOKE_STREAM_ACTION, ArnContext, ModelGrant, model_grants
from .capacity_provider import attach_to_managed_instances
from .checkov_skips import add_checkov_skips, function_skips, log_group_skips
from .embedding_models import INVOKE_MODEL_ACTION, embedding_environment, embedding_model_arns
from .function_props import PromptCaching, PropsToCheck, prop_problems
from .guardrail import (
    APPLY_GUARDRAIL_ACTION,
    DEFAULT_GUARDRAIL_STREAM_MODE,
    GuardrailStreamMode,
    guardrail_arn,
    guardrail_environment,
)
from .managed_instances import ManagedInstances
from .monitoring import BedrockStreamingMonitoring
from .monitoring_metrics import DEFAULT_NAMESPACE
from .monitoring_props import Monitoring

DEFAULT_RUNTIME_DIRECTORY = Path(__file__).resolve().parent.parent / "runtime"
DEFAULT_HANDLER = "bedrock_handler.app.handler"
DEFAULT_TIMEOUT = cdk.Duration.minutes(5)
DEFAULT_RESERVED_CONCURRENCY = 10
DEFAULT_MAX_TOKENS_LIMIT = 4096
DEFAULT_BOTOCORE_SERVICES = ("bedrock-runtime",)
# A Function URL (a synchronous invocation) refuses request payloads over 6 MB itself; the handler's limit
# matches it so that images and documents up to that size are accepted.
DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024

# Kept out of the image fingerprint so that imports, test runs and editors do not churn the asset hash.
IMAGE_EXCLUDES = (
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "**/.hypothesis",
    "**/tests",
    "**/.DS_Store",
)
_CORS_HEADERS = (
    "content-type",
    "accept",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
)
_PLATFORMS = {"arm64": ecr_assets.Platform.LINUX_ARM64, "x86_64": ecr_assets.Platform.LINUX_AMD64}


class BedrockStreamingFunction(Construct):
    """A streaming Bedrock function: image from ``runtime/``, own role and log group, RESPONSE_STREAM URL.

    :param scope: the parent construct.
    :param construct_id: the construct id.
    :param model_ids: the allow-list of Bedrock model ids or ARNs (a CDK token is taken to be a full ARN);
        the first is the default model. Default: none (required).
    :param model_aliases: other names the OpenAI-compatible API accepts (``model`` and ``GET /v1/models``),
        alias -> model id; each target must be in ``model_ids``, an alias must not be a model id, be empty,
        contain ``,`` or ``=``, or begin or end with whitespace. Sets ``MODEL_ALIASES`` (only when
        non-empty); grants nothing beyond ``model_ids``. Default: None (no aliases).
    :param runtime_directory: the Docker build context holding the Dockerfile. Default: the ``runtime/``
        folder beside the ``stacks`` package.
    :param handler: the handler the image's bootstrap loads (passed as the image CMD).
        Default: ``bedrock_handler.app.handler``.
    :param memory_size: memory in MB, 128-10240 (CPU scales with it). Default: 1024.
    :param timeout: the function timeout, at most 15 minutes. Default: 5 minutes.
    :param architecture: the instruction set; the image is built for the matching platform.
        Default: ``Architecture.ARM_64``.
    :param auth_type: the Function URL auth type; ``NONE`` makes the URL public. Default: ``AWS_IAM``.
    :param allowed_origins: CORS origins (``https://host[:port]`` or ``*``) allowed to POST to the URL.
        Default: none (no CORS configuration).
    :param reserved_concurrent_executions: the concurrency cap (a cost and blast-radius guard), or None
        for the unreserved account pool. Default: 10.
    :param provisioned_concurrency: pre-initialised environments; creates alias ``live`` and puts the URL
        on it. Default: None (no alias, no provisioned concurrency).
    :param max_tokens_limit: the largest ``maxTokens`` a caller may request. Default: 4096.
    :param inference_profile_regions: destination Regions per geographic inference profile id, to grant
        exact foundation-model ARNs instead of a Region wildcard. Default: None (wildcard, conditioned on
        ``bedrock:InferenceProfileArn``).
    :param log_retention: how long the function's log group keeps events. Default: one month.
    :param environment: extra environment variables, also overriding the handler defaults
        (``DEFAULT_MAX_TOKENS``, ``MAX_REQUEST_BYTES``, ``DEADLINE_MARGIN_MS``). Default: none.
    :param botocore_services: the botocore service models the image keeps (the Dockerfile's
        ``BOTOCORE_SERVICES`` build argument); a handler that creates clients for other services names
        them too, ``("all",)`` keeps every model. Default: ``("bedrock-runtime",)``.
    :param managed_instances: run on Lambda Managed Instances (an existing capacity provider, or one
        created in your VPC), each execution environment serving ``max_concurrency`` streams; needs
        ``memory_size`` >= 2048 and ``reserved_concurrent_executions=None``, excludes
        ``provisioned_concurrency``. Default: None (on-demand Lambda).
    :param guardrail_id: a Bedrock guardrail every Converse call goes through: its id (lower-case letters
        and digits) or ARN; a CDK token is taken to be the ARN (e.g. ``CfnGuardrail.attr_guardrail_arn``).
        Needs ``guardrail_version``. Sets ``GUARDRAIL_ID``, ``GUARDRAIL_VERSION`` and
        ``GUARDRAIL_STREAM_MODE``, and grants ``bedrock:ApplyGuardrail`` on that one guardrail.
        Default: None (no guardrail).
    :param guardrail_version: ``"DRAFT"`` or a version number as a string (``"1"``). Default: None.
    :param guardrail_stream_mode: ``"sync"`` (each chunk is checked before it is sent) or ``"async"``
        (chunks are sent at once and checked in the background; no masking). Default: ``"sync"``.
    :param prompt_caching: where the handler puts Bedrock cache points: ``"none"``, ``"system"`` (after
        the system prompt), ``"messages"`` (before the last user turn) or ``"all"``; models without
        caching get none. Sets ``PROMPT_CACHING`` unless ``"none"``; no IAM change. Default: ``"none"``.
    :param embedding_model_ids: the Titan Text Embeddings / Cohere Embed foundation model ids the
        embeddings API serves (``amazon.titan-embed-text-v2:0``, ``cohere.embed-english-v3``,
        ``cohere.embed-multilingual-v3``, ``cohere.embed-v4:0``); sets ``EMBEDDING_MODEL_IDS`` and grants
        ``bedrock:InvokeModel`` on exactly those foundation models in the stack's Region. Default: none
        (no embeddings API, no extra IAM).
    :param metrics: the handler writes one CloudWatch Embedded Metric Format document per invocation to
        its log (metrics in ``metrics_namespace``); False sets ``METRICS=off``. Default: True.
    :param metrics_namespace: the namespace of those metrics (1-255 letters, digits, spaces or
        ``. - _ / # :``, not starting with ``AWS/``); sets ``METRICS_NAMESPACE`` unless the default.
        Default: ``BedrockStreaming``.
    :param monitoring: a CloudWatch dashboard, alarms and a saved Logs Insights query
        (``BedrockStreamingMonitoring``): True for the ``Monitoring()`` defaults, a ``Monitoring(...)`` for
        other thresholds, an alarm topic or email, a dashboard name; needs ``metrics``. Default: True.
    :param tracing: X-Ray active tracing (``TracingConfig`` ``Active``; the role may put trace segments).
        Default: False.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_ids: Sequence[str],
        model_aliases: Mapping[str, str] | None = None,
        runtime_directory: str | os.PathLike[str] = DEFAULT_RUNTIME_DIRECTORY,
        handler: str = DEFAULT_HANDLER,
        memory_size: int = 1024,
        timeout: cdk.Duration = DEFAULT_TIMEOUT,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        auth_type: lambda_.FunctionUrlAuthType = lambda_.FunctionUrlAuthType.AWS_IAM,
        allowed_origins: Sequence[str] = (),
        reserved_concurrent_executions: int | None = DEFAULT_RESERVED_CONCURRENCY,
        provisioned_concurrency: int | None = None,
        max_tokens_limit: int = DEFAULT_MAX_TOKENS_LIMIT,
        inference_profile_regions: Mapping[str, Sequence[str]] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        environment: Mapping[str, str] | None = None,
        botocore_services: Sequence[str] = DEFAULT_BOTOCORE_SERVICES,
        managed_instances: ManagedInstances | None = None,
        guardrail_id: str | None = None,
        guardrail_version: str | None = None,
        guardrail_stream_mode: GuardrailStreamMode = DEFAULT_GUARDRAIL_STREAM_MODE,
        prompt_caching: PromptCaching = "none",
        embedding_model_ids: Sequence[str] = (),
        metrics: bool = True,
        metrics_namespace: str = DEFAULT_NAMESPACE,
        monitoring: bool | Monitoring = True,
        tracing: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = prop_problems(
            PropsToCheck(
                model_ids=model_ids,
                model_aliases=model_aliases if model_aliases is not None else {},
                runtime_directory=Path(runtime_directory),
                handler=handler,
                memory_size=memory_size,
                timeout=timeout,
                allowed_origins=allowed_origins,
                reserved_concurrent_executions=reserved_concurrent_executions,
                provisioned_concurrency=provisioned_concurrency,
                max_tokens_limit=max_tokens_limit,
                inference_profile_regions=inference_profile_regions or {},
                environment=environment or {},
                botocore_services=botocore_services,
                architecture=architecture,
                managed_instances=managed_instances,
                guardrail_id=guardrail_id,
                guardrail_version=guardrail_version,
                guardrail_stream_mode=guardrail_stream_mode,
                prompt_caching=prompt_caching,
                embedding_model_ids=embedding_model_ids,
                metrics=metrics,
                metrics_namespace=metrics_namespace,
                monitoring=monitoring,
                tracing=tracing,
            )
        )
        if problems:
            raise ValueError(
                f"invalid BedrockStreamingFunction props for {construct_id!r}:\n- " + "\n- ".join(problems)
            )

        self.model_ids: tuple[str, ...] = tuple(model_ids)
        """The configured allow-list, default model first."""
        self.model_aliases: dict[str, str] = dict(model_aliases or {})
        """The configured aliases, alias -> model id (empty without aliases)."""
        self.embedding_model_ids: tuple[str, ...] = tuple(embedding_model_ids)
        """The embedding models the function may call (empty without the embeddings API)."""
        self.prompt_caching: PromptCaching = prompt_caching
        """Where the handler puts cache points (``"none"``: nowhere)."""
        self.guardrail_arn: str | None = None
        """The ARN of the guardrail the function applies; None without a guardrail."""
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the Bedrock streaming function (logs + Bedrock stream only)",
        )
        """The execution role: no AWS-managed policy, only log writes and Bedrock streaming."""
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention)
        """The function's log group (JSON log lines)."""
        self.log_group.grant_write(self.role)
        self._grant_models(inference_profile_regions or {})
        if guardrail_id is not None:
            self.guardrail_arn = self._grant_guardrail(guardrail_id)
        if self.embedding_model_ids:
            self._grant_embedding_models()

        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="Streams Amazon Bedrock output through a RESPONSE_STREAM Function URL",
            code=lambda_.DockerImageCode.from_image_asset(
                str(runtime_directory),
                cmd=[handler],
                platform=_PLATFORMS.get(architecture.name, ecr_assets.Platform.LINUX_ARM64),
                exclude=list(IMAGE_EXCLUDES),
                build_args={"BOTOCORE_SERVICES": " ".join(botocore_services)},
            ),
            architecture=architecture,
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment={
                **self._environment(max_tokens_limit, environment or {}),
                **guardrail_environment(guardrail_id, guardrail_version, guardrail_stream_mode),
                # Only when set, so that the defaults leave the template as it was before these props.
                **({"PROMPT_CACHING": prompt_caching} if prompt_caching != "none" else {}),
                **embedding_environment(self.embedding_model_ids),
                **_metrics_environment(metrics, metrics_namespace),
            },
            tracing=lambda_.Tracing.ACTIVE if tracing else None,
        )
        """The ``DockerImageFunction``."""
        if tracing:
            self._acknowledge_tracing_wildcard()
        self.capacity_provider: lambda_.ICapacityProvider | None = None
        """The Lambda Managed Instances capacity provider (given or created); None on on-demand Lambda."""
        if managed_instances is not None:
            # The URL stays on the unqualified function: Lambda routes unqualified invocations of a
            # Managed Instances function to its $LATEST.PUBLISHED version.
            self.capacity_provider = attach_to_managed_instances(
                self, function=self.function, settings=managed_instances, architecture=architecture
            )
        self.alias: lambda_.Alias | None = None
        """Alias ``live`` holding provisioned concurrency and the URL; None without provisioning."""
        url_target: lambda_.IFunction = self.function
        if provisioned_concurrency:
            self.alias = lambda_.Alias(
                self,
                "LiveAlias",
                alias_name="live",
                version=self.function.current_version,
                provisioned_concurrent_executions=provisioned_concurrency,
            )
            url_target = self.alias
        self.function_url = url_target.add_function_url(
            auth_type=auth_type,
            invoke_mode=lambda_.InvokeMode.RESPONSE_STREAM,
            cors=_cors(allowed_origins),
        )
        """The ``FunctionUrl`` (on alias ``live`` when provisioned concurrency is used)."""
        self.url: str = self.function_url.url
        """The HTTPS endpoint, ``https://<id>.lambda-url.<region>.on.aws/``."""
        public_url = auth_type == lambda_.FunctionUrlAuthType.NONE
        add_checkov_skips(
            self.function,
            function_skips(
                reserved_concurrency=reserved_concurrent_executions,
                public_url=public_url,
                managed_instances=managed_instances is not None,
            ),
        )
        add_checkov_skips(self.log_group, log_group_skips())
        self.metrics_namespace: str | None = metrics_namespace if metrics else None
        """The namespace of the function's own metrics; None with ``metrics=False``."""
        self._monitor(monitoring, namespace=metrics_namespace, reserved=reserved_concurrent_executions)

    def grant_invoke_url(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let an IAM principal call the URL: ``lambda:InvokeFunctionUrl`` plus the URL-only
        ``lambda:InvokeFunction`` that URLs created since October 2025 also require."""
        return self.function_url.grant_invoke_url(grantee)

    def grant_invoke_stream(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let an IAM principal invoke the function directly with the Lambda API (``Invoke`` and
        ``InvokeWithResponseStream``, which needs no action of its own): exactly ``lambda:InvokeFunction``
        on the function, and on alias ``live`` when provisioned concurrency made one."""
        resources = [self.function.function_arn]
        if self.alias is not None:
            resources.append(self.alias.function_arn)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["lambda:InvokeFunction"], resource_arns=resources
        )

    def _grant_models(self, inference_profile_regions: Mapping[str, Sequence[str]]) -> None:
        arns = self._arn_context()
        for model_id in self.model_ids:
            # A token (e.g. an application inference profile's ARN attribute) is used as a full ARN.
            grants = (
                [ModelGrant(resources=(model_id,))]
                if cdk.Token.is_unresolved(model_id)
                else model_grants(
                    model_id, arns=arns, destination_regions=inference_profile_regions.get(model_id)
                )
            )
            for grant in grants:
                self.role.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=[INVOKE_STREAM_ACTION],
                        resources=list(grant.resources),
                        conditions=dict(grant.conditions) if grant.conditions else None,
                    )
                )
                if grant.region_wildcard:
                    self._acknowledge_region_wildcard(model_id, grant.resources[0])

    def _arn_context(self) -> ArnContext:
        stack = cdk.Stack.of(self)
        return ArnContext(partition=stack.partition, region=stack.region, account=stack.account)

    def _grant_guardrail(self, guardrail_id: str) -> str:
        """One statement: ``bedrock:ApplyGuardrail`` on the one guardrail; returns its ARN."""
        arn = guardrail_arn(guardrail_id, arns=self._arn_context())
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=[APPLY_GUARDRAIL_ACTION], resources=[arn])
        )
        return arn

    def _grant_embedding_models(self) -> None:
        """One statement: ``bedrock:InvokeModel`` on exactly the embedding models' foundation-model ARNs."""
        resources = embedding_model_arns(self.embedding_model_ids, arns=self._arn_context())
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=[INVOKE_MODEL_ACTION], resources=resources)
        )

    def _acknowledge_region_wildcard(self, model_id: str, resource: str) -> None:
        # cdk-nag names a finding by the resource with the partition token rendered as <AWS::Partition>.
        partition = cdk.Stack.of(self).partition
        if cdk.Token.is_unresolved(partition):
            resource = resource.replace(partition, "<AWS::Partition>")
        policy = self.role.node.find_child("DefaultPolicy")
        cdk.Validations.of(policy).acknowledge(
            cdk.Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{resource}]",
                reason=(
                    f"{model_id} is a cross-Region inference profile whose destination "
                    "Regions are not pinned (inference_profile_regions): the foundation-model "
                    "ARN needs a Region wildcard, and the bedrock:InferenceProfileArn "
                    "condition limits it to calls routed through that one profile."
                ),
            )
        )

    def _monitor(self, monitoring: bool | Monitoring, *, namespace: str, reserved: int | None) -> None:
        self.monitoring: BedrockStreamingMonitoring | None = None
        """The dashboard, alarms and saved query; None with ``monitoring=False``."""
        if monitoring is not False:
            self.monitoring = BedrockStreamingMonitoring(
                self,
                "Monitoring",
                function=self.function,
                log_group=self.log_group,
                model_ids=self.model_ids,
                embedding_model_ids=self.embedding_model_ids,
                namespace=namespace,
                reserved_concurrency=reserved,
                settings=monitoring if isinstance(monitoring, Monitoring) else Monitoring(),
            )
        watch = self.monitoring
        self.dashboard: cloudwatch.Dashboard | None = watch.dashboard if watch else None
        """The CloudWatch dashboard; None without monitoring."""
        self.alarms: dict[str, cloudwatch.Alarm] = watch.alarms if watch else {}
        """The alarms by name, a REST API's included once it is attached (empty without monitoring)."""
        self.alarm_topic: sns.ITopic | None = watch.alarm_topic if watch else None
        """The topic the alarms notify; None without one."""
        self.query_definition: logs.QueryDefinition | None = watch.query_definition if watch else None
        """The saved Logs Insights query (tokens by caller and model per day); None without monitoring."""

    def _acknowledge_tracing_wildcard(self) -> None:
        policy = self.role.node.find_child("DefaultPolicy")
        cdk.Validations.of(policy).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "tracing=True: Lambda's X-Ray statement (xray:PutTraceSegments, "
                    "xray:PutTelemetryRecords) has Resource '*' because these X-Ray actions support no "
                    "resource-level permissions; the role gets no other wildcard."
                ),
            )
        )

    def _environment(self, max_tokens_limit: int, extra: Mapping[str, str]) -> dict[str, str]:
        defaults = {
            "DEFAULT_MAX_TOKENS": str(min(1024, max_tokens_limit)),
            "MAX_REQUEST_BYTES": str(DEFAULT_MAX_REQUEST_BYTES),
            # Leaves time to send the error event and trailers before Lambda kills the invocation.
            "DEADLINE_MARGIN_MS": "2000",
        }
        aliases = ",".join(f"{alias}={model_id}" for alias, model_id in self.model_aliases.items())
        return {
            **defaults,
            **extra,
            "MODEL_IDS": ",".join(self.model_ids),
            # Only when set, so a function without aliases has the same template as before they existed.
            **({"MODEL_ALIASES": aliases} if aliases else {}),
            "MAX_TOKENS_LIMIT": str(max_tokens_limit),
        }


def _metrics_environment(metrics: bool, namespace: str) -> dict[str, str]:
    """``METRICS=off`` without metrics, ``METRICS_NAMESPACE`` unless the default: only when they differ
    from the handler's defaults, so a default function's template has neither."""
    if not metrics:
        return {"METRICS": "off"}
    return {"METRICS_NAMESPACE": namespace} if namespace != DEFAULT_NAMESPACE else {}


def _cors(allowed_origins: Sequence[str]) -> lambda_.FunctionUrlCorsOptions | None:
    if not allowed_origins:
        return None
    return lambda_.FunctionUrlCorsOptions(
        allowed_origins=list(allowed_origins),
        allowed_methods=[lambda_.HttpMethod.POST],
        allowed_headers=list(_CORS_HEADERS),
        max_age=cdk.Duration.minutes(10),
    )
