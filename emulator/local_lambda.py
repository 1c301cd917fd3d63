"""The in-process emulator: the Bedrock stand-in, the sandbox pool, the Function URL and (with
`--lambda-api-port`) the Lambda API, started and stopped together (`serve` and `demo` both use it)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Protocol

import botocore.credentials
import botocore.session

from emulator.bedrock_stub import BedrockStub
from emulator.config import EmulatorConfig
from emulator.faults import FaultInjector
from emulator.function_url import FunctionUrlServer
from emulator.http_base import EmulatorHTTPServer
from emulator.lambda_api import LambdaApiServer
from emulator.managed_sandbox import ManagedSandbox
from emulator.metrics_summary import MetricsSummary
from emulator.pool import Pool
from emulator.runtime_output import OutputRouting
from emulator.sandbox import Sandbox
from emulator.supervisor import DUMMY_CREDENTIALS, Credentials

log = logging.getLogger("emulator")


class _Closable(Protocol):
    url: str

    def close(self) -> None: ...


def resolve_local_credentials() -> Credentials | None:
    """Credentials from botocore's standard chain, without the EC2 metadata lookup (no network)."""
    session = botocore.session.Session()
    resolver = botocore.credentials.create_credential_resolver(session)
    resolver.remove("iam-role")
    found = resolver.load_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return Credentials(access_key=frozen.access_key, secret_key=frozen.secret_key, token=frozen.token)


class Emulator:
    """`Emulator(config).start()` serves the Function URL at `.url` until `.close()`; `.metrics` sums up
    the EMF documents its runtimes print (`log_documents=False` keeps those lines out of the log)."""

    def __init__(
        self, config: EmulatorConfig, *, environ: Mapping[str, str] | None = None, log_documents: bool = True
    ) -> None:
        self.config = config
        self.metrics = MetricsSummary()
        self._output = OutputRouting(on_document=self.metrics.offer, log_documents=log_documents)
        self._environ = dict(os.environ if environ is None else environ)
        self.pool = Pool(max_queue=config.max_queue)
        self.bedrock: _Closable | None = None
        self.server: FunctionUrlServer | None = None
        self.lambda_api: LambdaApiServer | None = None
        self._serving: list[EmulatorHTTPServer] = []  # shutdown() would wait forever on any other
        self.faults = FaultInjector() if config.fault_injection else None

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the emulator is not started")
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server.port}/"

    @property
    def lambda_api_url(self) -> str | None:
        """The Lambda API's endpoint URL (no trailing slash, as `endpoint_url` takes it), when served."""
        return self.lambda_api.url if self.lambda_api is not None else None

    def start(self) -> Emulator:
        """Start the stand-in (if used), the runtime processes and the Function URL."""
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        config = self.config
        local = resolve_local_credentials() if (config.auth == "AWS_IAM" or config.bedrock == "aws") else None
        bedrock_url: str | None = None
        if config.bedrock == "stub":
            self.bedrock = BedrockStub.start(host="127.0.0.1", port=0)
            bedrock_url = self.bedrock.url
            runtime_credentials: Credentials | None = DUMMY_CREDENTIALS
        else:
            runtime_credentials = local
            if local is None:
                log.warning("no AWS credentials found; the function's Bedrock calls will fail")
        known = [c for c in (local,) if c is not None]
        if config.auth == "AWS_IAM" and not known:
            log.warning("--auth AWS_IAM without local AWS credentials: every request will get 403")
        # Bind the Function URL first: a port in use fails fast, before any runtime is spawned.
        self.server = FunctionUrlServer(
            config=config, pool=self.pool, known_credentials=known, faults=self.faults, metrics=self.metrics
        )
        if config.lambda_api_port is not None:
            self.lambda_api = LambdaApiServer(config=config, pool=self.pool, known_credentials=known)
        # --max-concurrency: Lambda Managed Instances environments, each serving that many at once.
        environment = Sandbox if config.max_concurrency is None else ManagedSandbox
        sandboxes = [
            environment(
                index=index,
                config=config,
                credentials=runtime_credentials,
                bedrock_url=bedrock_url,
                host_environ=self._environ,
                on_free=self.pool.release,
                faults=self.faults,
                output=self._output,
            )
            for index in range(config.concurrency)
        ]
        self.pool.add(sandboxes)
        for sandbox in sandboxes:
            sandbox.ensure_process()  # pre-warm, so the first request only pays for what Lambda would
        for server, name in ((self.server, "function-url"), (self.lambda_api, "lambda-api")):
            if server is not None:
                server.serve_in_thread(name)
                self._serving.append(server)

    def close(self) -> None:
        """Stop accepting requests, then stop every runtime process group and the stand-in."""
        for server in (self.server, self.lambda_api):
            if server is not None:
                if server in self._serving:
                    server.shutdown()
                server.server_close()
        self._serving.clear()
        for sandbox in self.pool.sandboxes:
            sandbox.close()
        if self.bedrock is not None:
            self.bedrock.close()
            self.bedrock = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
