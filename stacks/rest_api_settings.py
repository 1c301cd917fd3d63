"""The stack's REST API door as CDK context chooses it (``restApi`` and the ``restApi*`` keys)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from aws_cdk import aws_apigateway as apigw

from .context_values import choice
from .rest_api_auth import RestApiAuth
from .rest_api_waf import RestApiWaf

RestApiDoor = Literal["none", "api-keys", "cognito", "iam"]
REST_API_DOORS: tuple[RestApiDoor, ...] = ("none", "api-keys", "cognito", "iam")
ExecutionLogging = Literal["off", "error", "info"]
_EXECUTION_LOGGING: tuple[ExecutionLogging, ...] = ("off", "error", "info")
_LOGGING_LEVELS = {"error": apigw.MethodLoggingLevel.ERROR, "info": apigw.MethodLoggingLevel.INFO}
DEFAULT_CALLBACK_URLS = ("http://localhost:3000/",)


@dataclass(frozen=True, kw_only=True)
class RestApiSettings:
    """Whether the stack builds the REST API door, and how."""

    door: RestApiDoor = "none"
    rate_limit: float = 10
    burst_limit: int = 20
    quota_per_day: int | None = 1000
    waf: str = "none"
    execution_logging: ExecutionLogging = "off"
    callback_urls: tuple[str, ...] = DEFAULT_CALLBACK_URLS

    @classmethod
    def from_context(cls, get: Callable[[str], object]) -> RestApiSettings:
        """Read ``restApi``, ``restApiRateLimit``, ``restApiBurstLimit``, ``restApiQuotaPerDay`` (``none``
        for no quota), ``restApiWaf`` (``none``, ``create`` or a web ACL ARN), ``restApiExecutionLogging``
        and ``cognitoCallbackUrls``; raises ``ValueError`` naming the key for a value of the wrong shape."""
        waf = get("restApiWaf")
        if waf is not None and not isinstance(waf, str):
            raise ValueError(f"context restApiWaf must be none, create or a web ACL ARN, got {waf!r}")
        waf = (waf or "none").strip()
        return cls(
            door=choice("restApi", get("restApi"), REST_API_DOORS),
            rate_limit=_number("restApiRateLimit", get("restApiRateLimit"), default=10, integer=False),
            burst_limit=int(_number("restApiBurstLimit", get("restApiBurstLimit"), default=20)),
            quota_per_day=_optional_quota(get("restApiQuotaPerDay")),
            waf=waf.lower() if waf.lower() in {"none", "create"} else waf,
            execution_logging=choice(
                "restApiExecutionLogging", get("restApiExecutionLogging"), _EXECUTION_LOGGING
            ),
            callback_urls=_urls(get("cognitoCallbackUrls")),
        )

    def auth(self) -> RestApiAuth:
        """The construct's auth prop for this door (not for ``none``)."""
        if self.door == "api-keys":
            quota = None
            if self.quota_per_day is not None:
                quota = apigw.QuotaSettings(limit=self.quota_per_day, period=apigw.Period.DAY)
            return RestApiAuth.api_keys(
                throttle=apigw.ThrottleSettings(rate_limit=self.rate_limit, burst_limit=self.burst_limit),
                quota=quota,
            )
        if self.door == "cognito":
            return RestApiAuth.cognito(callback_urls=self.callback_urls)
        return RestApiAuth.iam()

    def web_acl(self) -> RestApiWaf | None:
        """The construct's waf prop: none, a created rate-limited web ACL, or the given ARN."""
        if self.waf == "none":
            return None
        return RestApiWaf.rate_limited() if self.waf == "create" else RestApiWaf.from_arn(self.waf)

    def logging_level(self) -> apigw.MethodLoggingLevel | None:
        """The construct's execution_logging prop."""
        return _LOGGING_LEVELS.get(self.execution_logging)


def _number(key: str, value: object, *, default: float, integer: bool = True) -> float:
    if value is None or value == "":
        return default
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool):
        raise ValueError(f"context {key} must be {kind} of at least 0, got {value!r}")
    try:
        number = int(str(value)) if integer else float(str(value))
    except ValueError:
        raise ValueError(f"context {key} must be {kind} of at least 0, got {value!r}") from None
    if number < 0:
        raise ValueError(f"context {key} must be {kind} of at least 0, got {value!r}")
    return number


def _optional_quota(value: object) -> int | None:
    # CDK context cannot tell JSON null from a missing key, so "none" is the explicit opt-out.
    if isinstance(value, str) and value.strip().lower() in {"none", "off"}:
        return None
    quota = int(_number("restApiQuotaPerDay", value, default=1000))
    if quota < 1:
        raise ValueError(f'context restApiQuotaPerDay must be at least 1 or "none", got {value!r}')
    return quota


def _urls(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return DEFAULT_CALLBACK_URLS
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return tuple(value) or DEFAULT_CALLBACK_URLS
    raise ValueError("context cognitoCallbackUrls must be a list of URLs or a comma-separated string")
