"""The emulator's configuration: one frozen dataclass built once from the command line."""

from __future__ import annotations

import argparse
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.rest_keys import ApiKey, KeyFileError, load_key_file

if TYPE_CHECKING:
    from emulator.rest_cognito import CognitoSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TASK_ROOT = REPO_ROOT / "runtime"
DEFAULT_RUNTIME_CMD = str(DEFAULT_TASK_ROOT / "bootstrap")
DEFAULT_HANDLER = "bedrock_handler.app.handler"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
INVOKE_MODES = ("RESPONSE_STREAM", "BUFFERED")
AUTH_TYPES = ("NONE", "AWS_IAM")
FRONTS = ("function-url", "rest")
DEFAULT_STAGE = "prod"  # CDK's default stage name
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Lambda's rule for a function's own name
DEFAULT_FUNCTION_NAME = "bedrock-streaming-function"


class ConfigError(ValueError):
    """A command-line value the emulator cannot use."""


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything `serve` needs; build it with `from_args` or directly (tests, `demo`)."""

    host: str = "127.0.0.1"
    port: int = 3000
    handler: str = DEFAULT_HANDLER
    runtime_cmd: tuple[str, ...] = (DEFAULT_RUNTIME_CMD,)
    bedrock: str = "stub"
    timeout: float = 300.0
    memory: int = 1024
    concurrency: int = 1
    max_concurrency: int | None = None  # set: Lambda Managed Instances, that many invocations per runtime
    invoke_mode: str = "RESPONSE_STREAM"
    auth: str = "NONE"
    env: tuple[tuple[str, str], ...] = ()
    task_root: Path = DEFAULT_TASK_ROOT
    region: str = "us-east-1"
    max_queue: int = 64
    log_level: str = "INFO"
    function_name: str = DEFAULT_FUNCTION_NAME
    fault_injection: bool = False
    front: str = "function-url"  # or "rest": the emulated API Gateway REST API
    stage: str = DEFAULT_STAGE
    api_keys: tuple[ApiKey, ...] | None = None  # --front rest: the keys every request must present
    cognito: CognitoSettings | None = None  # --front rest: the user pool whose ID tokens are accepted
    lambda_api_port: int | None = None  # set: the Lambda API (Invoke, InvokeWithResponseStream) on that port

    @property
    def is_loopback(self) -> bool:
        """Whether the Function URL binds only to this machine."""
        return self.host in LOOPBACK_HOSTS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EmulatorConfig:
        """Validate the parsed `serve` arguments and freeze them."""
        if args.timeout <= 0:
            raise ConfigError("--timeout must be positive")
        if args.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        if args.max_concurrency is not None and args.max_concurrency < 1:
            raise ConfigError("--max-concurrency must be at least 1")
        if args.memory < 128:
            raise ConfigError("--memory must be at least 128 (MB)")
        if args.max_queue < 0:
            raise ConfigError("--max-queue must be 0 or more")
        runtime_cmd = tuple(shlex.split(args.runtime_cmd))
        if not runtime_cmd:
            raise ConfigError("--runtime-cmd is empty")
        if "/" in runtime_cmd[0] and not Path(runtime_cmd[0]).is_absolute():
            # The runtime runs in the task root (as on Lambda), so anchor a relative program path here.
            runtime_cmd = (os.path.abspath(runtime_cmd[0]), *runtime_cmd[1:])
        env = tuple(_parse_env(item) for item in args.env)
        if args.max_concurrency is not None:
            _check_managed_instances_env(env, args.max_concurrency)
        task_root = Path(args.task_root).resolve()
        if not task_root.is_dir():
            raise ConfigError(f"--task-root {task_root} is not a directory")
        front, stage, api_keys, cognito = _rest_options(args)
        function_name, lambda_api_port = _lambda_api_options(args)
        return cls(
            host=args.host,
            port=args.port,
            handler=args.handler,
            runtime_cmd=runtime_cmd,
            bedrock=args.bedrock,
            timeout=args.timeout,
            memory=args.memory,
            concurrency=args.concurrency,
            max_concurrency=args.max_concurrency,
            invoke_mode=args.invoke_mode,
            auth=args.auth,
            env=env,
            task_root=task_root,
            region=args.region,
            max_queue=args.max_queue,
            log_level=args.log_level,
            fault_injection=args.fault_injection,
            front=front,
            stage=stage,
            api_keys=api_keys,
            cognito=cognito,
            function_name=function_name,
            lambda_api_port=lambda_api_port,
        )


def _lambda_api_options(args: argparse.Namespace) -> tuple[str, int | None]:
    """--function-name and --lambda-api-port, checked: a name Lambda would take, a port other than the
    Function URL's."""
    name = getattr(args, "function_name", None) or DEFAULT_FUNCTION_NAME
    if not _FUNCTION_NAME.match(name):
        raise ConfigError(f"--function-name {name!r} is not a function name (1-64 letters, digits, '-', '_')")
    port = getattr(args, "lambda_api_port", None)
    if port is not None and not 0 <= port <= 65535:
        raise ConfigError(f"--lambda-api-port {port} is not a port (0-65535)")
    if port is not None and port != 0 and port == args.port:
        raise ConfigError(f"--lambda-api-port {port} is the Function URL's --port too")
    return name, port


