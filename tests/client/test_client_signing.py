"""SigV4 signing: host-to-region rules, credential chain, signatures checked by an independent SigV4."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import pytest
from botocore.credentials import ReadOnlyCredentials

from stream_client import signing
from stream_client.client import StreamOptions, prepare_request
from stream_client.errors import MissingCredentialsError

CREDS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
URL = "https://abcdefghij0123456789.lambda-url.eu-west-2.on.aws/chat?b=2&a=1"
WHEN = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def reference_authorization(
    *, url_path: str, query: str, host: str, headers: dict[str, str], body: bytes, region: str, secret: str
) -> str:
    """SigV4 written out from the AWS spec, independent of botocore, for headers + host + x-amz-date."""
    amz_date = WHEN.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    all_headers = {k.lower(): v.strip() for k, v in headers.items()} | {"host": host, "x-amz-date": amz_date}
    names = sorted(all_headers)
    canonical_query = "&".join(sorted(query.split("&")))
    canonical = "\n".join(
        [
            "POST",
            url_path,
            canonical_query,
            "".join(f"{n}:{all_headers[n]}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/lambda/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = f"AWS4{secret}".encode()
    for part in (day, region, "lambda", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed_headers = ";".join(names)
    credential = f"AKIDEXAMPLE/{scope}"
    return f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed_headers}, Signature={signature}"


def test_signature_matches_independent_sigv4() -> None:
    body = b'{"prompt": "hi \xc3\xa9"}'
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    signed = signing.sign_headers(
        method="POST",
        url=URL,
        body=body,
        headers=headers,
        credentials=CREDS,
        region="eu-west-2",
        signed_at=WHEN,
    )
    assert signed["X-Amz-Date"] == "20260304T050607Z"
    assert signed["Authorization"] == reference_authorization(
        url_path="/chat",
        query="b=2&a=1",
        host="abcdefghij0123456789.lambda-url.eu-west-2.on.aws",
        headers=headers,
        body=body,
        region="eu-west-2",
        secret=CREDS.secret_key,
    )


def test_different_body_gives_different_signature() -> None:
    def sign(body: bytes) -> str:
        return signing.sign_headers(
            method="POST",
            url=URL,
            body=body,
            headers={},
            credentials=CREDS,
            region="eu-west-2",
            signed_at=WHEN,
        )["Authorization"]

    assert sign(b"a") != sign(b"b")


def test_session_token_is_sent_and_signed() -> None:
    creds = ReadOnlyCredentials("AKID", "SECRET", "TOKEN123")
    signed = signing.sign_headers(
        method="POST", url=URL, body=b"", headers={}, credentials=creds, region="eu-west-2", signed_at=WHEN
    )
    assert signed["X-Amz-Security-Token"] == "TOKEN123"
    assert "x-amz-security-token" in signed["Authorization"]


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abc123.lambda-url.us-west-2.on.aws/", "us-west-2"),
        ("https://ABC123.LAMBDA-URL.ap-southeast-1.ON.AWS:443/x", "ap-southeast-1"),
        ("http://127.0.0.1:3000/", None),
        ("https://example.com/abc.lambda-url.us-east-1.on.aws", None),
        ("https://abc.lambda-url.us-east-1.on.aws.evil.example/", None),
    ],
)
def test_function_url_region(url: str, region: str | None) -> None:
    assert signing.function_url_region(url) == region
    assert signing.should_sign(url, sign=None) is (region is not None)
    assert signing.should_sign(url, sign=True) is True
    assert signing.should_sign(url, sign=False) is False


def test_region_precedence() -> None:
    assert signing.resolve_region(URL, region="us-east-2") == "us-east-2"
    assert signing.resolve_region(URL, region=None) == "eu-west-2"
    assert signing.resolve_region("http://127.0.0.1:1/", region=None) == "us-east-1"


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    # Keeps botocore from probing the instance metadata address: nothing may leave 127.0.0.1.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)


@pytest.mark.usefixtures("no_aws_credentials")
def test_missing_credentials_for_function_url() -> None:
    with pytest.raises(MissingCredentialsError, match="no AWS credentials"):
        prepare_request(URL, "hi", StreamOptions())


@pytest.mark.usefixtures("no_aws_credentials")
def test_unsigned_local_url_needs_no_credentials() -> None:
    prepared = prepare_request("http://127.0.0.1:3000/", "hi", StreamOptions())
    assert "Authorization" not in prepared.headers


def test_credentials_from_environment_chain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    prepared = prepare_request(URL, "hi", StreamOptions())
    assert "Credential=AKIDFROMENV/" in prepared.headers["Authorization"]
    assert "/eu-west-2/lambda/aws4_request" in prepared.headers["Authorization"]


def test_signing_a_custom_domain_uses_the_configured_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    prepared = prepare_request("https://chat.example.com/", "hi", StreamOptions(sign=True))
    assert "/ap-southeast-2/lambda/aws4_request" in prepared.headers["Authorization"]
