"""`HandlerConfig`: the function's settings, read once from environment variables during init."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from bedrock_handler.metrics import DEFAULT_NAMESPACE, LOCAL_FUNCTION_NAME

# The same defaults as the stack's cdk.json (deployments set MODEL_IDS explicitly): a current Claude
# through the US cross-Region profile, and an on-demand foundation model.
DEFAULT_MODEL_IDS = ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "amazon.nova-lite-v1:0")
BEDROCK_APIS = ("converse", "invoke")
PROMPT_CACHING_MODES = ("none", "system", "messages", "all")
GUARDRAIL_STREAM_MODES = ("sync", "async")
METRICS_MODES = ("emf", "off")
# CloudWatch's namespace characters; `AWS/` is reserved for AWS's own namespaces.
_NAMESPACE = re.compile(r"[A-Za-z0-9.\-_/#: ]{1,255}")
# The Function URL's own request limit: a body this size is already at Lambda's 6 MB payload limit.
DEFAULT_MAX_REQUEST_BYTES = 6 * 1024 * 1024


class ConfigError(ValueError):
    """An environment variable with a missing or invalid value; raised at import so init fails loudly."""


# A NamedTuple, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class HandlerConfig(NamedTuple):
    """Everything the handler reads from its environment.

    :param model_ids: allow-list of model ids; the first is the default. Env MODEL_IDS (comma-separated).
    :param max_tokens_limit: largest `maxTokens` a request may ask for. Env MAX_TOKENS_LIMIT, default 4096.
    :param default_max_tokens: `maxTokens` when a request gives none. Env DEFAULT_MAX_TOKENS, default 1024.
    :param max_request_bytes: largest decoded request body. Env MAX_REQUEST_BYTES, default 6291456 (6 MiB,
        room for attached images and documents).
    :param deadline_margin_ms: stop generating when less time than this is left. Env DEADLINE_MARGIN_MS,
        default 2000.
    :param bedrock_api: `converse` (ConverseStream) or `invoke` (InvokeModelWithResponseStream) for every
        model. Env BEDROCK_API, default converse.
    :param invoke_model_ids: models that use InvokeModelWithResponseStream even when bedrock_api is
        converse. Env INVOKE_MODEL_IDS (comma-separated), default none.
    :param region: AWS region of the Bedrock client. Env AWS_REGION, else AWS_DEFAULT_REGION.
    :param connect_timeout_s: Env BEDROCK_CONNECT_TIMEOUT_S, default 5.
    :param read_timeout_s: longest silence on the Bedrock connection. Env BEDROCK_READ_TIMEOUT_S, default 60.
    :param max_attempts: botocore standard-mode attempts for the pre-stream call. Env BEDROCK_MAX_ATTEMPTS,
        default 3.
    :param model_aliases: other names the OpenAI-compatible API accepts for allow-listed models, as
        (alias, model id) pairs. Env MODEL_ALIASES (`alias=model-id`, comma-separated), default none.
    :param guardrail_id: the guardrail every Converse call carries. Env GUARDRAIL_ID, default none.
    :param guardrail_version: its version (`DRAFT` or a number). Env GUARDRAIL_VERSION, set with the id.
    :param guardrail_stream_mode: `sync` (scan before release) or `async`. Env GUARDRAIL_STREAM_MODE,
        default sync.
    :param prompt_caching: where cache points go: none, system, messages or all. Env PROMPT_CACHING,
        default none.
    :param embedding_model_ids: the models `POST /v1/embeddings` serves. Env EMBEDDING_MODEL_IDS
        (comma-separated), default none (the endpoint answers 404).
    :param cors_allowed_origins: origins answered with `access-control-allow-origin` on the REST API door
        (`*` for any). Env CORS_ALLOWED_ORIGINS (comma-separated), default none.
    """

    model_ids: tuple[str, ...]
    region: str
    max_tokens_limit: int = 4096
    default_max_tokens: int = 1024
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    deadline_margin_ms: int = 2000
    bedrock_api: str = "converse"
    invoke_model_ids: frozenset[str] = frozenset()
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    max_attempts: int = 3
    model_aliases: tuple[tuple[str, str], ...] = ()
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    guardrail_stream_mode: str = "sync"
    prompt_caching: str = "none"
    embedding_model_ids: tuple[str, ...] = ()
    cors_allowed_origins: tuple[str, ...] = ()
    metrics: str = "emf"
    metrics_namespace: str = DEFAULT_NAMESPACE
    function_name: str = LOCAL_FUNCTION_NAME

    @property
    def default_model_id(self) -> str:
        """The model used when a request names none."""
        return self.model_ids[0]

    def resolve_model(self, name: str) -> str | None:
        """The allow-listed model id `name` stands for (itself, or an alias's target), else None."""
        if name in self.model_ids:
            return name
        return next((model_id for alias, model_id in self.model_aliases if alias == name), None)

    def uses_invoke(self, model_id: str) -> bool:
        """Whether `model_id` is called through InvokeModelWithResponseStream."""
        return self.bedrock_api == "invoke" or model_id in self.invoke_model_ids

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HandlerConfig:
        """Build and validate the configuration; every problem is reported in one ConfigError."""
        problems: list[str] = []
        reader = _Reader(environ, problems)
        model_ids = reader.id_list("MODEL_IDS") or DEFAULT_MODEL_IDS
        invoke_ids = frozenset(reader.id_list("INVOKE_MODEL_IDS"))
        config = cls(
            model_ids=model_ids,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "",
            max_tokens_limit=reader.integer("MAX_TOKENS_LIMIT", 4096, minimum=1),
            default_max_tokens=reader.integer("DEFAULT_MAX_TOKENS", 1024, minimum=1),
            max_request_bytes=reader.integer("MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES, minimum=1),
            deadline_margin_ms=reader.integer("DEADLINE_MARGIN_MS", 2000, minimum=0),
            bedrock_api=environ.get("BEDROCK_API", "converse").strip().lower() or "converse",
            invoke_model_ids=invoke_ids,
            connect_timeout_s=reader.number("BEDROCK_CONNECT_TIMEOUT_S", 5.0),
            read_timeout_s=reader.number("BEDROCK_READ_TIMEOUT_S", 60.0),
            max_attempts=reader.integer("BEDROCK_MAX_ATTEMPTS", 3, minimum=1),
            model_aliases=reader.aliases("MODEL_ALIASES", model_ids),
            guardrail_id=environ.get("GUARDRAIL_ID", "").strip() or None,
            guardrail_version=environ.get("GUARDRAIL_VERSION", "").strip() or None,
            guardrail_stream_mode=reader.choice("GUARDRAIL_STREAM_MODE", GUARDRAIL_STREAM_MODES),
            prompt_caching=reader.choice("PROMPT_CACHING", PROMPT_CACHING_MODES),
            embedding_model_ids=reader.id_list("EMBEDDING_MODEL_IDS"),
            cors_allowed_origins=reader.id_list("CORS_ALLOWED_ORIGINS"),
            metrics=reader.choice("METRICS", METRICS_MODES),
            metrics_namespace=environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE,
            function_name=environ.get("AWS_LAMBDA_FUNCTION_NAME", "").strip() or LOCAL_FUNCTION_NAME,
        )
        if not config.region:
            problems.append("AWS_REGION (or AWS_DEFAULT_REGION) must be set")
        if config.bedrock_api not in BEDROCK_APIS:
            problems.append(
                f"BEDROCK_API must be one of {', '.join(BEDROCK_APIS)}, not {config.bedrock_api!r}"
            )
        if config.default_max_tokens > config.max_tokens_limit:
            problems.append("DEFAULT_MAX_TOKENS must not exceed MAX_TOKENS_LIMIT")
        if (config.guardrail_id is None) != (config.guardrail_version is None):
            problems.append("GUARDRAIL_ID and GUARDRAIL_VERSION must be set together")
        if config.guardrail_version is not None and not _guardrail_version(config.guardrail_version):
            problems.append(
                f"GUARDRAIL_VERSION must be DRAFT or a version number (1 to 99999999), "
                f"not {config.guardrail_version!r}"
            )
        namespace = config.metrics_namespace
        if not _NAMESPACE.fullmatch(namespace) or namespace.startswith(("AWS/", ":")):
            problems.append(
                "METRICS_NAMESPACE must be 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, not starting "
                f"with AWS/ or ':', not {namespace!r}"
            )
        if stray := sorted(invoke_ids - set(model_ids)):
            problems.append(f"INVOKE_MODEL_IDS not in MODEL_IDS: {', '.join(stray)}")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))
        return config


