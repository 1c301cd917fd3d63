"""The model boundary: the `ModelStream` protocol and its Bedrock implementation (Converse or InvokeModel)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bedrock_handler import invoke_chunks, invoke_formats
from bedrock_handler.chat import ChatRequest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.converse_request import converse_arguments
from bedrock_handler.errors import (
    ModelStreamError,
    RequestError,
    UpstreamError,
    log_detail,
    stream_error,
    upstream_error,
)

LOGGER = logging.getLogger("bedrock_handler")


# A NamedTuple, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start (docs/performance.md).
class TextDelta(NamedTuple):
    """A piece of generated text."""

    text: str


class StreamEnd(NamedTuple):
    """The model finished: why, the token counts it reported, and a guardrail's reason if one stopped it."""

    stop_reason: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    guardrail_action: str | None = None


# Slotted classes for the rarer events: each NamedTuple costs ~0.06 ms of every cold start to define.
class ReasoningDelta:
    """A piece of the model's reasoning text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class ReasoningSignature:
    """The end of a reasoning block: its signature, or the redacted (encrypted) reasoning it stands for.
    Either must be sent back unchanged with the block on a later turn."""

    __slots__ = ("redacted", "signature")

    def __init__(self, signature: str | None, redacted: bytes | None) -> None:
        self.signature, self.redacted = signature, redacted


class ToolCallStart:
    """The model starts calling a tool: `index` counts the reply's tool calls from 0."""

    __slots__ = ("call_id", "index", "name")

    def __init__(self, index: int, call_id: str, name: str) -> None:
        self.index, self.call_id, self.name = index, call_id, name


class ToolCallDelta:
    """A fragment of a tool call's JSON arguments, as the model sends it."""

    __slots__ = ("arguments", "index")

    def __init__(self, index: int, arguments: str) -> None:
        self.index, self.arguments = index, arguments


ModelEvent = TextDelta | StreamEnd | ReasoningDelta | ReasoningSignature | ToolCallStart | ToolCallDelta


class OpenStream(Protocol):
    """A started model stream: text, reasoning and tool-call events, then one `StreamEnd`; iteration raises
    `ModelStreamError`."""

    def __iter__(self) -> Iterator[ModelEvent]: ...

    def close(self) -> None:
        """Release the connection (also when abandoning the stream early)."""

    def abort(self) -> None:
        """From another thread: end a read that is waiting for the next event, so iteration stops at once
        (raising `ModelStreamError`) instead of when the model sends something or the read times out."""


class ModelStream(Protocol):
    """Starts a model stream. The call itself fails with `UpstreamError` before any event exists."""

    def stream(self, request: ChatRequest) -> OpenStream: ...


def client_config(config: HandlerConfig) -> Config:
    """The botocore settings of the Bedrock client: region, timeouts, retries, TCP keep-alive."""
    return Config(
        region_name=config.region,
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        # total_max_attempts counts the first call; botocore's `max_attempts` key counts only retries.
        retries={"mode": "standard", "total_max_attempts": config.max_attempts},
        tcp_keepalive=True,
    )


def create_bedrock_client(config: HandlerConfig) -> Any:
    """The bedrock-runtime client, built once at init. The endpoint comes from botocore's own lookup, so
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME points it at the stand-in with no code path of ours.

    Built from a botocore session, not boto3's: boto3.Session().client() delegates to this very call (same
    credential chain, config and endpoint resolution), but importing boto3 also imports s3transfer and
    its resource layer, which the function never uses (docs/performance.md has the measured saving).
    """
    return botocore.session.get_session().create_client("bedrock-runtime", config=client_config(config))


