"""Command line: `python -m emulator serve ...`, `... demo ...` and `python -m emulator bedrock-stub ...`."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from emulator.bedrock_stub import BedrockStub
from emulator.config import LOOPBACK_HOSTS, ConfigError, EmulatorConfig, build_parser
from emulator.demo import main as demo_main
from emulator.local_lambda import Emulator


def _stop_on_signal() -> threading.Event:
    """An event that SIGINT/SIGTERM set. Installed before the ready line is printed, so a signal sent as
    soon as a caller sees that line still stops everything cleanly instead of killing the process."""
    stop = threading.Event()

    def _handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)
    return stop


def _wait(stop: threading.Event) -> None:
    while not stop.wait(1.0):  # a timed wait keeps the main thread responsive to signals
        pass


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("emulator")
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


def _warn_if_exposed(host: str) -> None:
    if host not in LOOPBACK_HOSTS:
        print(
            f"warning: binding {host} exposes the emulator (and your credentials' reach) beyond this machine",
            file=sys.stderr,
            flush=True,
        )


class _Service(Protocol):
    @property
    def url(self) -> str: ...

    def close(self) -> None: ...


def _serve_until_signal(
    *,
    host: str,
    label: str,
    start: Callable[[], _Service],
    path: str = "",
    more_lines: Callable[[], Sequence[str]] = tuple,
) -> int:
    """Start a server, print `label: URL` (the server's URL then `path`) and `more_lines()` once it
    accepts requests, serve until SIGINT/SIGTERM."""
    _warn_if_exposed(host)
    stop = _stop_on_signal()
    try:
        service = start()
    except OSError as exc:
        print(f"error: cannot start on {host}: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"{label}: {service.url}{path}", flush=True)
        for line in more_lines():
            print(line, flush=True)
        _wait(stop)
    finally:
        service.close()
    return 0


def serve(config: EmulatorConfig) -> int:
    """`python -m emulator serve`: the Function URL (or with --front rest the REST API's stage URL,
    `API URL: http://HOST:PORT/STAGE/`), and with --lambda-api-port a second line
    `Lambda API: http://HOST:P`, until Ctrl-C."""
    emulator = Emulator(config)

    def lambda_api_line() -> Sequence[str]:
        url = emulator.lambda_api_url
        return () if url is None else (f"Lambda API: {url}",)

    label, path = ("API URL", f"{config.stage}/") if config.front == "rest" else ("Function URL", "")
    return _serve_until_signal(
        host=config.host, label=label, start=emulator.start, path=path, more_lines=lambda_api_line
    )


def bedrock_stub(host: str, port: int) -> int:
    """`python -m emulator bedrock-stub`: the offline Bedrock stand-in alone until Ctrl-C."""
    return _serve_until_signal(
        host=host, label="Bedrock stand-in", start=lambda: BedrockStub.start(host=host, port=port)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bedrock-stub":
        _configure_logging("INFO")
        return bedrock_stub(args.host, args.port)
    try:
        config = EmulatorConfig.from_args(args)
    except ConfigError as exc:
        parser.error(str(exc))
    _configure_logging(config.log_level)
    if args.command == "demo":
        _warn_if_exposed(config.host)  # demo binds --host too, if only for one prompt
        return demo_main(config, args.prompt)
    return serve(config)


if __name__ == "__main__":
    sys.exit(main())