def _guardrail_version(version: str) -> bool:
    """Bedrock's pattern for a guardrail version: `DRAFT` or `[1-9][0-9]{0,7}`."""
    digits = version.isascii() and version.isdigit() and version[0] != "0" and len(version) <= 8
    return version == "DRAFT" or digits


class _Reader:
    """Reads typed values from the environment, collecting problems instead of stopping at the first."""

    __slots__ = ("environ", "problems")

    def __init__(self, environ: Mapping[str, str], problems: list[str]) -> None:
        self.environ, self.problems = environ, problems

    def id_list(self, name: str) -> tuple[str, ...]:
        ids = tuple(part.strip() for part in self.environ.get(name, "").split(",") if part.strip())
        if len(set(ids)) != len(ids):
            self.problems.append(f"{name} lists a model id twice")
        return ids

    def aliases(self, name: str, model_ids: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        pairs: list[tuple[str, str]] = []
        for part in self.environ.get(name, "").split(","):
            alias, sep, target = (piece.strip() for piece in part.partition("="))
            if not (alias or sep or target):
                continue
            if not (alias and sep and target):
                self.problems.append(f"{name} entries must be alias=model-id, not {part.strip()!r}")
            elif target not in model_ids:
                self.problems.append(f"{name}: {alias} points to {target}, which is not in MODEL_IDS")
            elif alias in model_ids or any(alias == seen for seen, _ in pairs):
                self.problems.append(f"{name}: {alias} is already a model id or an alias")
            else:
                pairs.append((alias, target))
        return tuple(pairs)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """One of `choices` (case-insensitive); the first when unset."""
        raw = self.environ.get(name, "").strip().lower()
        if not raw:
            return choices[0]
        if raw not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
            return choices[0]
        return raw

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be an integer, not {raw!r}")
            return default
        if value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, not {value}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value > 0:
            self.problems.append(f"{name} must be a positive number of seconds, not {raw!r}")
            return default
        return value