class BedrockModelStream:
    """`ModelStream` over a bedrock-runtime client, choosing ConverseStream or InvokeModel per model; also
    the embeddings API's `EmbeddingModel` (`embed`: one InvokeModel call)."""

    def __init__(self, *, client: Any, config: HandlerConfig) -> None:
        self._client = client
        self._config = config

    def stream(self, request: ChatRequest) -> OpenStream:
        """Make the pre-stream call (errors become `UpstreamError`) and return the event iterator."""
        invoke = self._config.uses_invoke(request.model_id)
        if invoke and not request.text_only:
            raise RequestError(
                f"model {request.model_id} is called through InvokeModel, which takes plain text only; "
                "images, documents, tools and reasoning need the Converse API (see INVOKE_MODEL_IDS)"
            )
        try:
            if invoke:
                family = invoke_formats.model_family(request.model_id)
                response = self._client.invoke_model_with_response_stream(
                    modelId=request.model_id,
                    body=json.dumps(invoke_formats.request_body(family, request)).encode("utf-8"),
                    contentType="application/json",
                    accept="application/json",
                    **self._invoke_guardrail(),
                )
                return _InvokeEvents(response["body"], family=family)
            response = self._client.converse_stream(**converse_arguments(request, self._config))
            return _ConverseEvents(response["stream"], tools=request.tool_choice != "none")
        except (ClientError, BotoCoreError) as exc:
            LOGGER.warning("Bedrock call failed: %s", log_detail(exc))
            raise upstream_error(exc) from exc

    def embed(self, model_id: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
        """One InvokeModel call with a JSON body (an embedding model's): the decoded JSON answer and the
        `X-Amzn-Bedrock-Input-Token-Count` header's count (None when absent). Failures, reading the
        answer included, are `UpstreamError`s."""
        try:
            response = self._client.invoke_model(
                modelId=model_id,
                body=json.dumps(body).encode("utf-8"),
                contentType="application/json",
                accept="application/json",
            )
            raw = response["body"].read()
        except (ClientError, BotoCoreError) as exc:
            LOGGER.warning("Bedrock call failed: %s", log_detail(exc))
            raise upstream_error(exc) from exc
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise UpstreamError("Bedrock returned an answer that is not a JSON object")
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        count = str(headers.get("x-amzn-bedrock-input-token-count", ""))
        return document, int(count) if count.isascii() and count.isdigit() else None

    def _invoke_guardrail(self) -> dict[str, str]:
        if not self._config.guardrail_id:
            return {}
        return {
            "guardrailIdentifier": self._config.guardrail_id,
            "guardrailVersion": str(self._config.guardrail_version),
            "trace": "ENABLED",
        }


class _BotoEvents:
    """Shared iteration: translate botocore stream events, map failures, detect a stream cut short."""

    def __init__(self, events: Any) -> None:
        self._events = events

    def __iter__(self) -> Iterator[ModelEvent]:
        try:
            yield from self._translate(self._events)
        except ModelStreamError:
            raise
        except Exception as exc:  # after the stream started, any failure is reported in-band
            LOGGER.warning("Bedrock stream failed: %s", log_detail(exc))
            raise stream_error(exc) from exc

    def _translate(self, events: Iterable[Mapping[str, Any]]) -> Iterator[ModelEvent]:
        raise NotImplementedError

    def close(self) -> None:
        self._events.close()

    def abort(self) -> None:
        # Closing a socket does not wake a thread blocked reading it; shutting it down does. botocore's
        # EventStream keeps urllib3's response in `_raw_stream` (pinned versions; tested with the stand-in).
        raw = getattr(self._events, "_raw_stream", None)
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is None:
            self.close()
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _incomplete() -> ModelStreamError:
    return ModelStreamError(
        "Bedrock stream ended before the model finished", error_type="bedrock_stream_incomplete"
    )


class _ConverseEvents(_BotoEvents):
    def __init__(self, events: Any, *, tools: bool) -> None:
        self._events = events
        self._tools = tools  # False when the caller chose tool_choice `none`: tool calls are dropped

    def _translate(self, events: Iterable[Mapping[str, Any]]) -> Iterator[ModelEvent]:
        stop_reason: str | None = None
        metadata: Mapping[str, Any] = {}
        tool_calls: dict[object, int] = {}  # content block index -> tool call number (0, 1, ...)
        for event in events:
            if "contentBlockDelta" in event:
                block = event["contentBlockDelta"]
                delta = block.get("delta", {})
                if text := delta.get("text"):
                    yield TextDelta(text)
                elif "reasoningContent" in delta:
                    yield from _reasoning(delta["reasoningContent"])
                elif "toolUse" in delta:
                    number = tool_calls.get(block.get("contentBlockIndex"))
                    fragment = delta["toolUse"].get("input")
                    if number is not None and fragment:
                        yield ToolCallDelta(number, fragment)
            elif "contentBlockStart" in event:
                block = event["contentBlockStart"]
                start = block.get("start", {}).get("toolUse")
                if start is not None and self._tools:
                    tool_calls[block.get("contentBlockIndex")] = number = len(tool_calls)
                    yield ToolCallStart(number, str(start["toolUseId"]), str(start["name"]))
            elif "messageStop" in event:
                stop_reason = str(event["messageStop"].get("stopReason", "end_turn"))
                if stop_reason == "tool_use" and not self._tools:
                    stop_reason = "end_turn"
            elif "metadata" in event:
                metadata = event["metadata"]
        usage = metadata.get("usage")
        # A frame cut off before a clean end of body is dropped silently by botocore (PROTOCOL.md §6.5).
        if stop_reason is None or not usage:
            raise _incomplete()
        trace = metadata.get("trace")  # only with a guardrail (or a prompt router)
        yield StreamEnd(  # botocore has parsed the counts as integers
            stop_reason,
            usage.get("inputTokens", 0),
            usage.get("outputTokens", 0),
            usage.get("cacheReadInputTokens", 0),
            usage.get("cacheWriteInputTokens", 0),
            _guardrail_action(trace) if trace else None,
        )


def _guardrail_action(trace: Mapping[str, Any]) -> str | None:
    """The reason a guardrail gave for acting (its own words, never the text it assessed)."""
    reason = trace.get("guardrail", {}).get("actionReason")
    return str(reason)[:200] if reason else None


def _reasoning(delta: Mapping[str, Any]) -> Iterator[ModelEvent]:
    if text := delta.get("text"):
        yield ReasoningDelta(text)
    if "signature" in delta or "redactedContent" in delta:
        yield ReasoningSignature(delta.get("signature"), delta.get("redactedContent"))


class _InvokeEvents(_BotoEvents):
    def __init__(self, events: Any, *, family: str) -> None:
        super().__init__(events)
        self._family = family

    def _translate(self, events: Iterable[Mapping[str, Any]]) -> Iterator[ModelEvent]:
        state = invoke_chunks.ChunkState()
        for event in events:
            raw = event.get("chunk", {}).get("bytes")
            if raw is None:
                continue
            chunk = json.loads(raw)
            text = invoke_chunks.parse_chunk(self._family, chunk, state) if isinstance(chunk, dict) else ""
            if text:
                yield TextDelta(text)
        if state.stop_reason is None:
            raise _incomplete()
        yield StreamEnd(state.stop_reason, state.input_tokens, state.output_tokens)
