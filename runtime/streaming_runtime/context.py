"""`InvocationContext`: the handler's context object, parsed from the /next headers by one classmethod."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from streaming_runtime import wire
from streaming_runtime.config import RuntimeConfig
from streaming_runtime.errors import InvalidInvocationHeaders
from streaming_runtime.record import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing at start-up (type checkers see True)
if TYPE_CHECKING:
    from typing import Any


class CognitoIdentity(Record):
    """The Cognito identity of a mobile-SDK caller (attribute names as in the managed runtime)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")
    cognito_identity_id: str | None
    cognito_identity_pool_id: str | None

    def __init__(
        self, cognito_identity_id: str | None = None, cognito_identity_pool_id: str | None = None
    ) -> None:
        self._assign(
            cognito_identity_id=cognito_identity_id, cognito_identity_pool_id=cognito_identity_pool_id
        )


class Client(Record):
    """The mobile client application that invoked the function."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")
    installation_id: str | None
    app_title: str | None
    app_version_name: str | None
    app_version_code: str | None
    app_package_name: str | None

    def __init__(
        self,
        installation_id: str | None = None,
        app_title: str | None = None,
        app_version_name: str | None = None,
        app_version_code: str | None = None,
        app_package_name: str | None = None,
    ) -> None:
        self._assign(
            installation_id=installation_id,
            app_title=app_title,
            app_version_name=app_version_name,
            app_version_code=app_version_code,
            app_package_name=app_package_name,
        )


class ClientContext(Record):
    """The client context a mobile-SDK caller sent: `client`, `custom` and `env`."""

    __slots__ = ("client", "custom", "env")
    client: Client | None
    custom: Mapping[str, Any] | None
    env: Mapping[str, Any] | None

    def __init__(
        self,
        client: Client | None = None,
        custom: Mapping[str, Any] | None = None,
        env: Mapping[str, Any] | None = None,
    ) -> None:
        self._assign(client=client, custom=custom, env=env)


class InvocationContext(Record):
    """What a handler receives as `context`; attribute names match the managed Python runtime."""

    __slots__ = (
        "aws_request_id",
        "client_context",
        "deadline_ms",
        "function_name",
        "function_version",
        "identity",
        "invocation_id",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
        "tenant_id",
        "xray_trace_id",
    )
    aws_request_id: str
    deadline_ms: int
    invoked_function_arn: str
    function_name: str
    function_version: str
    memory_limit_in_mb: str
    log_group_name: str
    log_stream_name: str
    identity: CognitoIdentity
    client_context: ClientContext | None
    tenant_id: str | None
    xray_trace_id: str | None
    invocation_id: str | None

    def __init__(
        self,
        aws_request_id: str,
        deadline_ms: int,
        *,
        invoked_function_arn: str = "",
        function_name: str = "",
        function_version: str = "$LATEST",
        memory_limit_in_mb: str = "128",
        log_group_name: str = "",
        log_stream_name: str = "",
        identity: CognitoIdentity | None = None,
        client_context: ClientContext | None = None,
        tenant_id: str | None = None,
        xray_trace_id: str | None = None,
        invocation_id: str | None = None,
    ) -> None:
        self._assign(
            aws_request_id=aws_request_id,
            deadline_ms=deadline_ms,
            invoked_function_arn=invoked_function_arn,
            function_name=function_name,
            function_version=function_version,
            memory_limit_in_mb=memory_limit_in_mb,
            log_group_name=log_group_name,
            log_stream_name=log_stream_name,
            identity=identity or CognitoIdentity(),
            client_context=client_context,
            tenant_id=tenant_id,
            xray_trace_id=xray_trace_id,
            invocation_id=invocation_id,
        )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the invocation's deadline (0 once it has passed)."""
        return max(self.deadline_ms - int(time.time() * 1000), 0)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], config: RuntimeConfig) -> InvocationContext:
        """Parse the /next headers (any case); a missing or garbled one raises InvalidInvocationHeaders."""
        lowered = {name.lower(): value for name, value in headers.items()}
        request_id = lowered.get(wire.HEADER_REQUEST_ID.lower(), "")
        if not request_id:
            raise InvalidInvocationHeaders(header=wire.HEADER_REQUEST_ID, reason="missing")
        return cls(
            aws_request_id=request_id,
            deadline_ms=_deadline(lowered.get(wire.HEADER_DEADLINE_MS.lower())),
            invoked_function_arn=lowered.get(wire.HEADER_FUNCTION_ARN.lower(), ""),
            function_name=config.function_name,
            function_version=config.function_version,
            memory_limit_in_mb=config.memory_limit_in_mb,
            log_group_name=config.log_group_name,
            log_stream_name=config.log_stream_name,
            identity=_identity(lowered.get(wire.HEADER_COGNITO_IDENTITY.lower())),
            client_context=_client_context(lowered.get(wire.HEADER_CLIENT_CONTEXT.lower())),
            tenant_id=lowered.get(wire.HEADER_TENANT_ID.lower()) or None,
            xray_trace_id=lowered.get(wire.HEADER_TRACE_ID.lower()) or None,
            invocation_id=lowered.get(wire.HEADER_INVOCATION_ID.lower()) or None,
        )


def _deadline(raw: str | None) -> int:
    if raw is None or not raw.strip():
        raise InvalidInvocationHeaders(header=wire.HEADER_DEADLINE_MS, reason="missing")
    text = raw.strip()
    if not text.isdigit():
        raise InvalidInvocationHeaders(
            header=wire.HEADER_DEADLINE_MS, reason=f"{text[:40]!r} is not epoch milliseconds"
        )
    return int(text)


def _json_object(header: str, raw: str) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise InvalidInvocationHeaders(header=header, reason=f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidInvocationHeaders(header=header, reason="not a JSON object")
    return document


def _identity(raw: str | None) -> CognitoIdentity:
    if not raw:
        return CognitoIdentity()
    document = _json_object(wire.HEADER_COGNITO_IDENTITY, raw)
    return CognitoIdentity(
        cognito_identity_id=document.get("cognitoIdentityId"),
        cognito_identity_pool_id=document.get("cognitoIdentityPoolId"),
    )


def _client_context(raw: str | None) -> ClientContext | None:
    if not raw:
        return None
    document = _json_object(wire.HEADER_CLIENT_CONTEXT, raw)
    client_doc = document.get("client")
    client = None
    if isinstance(client_doc, dict):
        client = Client(
            installation_id=client_doc.get("installation_id"),
            app_title=client_doc.get("app_title"),
            app_version_name=client_doc.get("app_version_name"),
            app_version_code=client_doc.get("app_version_code"),
            app_package_name=client_doc.get("app_package_name"),
        )
    custom, env = document.get("custom"), document.get("env")
    return ClientContext(
        client=client,
        custom=custom if isinstance(custom, dict) else None,
        env=env if isinstance(env, dict) else None,
    )
