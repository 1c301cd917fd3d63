"""The handler's botocore-session client behaves as `boto3.Session().client("bedrock-runtime")` would.

The function builds its client without importing boto3 (a cold-start saving). These tests hold it to the
same credential chain, endpoint lookup (including AWS_ENDPOINT_URL_BEDROCK_RUNTIME), region, timeouts
and retry settings as the boto3 client built with the same Config, by comparing what each client would
put on the wire: the request URL and the SigV4 credential scope, captured before anything is sent.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.model import client_config, create_bedrock_client

MODEL_ID = "amazon.nova-lite-v1:0"


class _CapturedError(Exception):
    """Raised from `before-send` once the request is captured, so nothing leaves the process."""


_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


def _config(region: str = "eu-west-1") -> HandlerConfig:
    return HandlerConfig(
        model_ids=(MODEL_ID,), region=region, connect_timeout_s=2.5, read_timeout_s=42.0, max_attempts=4
    )


def _boto3_client(config: HandlerConfig) -> Any:
    """What the function built before: boto3's session, the same botocore Config."""
    return boto3.session.Session().client("bedrock-runtime", config=client_config(config))


def _outgoing(client: Any) -> dict[str, str]:
    """The URL and SigV4 scope of a ConverseStream request, captured in `before-send` (nothing is sent)."""
    seen: dict[str, str] = {}

    def capture(request: Any, **_: Any) -> None:
        match = _CREDENTIAL.search(request.headers["Authorization"].decode())
        assert match is not None, request.headers["Authorization"]
        seen.update(url=request.url, access_key=match[1], region=match[2], service=match[3])
        raise _CapturedError

    client.meta.events.register("before-send.bedrock-runtime.ConverseStream", capture)
    with pytest.raises(_CapturedError):
        client.converse_stream(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    return seen


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # No shared files from this machine: an empty config, and credentials only where a test writes them.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield monkeypatch


def test_settings_match_boto3(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    ours, theirs = create_bedrock_client(_config()), _boto3_client(_config())
    for client in (ours, theirs):
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.config.connect_timeout == 2.5
        assert client.meta.config.read_timeout == 42.0
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
        assert client.meta.config.tcp_keepalive is True
    assert (
        ours.meta.endpoint_url
        == theirs.meta.endpoint_url
        == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    )


def test_environment_credentials_and_default_endpoint(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_SESSION_TOKEN", "token")
    ours = _outgoing(create_bedrock_client(_config()))
    assert ours == _outgoing(_boto3_client(_config()))
    assert ours["access_key"] == "AKIDENV"
    assert ours["url"].startswith("https://bedrock-runtime.eu-west-1.amazonaws.com/model/")
    assert (ours["region"], ours["service"]) == ("eu-west-1", "bedrock")


def test_endpoint_environment_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("AWS_ACCESS_KEY_ID", "AKIDENV")
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    clean_env.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9/")
    ours = _outgoing(create_bedrock_client(_config()))
    assert ours == _outgoing(_boto3_client(_config()))
    assert ours["url"].startswith("http://127.0.0.1:9/model/")


def test_shared_credentials_file_and_profile(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = a\n"
        "[other]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = b\n"
    )
    clean_env.delenv("AWS_ACCESS_KEY_ID", raising=False)
    clean_env.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    assert _outgoing(create_bedrock_client(_config()))["access_key"] == "AKIDDEFAULT"
    clean_env.setenv("AWS_PROFILE", "other")
    ours = _outgoing(create_bedrock_client(_config()))
    assert ours == _outgoing(_boto3_client(_config()))
    assert ours["access_key"] == "AKIDPROFILE"


def test_the_function_never_imports_boto3() -> None:
    """The saving is real only if nothing on the handler's import path pulls boto3 (or s3transfer) in."""
    code = (
        "import sys, bedrock_handler.app; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 's3transfer')))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        env={"PYTHONPATH": f"{root / 'runtime'}", "MODEL_IDS": MODEL_ID, "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[]"
