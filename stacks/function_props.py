"""Validate BedrockStreamingFunction props up front, collecting every problem instead of stopping at one."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from .bedrock_arns import model_id_problems, profile_region_problems
from .embedding_models import embedding_model_problems
from .guardrail import DEFAULT_GUARDRAIL_STREAM_MODE, guardrail_problems
from .managed_instances import FunctionShape, ManagedInstances, managed_instances_problems
from .monitoring_metrics import DEFAULT_NAMESPACE, namespace_problems
from .monitoring_props import monitoring_problems

MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_TIMEOUT_SECONDS = 15 * 60

PromptCaching = Literal["none", "system", "messages", "all"]
PROMPT_CACHING_MODES: tuple[PromptCaching, ...] = ("none", "system", "messages", "all")

_HANDLER = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
# A CORS origin is scheme://host[:port] with no path, query or trailing slash, or the wildcard "*".
_ORIGIN = re.compile(r"^https?://(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")
# A botocore/data folder name (service models), or "all" (keep every model).
_BOTOCORE_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Lambda rejects these (it sets them itself); the prop-owned ones must follow the props, because the IAM
# policy and the synth-time checks are derived from the same values.
_RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
_PROP_OWNED_ENV = frozenset(
    {
        "MODEL_IDS",
        "MODEL_ALIASES",
        "MAX_TOKENS_LIMIT",
        "GUARDRAIL_ID",
        "GUARDRAIL_VERSION",
        "GUARDRAIL_STREAM_MODE",
        "PROMPT_CACHING",
        "EMBEDDING_MODEL_IDS",
        "METRICS",
        "METRICS_NAMESPACE",
    }
)
# Lambda sets it on Managed Instances (from PerExecutionEnvironmentMaxConcurrency); set by hand it would
# make the runtime fork workers that a one-invocation-at-a-time environment never feeds.
_MANAGED_INSTANCES_ENV = "AWS_LAMBDA_MAX_CONCURRENCY"


@dataclass(frozen=True, kw_only=True)
class PropsToCheck:
    """The construct's inputs, as validated before any resource is created."""

    model_ids: Sequence[str]
    model_aliases: Mapping[str, str]
    runtime_directory: Path
    handler: str
    memory_size: int
    timeout: cdk.Duration
    allowed_origins: Sequence[str]
    reserved_concurrent_executions: int | None
    provisioned_concurrency: int | None
    max_tokens_limit: int
    inference_profile_regions: Mapping[str, Sequence[str]]
    environment: Mapping[str, str]
    botocore_services: Sequence[str]
    architecture: lambda_.Architecture = lambda_.Architecture.ARM_64
    managed_instances: ManagedInstances | None = None
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    guardrail_stream_mode: str = DEFAULT_GUARDRAIL_STREAM_MODE
    prompt_caching: str = "none"
    embedding_model_ids: Sequence[str] = ()
    metrics: bool = True
    metrics_namespace: str = DEFAULT_NAMESPACE
    monitoring: object = True
    tracing: bool = False


def prop_problems(props: PropsToCheck) -> list[str]:
    """Every problem with the props, in a stable order; unresolved CDK tokens are not judged."""
    return [
        *_model_problems(props),
        *_alias_problems(props.model_aliases, model_ids=props.model_ids),
        *_runtime_problems(props),
        *_size_problems(props),
        *_concurrency_problems(props),
        *_origin_problems(props.allowed_origins),
        *_environment_problems(props.environment),
        *_botocore_service_problems(props.botocore_services),
        *_managed_instances_problems(props),
        *guardrail_problems(props.guardrail_id, props.guardrail_version, props.guardrail_stream_mode),
        *_prompt_caching_problems(props.prompt_caching),
        *embedding_model_problems(props.embedding_model_ids),
        *_observability_problems(props),
    ]


def _literal(value: object) -> bool:
    return not cdk.Token.is_unresolved(value)


def _model_problems(props: PropsToCheck) -> list[str]:
    if isinstance(props.model_ids, str):
        return ["model_ids must be a list of model ids, not one string"]
    literal_ids = [model_id for model_id in props.model_ids if _literal(model_id)]
    problems = model_id_problems(literal_ids) if literal_ids or not props.model_ids else []
    problems.extend(
        f"model id {model_id!r} must not contain ',' or whitespace (MODEL_IDS is comma-separated)"
        for model_id in literal_ids
        if model_id.strip() and ("," in model_id or any(c.isspace() for c in model_id))
    )
    problems.extend(profile_region_problems(props.inference_profile_regions, model_ids=literal_ids))
    return problems


def _alias_problems(model_aliases: Mapping[str, str], *, model_ids: Sequence[str]) -> list[str]:
    """Aliases must survive MODEL_ALIASES (``alias=model-id,...``, parsed with whitespace stripped) and
    name a listed model; an alias or target that is a token, or any token in model_ids, is not judged."""
    if not isinstance(model_aliases, Mapping):
        return ["model_aliases must be a mapping of alias to model id"]
    ids = () if isinstance(model_ids, str) else model_ids  # a lone string is reported by _model_problems
    literal_ids = {model_id for model_id in ids if _literal(model_id)}
    every_id_known = len(literal_ids) == len(ids) and not isinstance(model_ids, str)
    problems = []
    for alias, target in model_aliases.items():
        if not isinstance(alias, str) or not isinstance(target, str):
            problems.append(f"model alias {alias!r}: alias and model id must be strings")
            continue
        if _literal(alias):
            if not alias.strip():
                problems.append(f"a model alias for {target!r} is empty")
            elif "," in alias or "=" in alias or alias != alias.strip():
                problems.append(
                    f"model alias {alias!r} must not contain ',' or '=' nor begin or end with whitespace "
                    "(MODEL_ALIASES is alias=model-id, comma-separated)"
                )
            elif alias in literal_ids:
                problems.append(f"model alias {alias!r} is already a model id; an alias must be another name")
        if _literal(target) and every_id_known and target not in literal_ids:
            problems.append(f"model alias {alias!r} points to {target!r}, which is not in model_ids")
    return problems


