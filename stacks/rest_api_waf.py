"""RestApiWaf: an AWS WAF web ACL on the REST API stage, given by ARN or created with a per-IP rate limit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from .checkov_skips import add_checkov_skips, web_acl_skips

DEFAULT_WAF_RATE_LIMIT = 1000
DEFAULT_WAF_WINDOW = cdk.Duration.minutes(5)
_WINDOWS_SECONDS = (60, 120, 300, 600)
_MIN_RATE_LIMIT, _MAX_RATE_LIMIT = 10, 2_000_000_000
_WEB_ACL_ARN = re.compile(r"^arn:aws[a-z-]*:wafv2:[a-z0-9-]+:\d{12}:regional/webacl/[\w-]{1,128}/[a-f0-9-]+$")
# WAF answers a blocked request itself (gateway responses do not apply), so it speaks the error shape too.
_THROTTLED_BODY = json.dumps(
    {"error": {"type": "throttled", "message": "Too Many Requests", "code": "throttled"}}
)


@dataclass(frozen=True, kw_only=True)
class RestApiWaf:
    """Which web ACL protects the stage; build it with ``from_arn`` or ``rate_limited``."""

    web_acl_arn: str | None = None
    rate_limit: int = DEFAULT_WAF_RATE_LIMIT
    window: cdk.Duration = DEFAULT_WAF_WINDOW

    @classmethod
    def from_arn(cls, web_acl_arn: str) -> RestApiWaf:
        """An existing REGIONAL web ACL (``arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>``)."""
        return cls(web_acl_arn=web_acl_arn)

    @classmethod
    def rate_limited(
        cls, *, rate_limit: int = DEFAULT_WAF_RATE_LIMIT, window: cdk.Duration = DEFAULT_WAF_WINDOW
    ) -> RestApiWaf:
        """A created web ACL whose one rule blocks a source IP above ``rate_limit`` requests per ``window``
        (1, 2, 5 or 10 minutes) with a 429 in the error shape; everything else is allowed."""
        return cls(rate_limit=rate_limit, window=window)


def waf_problems(waf: RestApiWaf | None) -> list[str]:
    """Every problem with the WAF choice; unresolved CDK tokens are not judged."""
    if waf is None:
        return []
    if waf.web_acl_arn is not None:
        arn = waf.web_acl_arn
        if not cdk.Token.is_unresolved(arn) and not _WEB_ACL_ARN.match(arn):
            return [f"web ACL ARN {arn!r} is not a REGIONAL wafv2 web ACL ARN"]
        return []
    problems = []
    if (
        not cdk.Token.is_unresolved(waf.rate_limit)
        and not _MIN_RATE_LIMIT <= waf.rate_limit <= _MAX_RATE_LIMIT
    ):
        problems.append(f"WAF rate_limit {waf.rate_limit} is outside {_MIN_RATE_LIMIT}-{_MAX_RATE_LIMIT}")
    if not waf.window.is_unresolved() and waf.window.to_seconds() not in _WINDOWS_SECONDS:
        problems.append(f"WAF window {waf.window.to_seconds():g} s must be 60, 120, 300 or 600 s")
    return problems


def attach_web_acl(
    scope: Construct, waf: RestApiWaf, *, stage: apigw.Stage
) -> tuple[wafv2.CfnWebACL | None, str]:
    """Associate the stage with the given or a created web ACL; returns (created ACL or None, its ARN)."""
    web_acl = None
    if waf.web_acl_arn is not None:
        arn = waf.web_acl_arn
    else:
        web_acl = _rate_limited_acl(scope, waf)
        arn = web_acl.attr_arn
    wafv2.CfnWebACLAssociation(scope, "WebAclAssociation", resource_arn=stage.stage_arn, web_acl_arn=arn)
    return web_acl, arn


def _rate_limited_acl(scope: Construct, waf: RestApiWaf) -> wafv2.CfnWebACL:
    metric = cdk.Names.unique_id(scope)[-200:]
    web_acl = wafv2.CfnWebACL(
        scope,
        "WebAcl",
        scope="REGIONAL",
        description="Per-source-IP rate limit in front of the Bedrock streaming REST API",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        custom_response_bodies={
            "throttled": wafv2.CfnWebACL.CustomResponseBodyProperty(
                content_type="APPLICATION_JSON", content=_THROTTLED_BODY
            )
        },
        visibility_config=_visibility(metric),
        rules=[
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(
                    block=wafv2.CfnWebACL.BlockActionProperty(
                        custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                            response_code=429, custom_response_body_key="throttled"
                        )
                    )
                ),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=waf.rate_limit,
                        aggregate_key_type="IP",
                        evaluation_window_sec=int(waf.window.to_seconds()),
                    )
                ),
                visibility_config=_visibility(f"{metric[:180]}RateLimitPerIp"),
            )
        ],
    )
    add_checkov_skips(web_acl, web_acl_skips())
    return web_acl


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )
