"""`serve --lambda-api-port P`: the ready line, port 0 and a fixed port, loopback binding, option errors,
and `make local` turning the Lambda API on at 3001."""

from __future__ import annotations

import re
import socket

import pytest

from tests.emulator.conftest import raw_runtime_args
from tests.support.emulator_process import EmulatorProcess, run_emulator, run_make

READY_LINES = re.compile(
    r"^Function URL: http://127\.0\.0\.1:(\d+)/\nLambda API: http://127\.0\.0\.1:(\d+)$", re.M
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_port_0_picks_a_free_port_and_prints_the_ready_line(emulator_factory: type[EmulatorProcess]) -> None:
    running = emulator_factory(raw_runtime_args("--lambda-api-port", "0"))
    match = READY_LINES.search(running.log())
    assert match is not None, running.log()
    url_port, api_port = int(match.group(1)), int(match.group(2))
    assert api_port not in (0, url_port)
    assert running.lambda_api_url == f"http://127.0.0.1:{api_port}"
    with socket.create_connection(("127.0.0.1", api_port), timeout=5):
        pass  # it accepts connections as soon as the line is printed


def test_a_fixed_port_is_used(emulator_factory: type[EmulatorProcess]) -> None:
    port = free_port()
    running = emulator_factory(raw_runtime_args("--lambda-api-port", str(port)))
    assert running.lambda_api_url == f"http://127.0.0.1:{port}"


def test_without_the_option_there_is_no_lambda_api(emulator_factory: type[EmulatorProcess]) -> None:
    running = emulator_factory(raw_runtime_args())
    assert running.lambda_api_url is None and "Lambda API" not in running.log()


def test_a_port_in_use_stops_serve_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_emulator("serve", "--port", "0", "--lambda-api-port", str(port), *raw_runtime_args())
    assert result.returncode == 1
    assert result.stderr.strip().endswith("Address already in use") and "error: cannot start" in result.stderr
    assert "Function URL" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--port", "3456", "--lambda-api-port", "3456"],
            "--lambda-api-port 3456 is the Function URL's --port too",
        ),
        (["--lambda-api-port", "70000"], "--lambda-api-port 70000 is not a port"),
        (["--lambda-api-port", "x"], "--lambda-api-port: invalid int value"),
        (["--function-name", "bad name"], "--function-name 'bad name' is not a function name"),
        (["--function-name", "x" * 65], "is not a function name"),
    ],
)
def test_option_errors(args: list[str], message: str) -> None:
    result = run_emulator("serve", *args)
    assert result.returncode == 2 and message in result.stderr


def test_make_local_serves_the_lambda_api_at_3001() -> None:
    result = run_make("-n", "local")
    assert result.returncode == 0, result.stderr
    serve = [line for line in result.stdout.splitlines() if "-m emulator serve" in line]
    assert len(serve) == 1, result.stdout
    words = serve[0].split()
    assert words[words.index("--lambda-api-port") + 1] == "3001"
