"""The Function URL front: turns HTTP requests into payload 2.0 invocations; its server also hosts the
/_emulator/ pages and, with `--front rest`, the emulated REST API instead."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence

from streaming_runtime import wire

from emulator import render
from emulator.config import EmulatorConfig
from emulator.faults import FaultInjector
from emulator.http_base import EmulatorHTTPServer
from emulator.http_front import CHAT_PAGE, MAX_REQUEST_BYTES, FrontHandler, RequestTooLargeError
from emulator.metrics_summary import MetricsSummary
from emulator.pool import Pool
from emulator.rest_front import RestApiGateway, RestApiHandler
from emulator.sigv4 import AuthError, SignedRequest, verify
from emulator.supervisor import Credentials
from emulator.url_event import build_event

__all__ = ["CHAT_PAGE", "MAX_REQUEST_BYTES", "FunctionUrlHandler", "FunctionUrlServer"]


class FunctionUrlServer(EmulatorHTTPServer):
    """Serves the function's HTTP front (the Function URL, or with `--front rest` the emulated REST
    API) and the emulator's own /_emulator/ paths."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        pool: Pool,
        known_credentials: Sequence[Credentials],
        faults: FaultInjector | None = None,
        metrics: MetricsSummary | None = None,
    ) -> None:
        self.config = config
        self.pool = pool
        self.known_credentials = tuple(known_credentials)
        self.faults = faults
        self.metrics = metrics or MetricsSummary()
        self.gateway = RestApiGateway(config) if config.front == "rest" else None
        handler = RestApiHandler if self.gateway is not None else FunctionUrlHandler
        super().__init__((config.host, config.port), handler)


class FunctionUrlHandler(FrontHandler):
    """A request becomes a payload 2.0 event, SigV4-checked first with `--auth AWS_IAM`."""

    def invoke_function(self, target: str, *, buffered: bool) -> None:
        request_id = str(uuid.uuid4())
        try:
            body = self._read_body()
        except RequestTooLargeError:
            message = (
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"
            )
            render.send_error(self, 413, "RequestEntityTooLargeException", message, request_id=request_id)
            return
        except (wire.ChunkedEncodingError, ValueError) as exc:
            self.close_connection = True
            render.send_error(
                self, 400, "BadRequest", f"malformed request body: {exc}", request_id=request_id
            )
            return
        headers = list(self.headers.items())
        iam = None
        if self.server.config.auth == "AWS_IAM":
            try:
                iam = verify(
                    SignedRequest(method=self.command, target=self.path, headers=headers, body=body),
                    region=self.server.config.region,
                    known=self.server.known_credentials,
                )
            except AuthError as exc:
                render.send_error(self, 403, exc.error_type, str(exc), request_id=request_id)
                return
        request = self.http_request(target, headers, body)
        event = build_event(request, request_id=request_id, epoch_ms=int(time.time() * 1000), iam=iam)
        self.run_invocation(json.dumps(event).encode("utf-8"), request_id=request_id, buffered=buffered)
