"""A real boto3 `bedrock-runtime` client for a local Bedrock stand-in: dummy credentials, one attempt."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config


def bedrock_client(url: str, **config: Any) -> Any:
    """The client for the stand-in at `url`; `config` adds to or overrides the botocore settings."""
    settings: dict[str, Any] = {
        "retries": {"total_max_attempts": 1},
        "read_timeout": 5,
        "connect_timeout": 2,
        **config,
    }
    return boto3.session.Session().client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDUMMY",
        aws_secret_access_key="dummy",
        config=Config(**settings),
    )