def _runtime_problems(props: PropsToCheck) -> list[str]:
    problems = []
    if not props.runtime_directory.is_dir():
        problems.append(f"runtime_directory {str(props.runtime_directory)!r} is not a directory")
    elif not (props.runtime_directory / "Dockerfile").is_file():
        problems.append(f"runtime_directory {str(props.runtime_directory)!r} has no Dockerfile")
    if _literal(props.handler) and not _HANDLER.match(props.handler):
        problems.append(f"handler {props.handler!r} must look like 'package.module.function'")
    return problems


def _size_problems(props: PropsToCheck) -> list[str]:
    problems = []
    # Managed Instances have their own memory range, judged by _managed_instances_problems.
    on_demand = props.managed_instances is None
    if on_demand and _literal(props.memory_size) and not MIN_MEMORY_MB <= props.memory_size <= MAX_MEMORY_MB:
        problems.append(f"memory_size {props.memory_size} MB is outside {MIN_MEMORY_MB}-{MAX_MEMORY_MB} MB")
    if not props.timeout.is_unresolved():
        seconds = props.timeout.to_seconds()
        if not 1 <= seconds <= MAX_TIMEOUT_SECONDS:
            problems.append(f"timeout {seconds:g} s is outside 1 s - 15 minutes")
    if _literal(props.max_tokens_limit) and props.max_tokens_limit < 1:
        problems.append(f"max_tokens_limit {props.max_tokens_limit} must be at least 1")
    return problems


def _concurrency_problems(props: PropsToCheck) -> list[str]:
    reserved, provisioned = props.reserved_concurrent_executions, props.provisioned_concurrency
    problems = []
    if reserved is not None and _literal(reserved) and reserved < 1:
        problems.append(
            f"reserved_concurrent_executions {reserved} must be at least 1 (or None for no reservation)"
        )
    if provisioned is not None and _literal(provisioned) and provisioned < 1:
        problems.append(f"provisioned_concurrency {provisioned} must be at least 1 (or None)")
    if (
        reserved is not None
        and provisioned is not None
        and _literal(reserved)
        and _literal(provisioned)
        and provisioned > reserved
    ):
        problems.append(
            f"provisioned_concurrency {provisioned} exceeds reserved_concurrent_executions {reserved}"
        )
    return problems


def _origin_problems(allowed_origins: Sequence[str]) -> list[str]:
    if isinstance(allowed_origins, str):
        return ["allowed_origins must be a list of origins, not one string"]
    return [
        f"allowed origin {origin!r} is not an origin (scheme://host[:port], no path, or '*')"
        for origin in allowed_origins
        if _literal(origin) and origin != "*" and not _ORIGIN.match(origin)
    ]


def _environment_problems(environment: Mapping[str, str]) -> list[str]:
    problems = []
    for name in environment:
        if not _ENV_NAME.match(name):
            problems.append(f"environment variable name {name!r} is not a valid name")
        elif name in _RESERVED_ENV:
            problems.append(f"environment variable {name} is reserved by Lambda")
        elif name in _PROP_OWNED_ENV:
            problems.append(f"environment variable {name} is set from its prop; pass it there instead")
        elif name == _MANAGED_INSTANCES_ENV:
            problems.append(
                f"environment variable {name} is set by Lambda on Managed Instances; "
                "pass managed_instances=ManagedInstances(max_concurrency=...) instead"
            )
    return problems


def _botocore_service_problems(services: Sequence[str]) -> list[str]:
    if isinstance(services, str):
        return ["botocore_services must be a list of service names, not one string"]
    if not services:
        return ["botocore_services must name at least one service (bedrock-runtime), or be ('all',)"]
    problems = [
        f"botocore service {service!r} must be a botocore/data folder name such as 'bedrock-runtime'"
        for service in services
        if not _BOTOCORE_SERVICE.match(service)
    ]
    if "all" not in services and "bedrock-runtime" not in services:
        problems.append("botocore_services must keep 'bedrock-runtime' (the handler's own client)")
    return problems


def _managed_instances_problems(props: PropsToCheck) -> list[str]:
    if props.managed_instances is None:
        return []
    return managed_instances_problems(
        props.managed_instances,
        function=FunctionShape(
            memory_size=props.memory_size,
            architecture=props.architecture,
            reserved_concurrent_executions=props.reserved_concurrent_executions,
            provisioned_concurrency=props.provisioned_concurrency,
        ),
    )


def _prompt_caching_problems(prompt_caching: str) -> list[str]:
    if prompt_caching in PROMPT_CACHING_MODES:
        return []
    return [f"prompt_caching {prompt_caching!r} must be one of {', '.join(map(repr, PROMPT_CACHING_MODES))}"]


def _observability_problems(props: PropsToCheck) -> list[str]:
    problems = [
        f"{name} must be True or False, not {value!r}"
        for name, value in (("metrics", props.metrics), ("tracing", props.tracing))
        if not isinstance(value, bool)
    ]
    problems.extend(namespace_problems(props.metrics_namespace))
    problems.extend(monitoring_problems(props.monitoring, metrics=props.metrics is not False))
    return problems
