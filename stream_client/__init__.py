"""Streaming HTTP client for the Bedrock streaming Function URL: SigV4 signing, SSE/NDJSON/text, stats."""

from stream_client.client import PreparedRequest, StreamCall, StreamOptions, StreamResult, open_stream, stream
from stream_client.errors import (
    HttpStatusError,
    InBandError,
    MissingCredentialsError,
    RequestFailedError,
    StreamClientError,
    StreamProtocolError,
    TruncatedStreamError,
    UsageError,
)
from stream_client.stats import StreamStats

__all__ = [
    "HttpStatusError",
    "InBandError",
    "MissingCredentialsError",
    "PreparedRequest",
    "RequestFailedError",
    "StreamCall",
    "StreamClientError",
    "StreamOptions",
    "StreamProtocolError",
    "StreamResult",
    "StreamStats",
    "TruncatedStreamError",
    "UsageError",
    "open_stream",
    "stream",
]