def _rest_options(
    args: argparse.Namespace,
) -> tuple[str, str, tuple[ApiKey, ...] | None, CognitoSettings | None]:
    """--front and the REST API's options (front, stage, keys, user pool), checked together; the key
    file and JWKS are read here, so a bad one stops `serve` with a one-line error before anything
    starts."""
    front = getattr(args, "front", "function-url")
    given = [
        option
        for option, name in (
            ("--stage", "stage"),
            ("--api-keys", "api_keys"),
            ("--cognito-jwks", "cognito_jwks"),
            ("--cognito-client-id", "cognito_client_id"),
            ("--cognito-issuer", "cognito_issuer"),
        )
        if getattr(args, name, None) is not None
    ]
    if front != "rest":
        if given:
            raise ConfigError(f"{given[0]} needs --front rest")
        return "function-url", DEFAULT_STAGE, None, None
    if args.auth != "NONE":
        raise ConfigError("--auth AWS_IAM is not emulated with --front rest (the REST API's IAM mode)")
    if args.invoke_mode != "RESPONSE_STREAM":
        raise ConfigError("--front rest emulates the STREAM transfer mode only (no --invoke-mode BUFFERED)")
    stage = args.stage if args.stage is not None else DEFAULT_STAGE
    if not _STAGE_NAME.match(stage) or stage == "_emulator":
        raise ConfigError(f"--stage {stage!r} is not a stage name (letters, digits, '-' and '_')")
    if args.api_keys is not None and args.cognito_jwks is not None:
        raise ConfigError("--api-keys and --cognito-jwks exclude each other (one authorizer per API)")
    api_keys = None
    if args.api_keys is not None:
        try:
            api_keys = load_key_file(args.api_keys)
        except KeyFileError as exc:
            raise ConfigError(f"--api-keys: {exc}") from None
    if (args.cognito_client_id is not None or args.cognito_issuer is not None) and args.cognito_jwks is None:
        raise ConfigError("--cognito-client-id and --cognito-issuer need --cognito-jwks")
    cognito = None
    if args.cognito_jwks is not None:
        if args.cognito_client_id is None:
            raise ConfigError("--cognito-jwks needs --cognito-client-id (the app client id, the tokens' aud)")
        from emulator.rest_cognito import CognitoConfigError, load_settings  # noqa: PLC0415 - PyJWT on demand

        try:
            cognito = load_settings(
                args.cognito_jwks, client_id=args.cognito_client_id, issuer=args.cognito_issuer
            )
        except CognitoConfigError as exc:
            raise ConfigError(f"--cognito-jwks: {exc}") from None
    return "rest", stage, api_keys, cognito


def _parse_env(item: str) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name or not name.replace("_", "a").isalnum():
        raise ConfigError(f"--env {item!r} is not NAME=VALUE")
    return name, value


