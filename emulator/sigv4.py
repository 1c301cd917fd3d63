"""Verifies AWS Signature Version 4 on Function URL requests (--auth AWS_IAM), as Lambda does."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from emulator.supervisor import Credentials
from emulator.url_event import joined_headers

SERVICE = "lambda"
MAX_CLOCK_SKEW = timedelta(minutes=5)
LOCAL_ACCOUNT_ID = "000000000000"
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


class AuthError(Exception):
    """A request Lambda would refuse with 403; `error_type` names the AWS error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request a SigV4 signature covers."""

    method: str
    target: str  # raw path and query exactly as sent
    headers: Sequence[tuple[str, str]]
    body: bytes


def verify(
    request: SignedRequest, *, region: str, known: Sequence[Credentials], now: datetime | None = None
) -> dict[str, object]:
    """Check the signature; returns requestContext.authorizer.iam or raises AuthError."""
    headers = joined_headers(request.headers)
    authorization = headers.get("authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH_RE.match(authorization.strip())
    if match is None:
        raise AuthError("IncompleteSignatureException", "Authorization header is not a SigV4 signature")
    access_key, _, scope = match["credential"].partition("/")
    date, _, rest = scope.partition("/")
    signed_names = match["signed"].split(";")
    amz_date = headers.get("x-amz-date", "")
    _check_scope(scope=rest, date=date, amz_date=amz_date, region=region, signed=signed_names)
    _check_clock(amz_date, now or datetime.now(UTC))
    credentials = next((c for c in known if c.access_key == access_key), None)
    if credentials is None:
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if credentials.token and not hmac.compare_digest(
        headers.get("x-amz-security-token", ""), credentials.token
    ):
        raise AuthError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    body_hash = hashlib.sha256(request.body).hexdigest()
    claimed_hash = headers.get("x-amz-content-sha256")
    # UNSIGNED-PAYLOAD (an S3 convention) would leave the body out of the signature, so a captured
    # request could be replayed with any body; only the body's own hash is accepted.
    if claimed_hash is not None and claimed_hash != body_hash:
        raise AuthError(
            "InvalidSignatureException", "x-amz-content-sha256 must be the SHA-256 hex digest of the body"
        )
    expected = _signature(
        request,
        headers=headers,
        signed_names=signed_names,
        credentials=credentials,
        region=region,
        amz_date=amz_date,
    )
    if not hmac.compare_digest(expected, match["signature"]):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )
    return {
        "accessKey": access_key,
        "accountId": LOCAL_ACCOUNT_ID,
        "callerId": f"AIDALOCAL{access_key[-8:]}",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:user/local",
        "userId": f"AIDALOCAL{access_key[-8:]}",
    }


def _check_scope(*, scope: str, date: str, amz_date: str, region: str, signed: Sequence[str]) -> None:
    if scope != f"{region}/{SERVICE}/aws4_request":
        raise AuthError(
            "InvalidSignatureException",
            f"Credential should be scoped to {region}/{SERVICE}, not {scope!r}",
        )
    if "host" not in signed:
        raise AuthError("InvalidSignatureException", "SignedHeaders must include host")
    if not amz_date or amz_date[:8] != date:
        raise AuthError(
            "InvalidSignatureException", "X-Amz-Date is missing or does not match the credential date"
        )


def _check_clock(amz_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise AuthError("InvalidSignatureException", f"X-Amz-Date {amz_date!r} is not valid") from None
    if abs(now - signed_at) > MAX_CLOCK_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier or later than 5 minutes from {now:%Y%m%dT%H%M%SZ}",
        )


def _signature(
    request: SignedRequest,
    *,
    headers: Mapping[str, str],
    signed_names: Sequence[str],
    credentials: Credentials,
    region: str,
    amz_date: str,
) -> str:
    # botocore recomputes with exactly the headers the client signed, so path and query
    # normalisation match what AWS SDKs and the stream client produce.
    host = headers.get("host", "")
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{host}{request.target}",
        headers={name: headers.get(name, "") for name in signed_names},
        data=request.body,
    )
    aws_request.context["timestamp"] = amz_date
    signer = SigV4Auth(
        ReadOnlyCredentials(credentials.access_key, credentials.secret_key, credentials.token),
        SERVICE,
        region,
    )
    canonical = signer.canonical_request(aws_request)
    string_to_sign = signer.string_to_sign(aws_request, canonical)
    return str(signer.signature(string_to_sign, aws_request))
