"""`python -m stream_client smoke` run as a subprocess against real emulators: the Function URL front with
SigV4 (every check passes), the REST API front with a right and a wrong key, a buffered reply the
streaming rule catches, usage errors, and `make smoke`; the request budget counted by the emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_client import smoke
from stream_client.smoke_checks import STREAMING_MIN_SPREAD_MS
from stream_client.smoke_target import Target
from tests.client.cli_runner import run_cli
from tests.support.emulator_process import (
    REPO,
    TEST_ACCESS_KEY,
    TEST_SECRET_KEY,
    EmulatorProcess,
    hermetic_env,
    run_make,
)
from tests.support.http_client import request
from tests.support.rest_api import RestApiProcess, write_key_file

pytestmark = pytest.mark.slow

KEY = "sk-smoke-0123456789abcdefgh"
WRONG_KEY = "sk-wrong-0123456789abcdefgh"
SIGNING_ENV = hermetic_env(AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY)
MODELS = "2 models: us.anthropic.claude-haiku-4-5-20251001-v1:0, amazon.nova-lite-v1:0"
# The stand-in's golden answers: the counting prompt has 11 words and asks for 20 deltas; the chat prompt
# has 6 words and asks for 3.
NATIVE = re.compile(
    r"first byte \d+ ms, last byte \d+ ms \((?P<spread>\d+) ms later, (?P<reads>\d+) reads\); "
    r"20 deltas; done: end_turn, usage in 11 / out 20"
)
CHAT = re.compile(
    r"\d+ chunks, \d+ characters, finish_reason stop, usage prompt 6 / completion 3, then data: \[DONE\]"
)
INFO_LINES = {"completion": "INFO", "pre-prelude": "INFO"}


def report_lines(stdout: str) -> dict[str, tuple[str, str]]:
    """Each check line as name -> (status, detail)."""
    lines = {}
    for line in stdout.splitlines():
        if match := re.fullmatch(r"(PASS|FAIL|SKIP|INFO) (\S+) +(.*)", line):
            lines[match.group(2)] = (match.group(1), match.group(3))
    return lines


def statuses(stdout: str) -> dict[str, str]:
    return {name: status for name, (status, _) in report_lines(stdout).items()}


def invocations(root: str) -> int:
    health = request(root, "/_emulator/health", method="GET").json()
    return sum(int(sandbox["invocations"]) for sandbox in health["sandboxes"])


@pytest.fixture(scope="module")
def iam_emulator() -> Iterator[EmulatorProcess]:
    """The Function URL front with AWS_IAM auth, as the stack deploys it by default."""
    env = {"AWS_ACCESS_KEY_ID": TEST_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": TEST_SECRET_KEY}
    with EmulatorProcess(["--auth", "AWS_IAM"], env=env) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def rest_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestApiProcess]:
    keys = write_key_file(tmp_path_factory.mktemp("smoke"), [{"name": "smoke", "value": KEY}])
    with RestApiProcess(["--api-keys", str(keys)]) as api:
        yield api


def test_a_signed_function_url_passes_every_check(iam_emulator: EmulatorProcess) -> None:
    url = iam_emulator.url
    before = invocations(url)
    result = run_cli("smoke", url, "--sign", env=SIGNING_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = report_lines(result.stdout)
    assert result.stdout.splitlines()[0] == (
        f"smoke test of {url} (function-url door, auth: SigV4 (service lambda, us-east-1), "
        "the local emulator)"
    )
    assert statuses(result.stdout) == {
        "native-stream": "PASS",
        "openai-stream": "PASS",
        "bad-request": "PASS",
        "models": "PASS",
        "metrics": "PASS",
        **INFO_LINES,
    }
    native = NATIVE.fullmatch(lines["native-stream"][1])
    assert native, lines["native-stream"]
    # The stand-in paces 20 deltas 10 ms apart: the body came in many reads over well above 50 ms.
    assert int(native["reads"]) >= 2 and int(native["spread"]) >= STREAMING_MIN_SPREAD_MS
    assert CHAT.fullmatch(lines["openai-stream"][1]), lines["openai-stream"]
    assert lines["bad-request"][1] == "HTTP 400 invalid_request: body is not valid JSON"
    assert lines["models"][1] == MODELS
    assert lines["metrics"][1] == (
        "/_emulator/metrics: documents +4 for 4 requests that reached the function, tokens in +17 / out +23"
    )
    assert lines["completion"][1].startswith("PROTOCOL.md §11.9 #2: the emulator sends no completion")
    assert lines["pre-prelude"][1].startswith("PROTOCOL.md §11.9 #1, not observable read-only")
    assert result.stdout.splitlines()[-2:] == [
        "requests: 4 to the function, 2 to the emulator's /_emulator/metrics (at most 8); "
        "CloudWatch Logs API calls: 0",
        "result: PASS (5 passed, 0 failed, 0 skipped, 2 info)",
    ]
    assert invocations(url) - before == 4  # the emulator's own count: 4 invocations, within the budget of 8


def test_an_unsigned_request_to_an_iam_url_fails_with_the_403(iam_emulator: EmulatorProcess) -> None:
    url = iam_emulator.url
    before = invocations(url)
    result = run_cli("smoke", url, "--no-sign", env=SIGNING_ENV)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = report_lines(result.stdout)
    assert lines["native-stream"][0] == "FAIL" and lines["native-stream"][1].startswith("POST /: HTTP 403")
    assert lines["metrics"] == ("SKIP", "no request reached the function, so it wrote no document")
    assert invocations(url) == before


def test_the_rest_api_with_its_key_passes(rest_api: RestApiProcess) -> None:
    before = rest_api.invocations()
    result = run_cli("smoke", rest_api.url, "--api-key", KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (
        f"smoke test of {rest_api.url} (rest-api door, auth: Authorization: Bearer, the local emulator)"
    )
    assert set(statuses(result.stdout).items()) >= {
        ("native-stream", "PASS"),
        ("openai-stream", "PASS"),
        ("bad-request", "PASS"),
        ("models", "PASS"),
        ("metrics", "PASS"),
    }
    assert report_lines(result.stdout)["models"][1] == MODELS
    assert result.stdout.splitlines()[-1] == "result: PASS (5 passed, 0 failed, 0 skipped, 2 info)"
    assert rest_api.invocations() - before == 4
    assert KEY not in result.stdout + result.stderr


def test_a_wrong_key_fails_each_check_with_the_403(rest_api: RestApiProcess) -> None:
    before = rest_api.invocations()
    result = run_cli("smoke", rest_api.url, "--api-key", WRONG_KEY)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = report_lines(result.stdout)
    forbidden = "HTTP 403 invalid_api_key: Forbidden"
    assert lines["native-stream"] == ("FAIL", f"POST /prod/: {forbidden}")
    assert lines["models"] == ("FAIL", f"GET /prod/v1/models: {forbidden}")
    assert lines["bad-request"] == (
        "FAIL",
        f"POST /prod/: {forbidden}; refused in front of the function, not by it",
    )
    assert lines["openai-stream"] == ("SKIP", "no model id to ask for (pass --model ID)")
    assert lines["metrics"][0] == "SKIP"
    assert result.stdout.splitlines()[-1] == "result: FAIL (0 passed, 3 failed, 2 skipped, 2 info)"
    assert rest_api.invocations() == before  # nothing refused reached the runtime
    assert WRONG_KEY not in result.stdout + result.stderr


def test_a_buffered_reply_fails_the_streaming_rule(rest_api: RestApiProcess) -> None:
    # The emulator's /_emulator/buffered/ twin of the stage answers the same body in one piece.
    result = run_cli("smoke", rest_api.root + "_emulator/buffered/prod/", "--api-key", KEY)
    assert result.returncode == 1
    status, detail = report_lines(result.stdout)["native-stream"]
    assert status == "FAIL"
    assert "20 deltas; done: end_turn" in detail and "arrived at once (buffered?)" in detail
    assert re.search(r"\(\d+ ms later, 1 read\)", detail), detail


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-key", KEY, "--sign"], "exclude each other"),
        (["--max-tokens", "0"], "--max-tokens must be 1 to 256"),
        (["--log-wait", "301"], "--log-wait 0 to 300"),
        (["--sign"], "no AWS credentials found"),
    ],
)
def test_usage_errors_exit_2_before_any_request(args: list[str], message: str) -> None:
    result = run_cli("smoke", "http://127.0.0.1:9/", *args)  # nothing listens: a request would FAIL, exit 1
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert message in result.stderr and KEY not in result.stderr


def test_a_url_with_a_query_is_a_usage_error() -> None:
    result = run_cli("smoke", "http://127.0.0.1:9/?format=sse")
    assert result.returncode == 2
    assert result.stderr == (
        "python -m stream_client smoke: the URL must not carry a query or fragment: "
        "give the function's base URL\n"
    )


@pytest.mark.parametrize(
    ("url", "bearer", "expected"),
    [
        ("https://abc123.lambda-url.eu-west-2.on.aws", False, ("function-url", "eu-west-2", False)),
        (
            "https://a1b2c3.execute-api.ap-south-1.amazonaws.com/prod",
            False,
            ("rest-api", "ap-south-1", False),
        ),
        ("https://api.example.com/prod/", True, ("rest-api", None, False)),
        ("http://localhost:3000", False, ("function-url", None, True)),
    ],
)
def test_the_target_door_region_and_locality(url: str, bearer: bool, expected: tuple[object, ...]) -> None:
    target = Target.parse(url, bearer=bearer)
    assert target.url.endswith("/") and target.join("v1/models").endswith("/v1/models")
    assert (target.door, target.region, target.is_local) == expected


def test_streaming_a_prompt_still_works_beside_the_subcommand(iam_emulator: EmulatorProcess) -> None:
    result = run_cli(iam_emulator.url, "hello @stub:tokens=3", "--sign", env=SIGNING_ENV)
    assert result.returncode == 0 and len(result.stdout.split()) == 3, result.stderr


def test_make_smoke_without_url_stops_with_one_line() -> None:
    for args in ([], ["URL="]):
        result = run_make("smoke", *args)
        assert result.returncode != 0 and result.stdout == ""
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "URL is missing: make smoke URL=" in result.stderr


def test_make_smoke_runs_the_command_with_url_and_args() -> None:
    result = run_make("-n", "smoke", "URL=http://127.0.0.1:9/", "ARGS=--api-key KEY --log-wait 5")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        ".venv/bin/python -m stream_client smoke 'http://127.0.0.1:9/' --api-key KEY --log-wait 5"
    )


def test_every_smoke_option_is_documented() -> None:
    text = (Path(REPO) / "docs" / "stream-client.md").read_text(encoding="utf-8")
    section = text.split("## Smoke test a deployment", 1)[1].split("\n## ", 1)[0]
    options = {
        option
        for action in smoke.build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert {"--api-key", "--sign", "--log-group"} <= options
    assert sorted(option for option in options if f"`{option}" not in section) == []