def _check_managed_instances_env(env: tuple[tuple[str, str], ...], max_concurrency: int) -> None:
    """--env may not contradict what a Managed Instances environment gets (--max-concurrency, JSON logs)."""
    for name, value in env:
        if name == "AWS_LAMBDA_MAX_CONCURRENCY" and value != str(max_concurrency):
            raise ConfigError(f"--env {name}={value} contradicts --max-concurrency {max_concurrency}")
        if name == "AWS_LAMBDA_LOG_FORMAT" and value.upper() != "JSON":
            raise ConfigError(f"--env {name}={value}: Lambda Managed Instances only support JSON logs")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The `serve` options (also reused by the `demo` subcommand)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3000, help="port; 0 picks a free one (default 3000)")
    parser.add_argument("--handler", default=DEFAULT_HANDLER, help="_HANDLER for the runtime")
    parser.add_argument(
        "--runtime-cmd", default=DEFAULT_RUNTIME_CMD, help="command starting the runtime (any language)"
    )
    parser.add_argument("--bedrock", choices=("stub", "aws"), default="stub", help="Bedrock endpoint")
    parser.add_argument("--timeout", type=float, default=300.0, help="function timeout in seconds")
    parser.add_argument("--memory", type=int, default=1024, help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE in MB")
    parser.add_argument("--concurrency", type=int, default=1, help="number of runtime processes")
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        metavar="N",
        help="Lambda Managed Instances: each runtime process serves up to N invocations at once",
    )
    parser.add_argument("--invoke-mode", choices=INVOKE_MODES, default="RESPONSE_STREAM")
    parser.add_argument("--auth", choices=AUTH_TYPES, default="NONE", help="Function URL auth type")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="runtime env var (repeatable)"
    )
    parser.add_argument("--task-root", default=str(DEFAULT_TASK_ROOT), help="LAMBDA_TASK_ROOT")
    parser.add_argument("--region", default="us-east-1", help="AWS_REGION and the SigV4 region")
    parser.add_argument(
        "--max-queue", type=int, default=64, help="waiting requests beyond which 429 (default 64)"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="log level"
    )
    parser.add_argument(
        "--fault-injection",
        action="store_true",
        help="enable POST /_emulator/faults to make the Runtime API fail on purpose (tests)",
    )


def add_rest_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve --front rest` and the emulated REST API's options."""
    parser.add_argument(
        "--front",
        choices=FRONTS,
        default="function-url",
        help="serve the function as a Function URL (default) or behind an emulated API Gateway REST API",
    )
    parser.add_argument("--stage", default=None, metavar="NAME", help="REST API stage (default prod)")
    parser.add_argument(
        "--api-keys", default=None, metavar="FILE", help="REST API: JSON key file; every request needs a key"
    )
    parser.add_argument(
        "--cognito-jwks", default=None, metavar="FILE", help="REST API: accept ID tokens signed by this JWKS"
    )
    parser.add_argument(
        "--cognito-client-id", default=None, metavar="ID", help="REST API: the app client id (aud)"
    )
    parser.add_argument(
        "--cognito-issuer", default=None, metavar="URL", help="REST API: the user pool's issuer (iss)"
    )


def add_lambda_api_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve --lambda-api-port P` and the function's name, which the Lambda API's paths name."""
    parser.add_argument(
        "--lambda-api-port",
        type=int,
        default=None,
        metavar="P",
        help="also serve the Lambda API (Invoke, InvokeWithResponseStream) on port P; 0 picks a free one",
    )
    parser.add_argument(
        "--function-name",
        default=DEFAULT_FUNCTION_NAME,
        metavar="NAME",
        help=f"AWS_LAMBDA_FUNCTION_NAME and the Lambda API's FunctionName (default {DEFAULT_FUNCTION_NAME})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The `python -m emulator` argument parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator", description="Local AWS Lambda emulator with streaming Function URLs"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a Function URL (or a REST API) until Ctrl-C")
    add_serve_arguments(serve)
    add_rest_arguments(serve)
    add_lambda_api_arguments(serve)
    demo = commands.add_parser("demo", help="stream one prompt through the local function, print stats, exit")
    add_serve_arguments(demo)
    demo.add_argument("--prompt", default=None, help="prompt to send (default: a demo prompt)")
    demo.set_defaults(log_level="WARNING")  # the streamed text, not the START/END/REPORT lines
    stub = commands.add_parser("bedrock-stub", help="run the offline Bedrock stand-in alone")
    stub.add_argument("--host", default="127.0.0.1")
    stub.add_argument("--port", type=int, default=0)
    return parser


def parse_serve_args(argv: Sequence[str]) -> EmulatorConfig:
    """Parse `serve` options only (without the subcommand word); used by tests and `demo`."""
    parser = argparse.ArgumentParser(prog="python -m emulator serve")
    add_serve_arguments(parser)
    add_rest_arguments(parser)
    add_lambda_api_arguments(parser)
    return EmulatorConfig.from_args(parser.parse_args(list(argv)))
