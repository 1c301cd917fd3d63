"""The emulated API Gateway REST API front (`serve --front rest`): the stage path, API-key or Cognito
authorization, payload 1.0 events, and API Gateway's own refusals in the project's error shape."""

from __future__ import annotations

import html
import json
import logging
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from streaming_runtime import wire

from emulator import rest_responses
from emulator.config import EmulatorConfig
from emulator.http_front import FrontHandler, RequestTooLargeError
from emulator.invocations import TIMED_OUT, FunctionFailed, Invocation
from emulator.relay import INVALID_PRELUDE, PreludeRules
from emulator.rest_event import Caller, build_event, new_extended_request_id, split_stage
from emulator.rest_keys import KeyStore, Refused, presented_key
from emulator.rest_responses import GatewayResponse

if TYPE_CHECKING:
    from emulator.rest_cognito import CognitoVerifier

log = logging.getLogger("emulator")

# API Gateway needs the prelude's delimiter within the first 16 KB and reads multiValueHeaders too.
REST_PRELUDE = PreludeRules(max_bytes=16 * 1024, multi_value_headers=True)
_API_BASE_META = b'<meta name="emulator-api-base" content="/">'


class RestApiGateway:
    """The REST API's configuration and state: its stage, and who may call it (API keys with their
    usage plans, a Cognito user pool, or anyone)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.stage = config.stage
        self.keys = KeyStore(config.api_keys) if config.api_keys is not None else None
        self.cognito: CognitoVerifier | None = None
        if config.cognito is not None:
            # PyJWT (and cryptography) are imported only when Cognito is used.
            from emulator.rest_cognito import CognitoVerifier  # noqa: PLC0415

            self.cognito = CognitoVerifier(config.cognito)

    @property
    def auth_mode(self) -> str:
        """`api-keys`, `cognito` or `none`."""
        return "api-keys" if self.keys is not None else "cognito" if self.cognito is not None else "none"

    def authorize(self, headers: Sequence[tuple[str, str]]) -> Caller:
        """Who is calling, as the event will say; raises Refused with the gateway response otherwise."""
        started = time.monotonic()
        if self.keys is not None:
            key = self.keys.admit(presented_key(headers))
            latency_ms = int((time.monotonic() - started) * 1000)
            # The key authorizer's context ({"authMethod": "api-key"}), its principalId, the latency.
            authorizer = {
                "authMethod": "api-key",
                "principalId": key.principal_id,
                "integrationLatency": latency_ms,
            }
            return Caller(api_key=key.value, api_key_id=key.key_id, authorizer=authorizer)
        if self.cognito is not None:
            authorization = next((v for k, v in headers if k.lower() == "authorization"), None)
            return Caller(authorizer={"claims": self.cognito.claims(authorization)})
        return Caller()


class RestApiHandler(FrontHandler):
    """A request under the stage becomes a payload 1.0 event once it is authorized; nothing refused
    reaches the function."""

    def chat_page_bytes(self, page: bytes) -> bytes:
        """The chat page, told that the API lives under the stage path."""
        base = html.escape(f"/{self._gateway().stage}/").encode("utf-8")
        return page.replace(_API_BASE_META, b'<meta name="emulator-api-base" content="' + base + b'">')

    def invoke_function(self, target: str, *, buffered: bool) -> None:
        request_id = str(uuid.uuid4())
        gateway = self._gateway()
        try:
            body = self._read_body()
        except RequestTooLargeError:
            self._refuse(rest_responses.REQUEST_TOO_LARGE, request_id, "body over the payload limit")
            return
        except (wire.ChunkedEncodingError, ValueError):
            self.close_connection = True
            self._refuse(rest_responses.BAD_REQUEST, request_id, "malformed request body")
            return
        where = split_stage(target, gateway.stage)
        if where is None:
            self._refuse(rest_responses.MISSING_AUTHENTICATION_TOKEN, request_id, "no such path in the API")
            return
        headers = list(self.headers.items())
        try:
            caller = gateway.authorize(headers)
        except Refused as exc:
            self._refuse(exc.response, request_id, exc.reason)
            return
        request = self.http_request(target, headers, body)
        event = build_event(
            request,
            where,
            request_id=request_id,
            extended_request_id=new_extended_request_id(),
            epoch_ms=int(time.time() * 1000),
            caller=caller,
        )
        self.run_invocation(
            json.dumps(event).encode("utf-8"),
            request_id=request_id,
            buffered=buffered,
            on_failure=send_integration_failure,
            prelude_rules=REST_PRELUDE,
        )

    def send_throttled(self, request_id: str, reason: str) -> None:
        """Lambda refused the invocation (no free runtime): API Gateway answers 500."""
        self._refuse(rest_responses.BAD_INTEGRATION_RESPONSE, request_id, f"Lambda throttled: {reason}")

    def _refuse(self, response: GatewayResponse, request_id: str, reason: str) -> None:
        # Never the headers or a token: only what was refused and why, in words of our own.
        log.info(
            "[%s] REST API refused %s %s: %d %s (%s)",
            request_id,
            self.command,
            self.path.split("?", 1)[0][:200],
            response.status,
            response.error_type,
            reason,
        )
        rest_responses.send(self, response, request_id=request_id)

    def _gateway(self) -> RestApiGateway:
        gateway = self.server.gateway
        if gateway is None:  # the server picks this handler only with a gateway
            raise RuntimeError("the REST API front has no gateway")
        return gateway


def send_integration_failure(
    handler: BaseHTTPRequestHandler, invocation: Invocation, failure: FunctionFailed
) -> None:
    """A function that failed before its first byte, as API Gateway reports it: 504 when it timed out,
    500 for a stream it cannot read, 502 otherwise (the details only go to the log)."""
    log.info("[%s] %s: %s", invocation.request_id, failure.error_type, failure.message)
    if failure.payload:
        log.info("[%s] error payload: %s", invocation.request_id, json.dumps(dict(failure.payload)))
    if failure.error_type == TIMED_OUT:
        response = rest_responses.INTEGRATION_TIMEOUT
    elif failure.error_type == INVALID_PRELUDE:
        response = rest_responses.BAD_INTEGRATION_RESPONSE
    else:
        response = rest_responses.INTEGRATION_FAILURE
    rest_responses.send(handler, response, request_id=invocation.request_id)
