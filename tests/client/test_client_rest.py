"""The stream client's `--api-key` and `--bearer`: `Authorization: Bearer …` instead of SigV4, against a
scripted server (the exact request) and the emulated REST API with the real runtime and handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stream_client import HttpStatusError, StreamOptions, UsageError, open_stream
from stream_client.client import prepare_request
from tests.client.cli_runner import run_cli
from tests.client.scripted_server import DONE, ScriptedServer, sse_script
from tests.support.emulator_process import TEST_ACCESS_KEY, TEST_SECRET_KEY, hermetic_env
from tests.support.rest_api import RestApiProcess, UserPool, write_key_file

KEY = "sk-client-0123456789abcdefgh"
FUNCTION_URL = "https://abc123.lambda-url.eu-west-2.on.aws/"
SIGNING_ENV = hermetic_env(AWS_ACCESS_KEY_ID=TEST_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=TEST_SECRET_KEY)


@pytest.fixture(scope="module")
def rest_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestApiProcess]:
    """The real runtime and handler behind the emulated REST API, with one key."""
    keys = write_key_file(tmp_path_factory.mktemp("rest"), [{"name": "client", "value": KEY}])
    with RestApiProcess(["--api-keys", str(keys)]) as api:
        yield api


def test_an_api_key_is_sent_as_a_bearer_header_and_never_signed(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "ok"}), ("done", DONE))
    with open_stream(server.url, "hi", options=StreamOptions(bearer=KEY)) as call:
        assert list(call) == ["ok"]
    headers = server.requests[0].headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert not any(name.startswith("x-amz-") for name in headers)
    # Even for a Function URL host, which is otherwise signed: the key replaces the signature.
    prepared = prepare_request(FUNCTION_URL, "hi", StreamOptions(bearer=KEY))
    assert prepared.headers["Authorization"] == f"Bearer {KEY}" and "X-Amz-Date" not in prepared.headers


def test_the_cli_sends_either_option_the_same_way(server: ScriptedServer) -> None:
    server.script = sse_script(("delta", {"text": "ok"}), ("done", DONE))
    for option in ("--api-key", "--bearer"):
        result = run_cli(option, KEY, server.url, "hi", env=SIGNING_ENV)
        assert (result.returncode, result.stdout) == (0, "ok"), result.stderr
    assert [r.headers["authorization"] for r in server.requests] == [f"Bearer {KEY}"] * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-key", KEY, "--sign"], "exclude each other"),
        (["--bearer", KEY, "--sign"], "exclude each other"),
        (["--api-key", KEY, "--bearer", KEY], "not allowed with argument"),
        (["--api-key", ""], "is empty"),
        (["--api-key", "two words\nline"], "printable ASCII"),
        (["--api-key", f" {KEY}"], "printable ASCII"),
    ],
)
def test_usage_errors_never_quote_the_key(args: list[str], message: str) -> None:
    result = run_cli(*args, "http://127.0.0.1:9/", "hi", env=SIGNING_ENV)
    assert result.returncode == 2
    assert message in result.stderr
    if message != "not allowed with argument":  # argparse's own message names the options only
        assert KEY not in result.stderr


def test_the_key_stays_out_of_reprs() -> None:
    assert KEY not in repr(StreamOptions(bearer=KEY))
    with pytest.raises(UsageError):
        prepare_request("http://127.0.0.1:9/", "hi", StreamOptions(bearer=KEY, sign=True))


def test_streams_through_the_emulated_rest_api(rest_api: RestApiProcess) -> None:
    api = rest_api
    result = run_cli("--api-key", KEY, "--json", api.url, "hello @stub:tokens=6")
    summary = json.loads(result.stdout)
    assert (result.returncode, summary["ok"], summary["complete"]) == (0, True, True), result.stderr
    assert len(summary["text"].split()) == 6
    line = api.wait_for_log(r'\{"event":"invocation".*"door":"rest-api".*\}').group(0)
    assert json.loads(line)["principal"].startswith("apikey:k")
    assert KEY not in api.log()


def test_a_wrong_key_and_no_key(rest_api: RestApiProcess) -> None:
    api = rest_api
    wrong = run_cli("--api-key", "sk-wrong-0123456789abcdefghi", api.url, "hello")
    assert wrong.returncode == 1
    assert "HTTP 403: Forbidden" in wrong.stderr
    missing = run_cli("--no-sign", api.url, "hello")
    assert missing.returncode == 1 and "HTTP 401: Unauthorized" in missing.stderr
    with pytest.raises(HttpStatusError) as caught:
        open_stream(api.url, "hi", options=StreamOptions(bearer="sk-wrong-0123456789abcdefghi"))
    assert (caught.value.status, caught.value.error_type) == (403, "invalid_api_key")


def test_a_cognito_token_with_bearer(tmp_path: Path) -> None:
    pool = UserPool(tmp_path)
    with RestApiProcess(pool.args()) as api:
        ok = run_cli("--bearer", pool.token(sub="client-user"), api.url, "hello @stub:tokens=3")
        assert ok.returncode == 0 and len(ok.stdout.split()) == 3, ok.stderr
        line = api.wait_for_log(r'\{"event":"invocation".*\}').group(0)
        assert json.loads(line)["principal"] == "cognito:client-user"
        expired = run_cli("--bearer", pool.token(exp=1, iat=0), api.url, "hello")
        assert expired.returncode == 1 and "HTTP 401: Unauthorized" in expired.stderr
