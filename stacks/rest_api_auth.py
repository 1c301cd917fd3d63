"""RestApiAuth: the REST API door's one auth mode (API keys, Cognito or IAM), as a typed choice."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito

RestApiAuthMode = Literal["api-keys", "cognito", "iam"]
REST_API_AUTH_MODES: tuple[RestApiAuthMode, ...] = ("api-keys", "cognito", "iam")

DEFAULT_KEY_THROTTLE = apigw.ThrottleSettings(rate_limit=10, burst_limit=20)
DEFAULT_KEY_QUOTA = apigw.QuotaSettings(limit=1000, period=apigw.Period.DAY)
DEFAULT_AUTHORIZER_CACHE = cdk.Duration.minutes(5)
MAX_AUTHORIZER_CACHE_SECONDS = 3600

# A Cognito domain prefix: lower-case letters, digits and inner hyphens, and none of the reserved words.
_DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")
# Cognito accepts https callback URLs anywhere, and plain http only for localhost.
_CALLBACK_URL = re.compile(r"^(?:https://[^\s#]+|http://localhost(?::\d{1,5})?(?:/[^\s#]*)?)$")


@dataclass(frozen=True, kw_only=True)
class RestApiAuth:
    """How callers of the REST API prove who they are; build it with one of the class methods.

    - ``api_keys``: ``Authorization: Bearer <key>`` checked by a TOKEN authorizer that hands the key to
      API Gateway (key source AUTHORIZER); every method requires a key of a usage plan (throttle, quota).
    - ``cognito``: a Cognito user-pool authorizer; callers send an ID token in ``Authorization``.
    - ``iam``: ``AWS_IAM`` on every method; callers sign with SigV4 and need ``execute-api:Invoke``.
    """

    mode: RestApiAuthMode
    throttle: apigw.ThrottleSettings | None = None
    quota: apigw.QuotaSettings | None = None
    cache_ttl: cdk.Duration = DEFAULT_AUTHORIZER_CACHE
    user_pool: cognito.IUserPool | None = None
    user_pool_client: cognito.IUserPoolClient | None = None
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    domain_prefix: str | None = None

    @classmethod
    def api_keys(
        cls,
        *,
        throttle: apigw.ThrottleSettings | None = DEFAULT_KEY_THROTTLE,
        quota: apigw.QuotaSettings | None = DEFAULT_KEY_QUOTA,
        cache_ttl: cdk.Duration = DEFAULT_AUTHORIZER_CACHE,
    ) -> RestApiAuth:
        """API keys in ``Authorization: Bearer <key>``.

        :param throttle: the default usage plan's per-key rate (requests per second) and burst.
            Default: 10 rps, burst 20. None: no per-key throttle.
        :param quota: the default usage plan's per-key quota. Default: 1000 requests a day.
            None: no quota.
        :param cache_ttl: how long API Gateway caches the authorizer's answer per token (0 turns the
            cache off, at most one hour). Default: 5 minutes.
        """
        return cls(mode="api-keys", throttle=throttle, quota=quota, cache_ttl=cache_ttl)

    @classmethod
    def cognito(
        cls,
        *,
        user_pool: cognito.IUserPool | None = None,
        user_pool_client: cognito.IUserPoolClient | None = None,
        callback_urls: Sequence[str] = (),
        logout_urls: Sequence[str] = (),
        domain_prefix: str | None = None,
    ) -> RestApiAuth:
        """A Cognito user-pool authorizer (ID token in ``Authorization``, bare or ``Bearer``).

        :param user_pool: the pool whose users may call. Default: None (a pool is created, with an app
            client for a browser: authorization code + PKCE, no client secret, and a hosted sign-in domain).
        :param user_pool_client: a client of the given pool, exposed as the attribute. Default: None.
        :param callback_urls: where the created client may redirect after sign-in (https, or
            http://localhost). Required when the pool is created.
        :param logout_urls: where the created client may redirect after sign-out. Default: none.
        :param domain_prefix: the created pool's hosted-UI domain prefix (unique in the Region).
            Default: ``bedrock-streaming-`` + the stack id's UUID.
        """
        return cls(
            mode="cognito",
            user_pool=user_pool,
            user_pool_client=user_pool_client,
            callback_urls=tuple(callback_urls),
            logout_urls=tuple(logout_urls),
            domain_prefix=domain_prefix,
        )

    @classmethod
    def iam(cls) -> RestApiAuth:
        """``AWS_IAM`` on every method: SigV4-signed callers with ``execute-api:Invoke``."""
        return cls(mode="iam")


def auth_problems(auth: RestApiAuth) -> list[str]:
    """Every problem with the auth choice, in a stable order; unresolved CDK tokens are not judged."""
    if auth.mode not in REST_API_AUTH_MODES:
        return [f"auth mode {auth.mode!r} must be one of {', '.join(REST_API_AUTH_MODES)}"]
    if auth.mode == "api-keys":
        return [*_throttle_problems("auth throttle", auth.throttle), *_key_problems(auth)]
    if auth.mode == "cognito":
        return _cognito_problems(auth)
    return []


def _literal(value: object) -> bool:
    return value is not None and not cdk.Token.is_unresolved(value)


def _throttle_problems(what: str, throttle: apigw.ThrottleSettings | None) -> list[str]:
    if throttle is None:
        return []
    problems = []
    rate, burst = throttle.rate_limit, throttle.burst_limit
    if _literal(rate) and rate is not None and rate < 0:
        problems.append(f"{what} rate_limit {rate} must be at least 0 requests per second")
    if _literal(burst) and burst is not None and (burst < 0 or burst != int(burst)):
        problems.append(f"{what} burst_limit {burst} must be a whole number of at least 0")
    return problems


def _key_problems(auth: RestApiAuth) -> list[str]:
    problems = []
    quota = auth.quota
    if quota is not None:
        limit = quota.limit
        if limit is not None and _literal(limit) and (limit < 1 or limit != int(limit)):
            problems.append(f"auth quota limit {quota.limit} must be a whole number of at least 1")
        if quota.limit is not None and quota.period is None:
            problems.append("auth quota needs a period (apigw.Period.DAY, WEEK or MONTH)")
    if not auth.cache_ttl.is_unresolved():
        seconds = auth.cache_ttl.to_seconds()
        if not 0 <= seconds <= MAX_AUTHORIZER_CACHE_SECONDS:
            problems.append(f"auth cache_ttl {seconds:g} s is outside 0 s - 1 hour")
    if auth.user_pool is not None or auth.user_pool_client is not None:
        problems.append("user_pool and user_pool_client belong to RestApiAuth.cognito, not api_keys")
    return problems


def _cognito_problems(auth: RestApiAuth) -> list[str]:
    problems = []
    creates_pool = auth.user_pool is None
    if auth.user_pool_client is not None and creates_pool:
        problems.append("user_pool_client needs the user_pool it belongs to")
    if creates_pool and not auth.callback_urls:
        problems.append("callback_urls must name at least one URL when the construct creates the user pool")
    if not creates_pool and (auth.callback_urls or auth.logout_urls or auth.domain_prefix is not None):
        problems.append(
            "callback_urls, logout_urls and domain_prefix configure a created pool; "
            "set them on your own pool's client and domain instead"
        )
    problems.extend(
        f"callback or logout URL {url!r} must be https://..., or http://localhost for development"
        for url in (*auth.callback_urls, *auth.logout_urls)
        if _literal(url) and not _CALLBACK_URL.match(url)
    )
    prefix = auth.domain_prefix
    if prefix is not None and _literal(prefix):
        if not _DOMAIN_PREFIX.match(prefix):
            problems.append(
                f"domain_prefix {prefix!r} must be 1-63 lower-case letters, digits and inner hyphens"
            )
        elif any(word in prefix for word in _RESERVED_DOMAIN_WORDS):
            problems.append(f"domain_prefix {prefix!r} must not contain aws, amazon or cognito")
    return problems
