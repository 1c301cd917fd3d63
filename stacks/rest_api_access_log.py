"""The REST API stage's access log: one JSON line per request, never a key, token or body."""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

# Every value is quoted: API Gateway writes "-" for a variable without a value, which would not be JSON.
ACCESS_LOG_FIELDS: dict[str, str] = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTimeEpoch": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "path": "$context.path",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "responseTransferMode": "$context.integration.responseTransferMode",
    "timeToFirstContent": "$context.integration.timeToFirstContent",
    "apiKeyId": "$context.identity.apiKeyId",
    "principalId": "$context.authorizer.principalId",
    "cognitoSub": "$context.authorizer.claims.sub",
    "userArn": "$context.identity.userArn",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "wafStatus": "$context.waf.status",
}


def access_log_format() -> apigw.AccessLogFormat:
    """The JSON line format (``ACCESS_LOG_FIELDS``)."""
    return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")))


def access_log_group(scope: Construct, construct_id: str, *, retention: logs.RetentionDays) -> logs.LogGroup:
    """The stage's access log group."""
    return logs.LogGroup(scope, construct_id, retention=retention)
