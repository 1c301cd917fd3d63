"""Parsers for the decoded InvokeModelWithResponseStream chunks of each model family (PROTOCOL.md §5.3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bedrock_handler.invoke_formats import METRICS_KEY, normalize_stop_reason

COHERE_EOS = "<EOS_TOKEN>"


class ChunkState:
    """What the chunks of one stream have said so far about stop reason and usage (mutated per chunk)."""

    # A plain class, not a dataclass: defining a dataclass costs ~0.7 ms of every cold start.
    __slots__ = ("input_tokens", "output_tokens", "stop_reason")

    def __init__(self) -> None:
        self.stop_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0


def parse_chunk(family: str, chunk: Mapping[str, Any], state: ChunkState) -> str:
    """The text delta carried by `chunk` ('' if none); stop reason and usage go into `state`."""
    text = _PARSERS[family](chunk, state)
    metrics = chunk.get(METRICS_KEY)
    if isinstance(metrics, Mapping):  # billing-grade counts win over any per-family estimate
        state.input_tokens = _int(metrics.get("inputTokenCount"), state.input_tokens)
        state.output_tokens = _int(metrics.get("outputTokenCount"), state.output_tokens)
    return text


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _stop(state: ChunkState, native: object) -> None:
    if isinstance(native, str) and native:
        state.stop_reason = normalize_stop_reason(native)


def _anthropic(chunk: Mapping[str, Any], state: ChunkState) -> str:
    kind = chunk.get("type")
    if kind == "message_start":
        usage = chunk.get("message", {}).get("usage", {})
        state.input_tokens = _int(usage.get("input_tokens"), state.input_tokens)
    elif kind == "content_block_delta":
        delta = chunk.get("delta", {})
        if delta.get("type") == "text_delta":
            return _str(delta.get("text"))
    elif kind == "message_delta":
        _stop(state, chunk.get("delta", {}).get("stop_reason"))
        state.output_tokens = _int(chunk.get("usage", {}).get("output_tokens"), state.output_tokens)
    return ""


def _nova(chunk: Mapping[str, Any], state: ChunkState) -> str:
    if "contentBlockDelta" in chunk:
        return _str(chunk["contentBlockDelta"].get("delta", {}).get("text"))
    if "messageStop" in chunk:
        _stop(state, chunk["messageStop"].get("stopReason"))
    if "metadata" in chunk:
        usage = chunk["metadata"].get("usage", {})
        state.input_tokens = _int(usage.get("inputTokens"), state.input_tokens)
        state.output_tokens = _int(usage.get("outputTokens"), state.output_tokens)
    return ""


def _meta(chunk: Mapping[str, Any], state: ChunkState) -> str:
    state.input_tokens = _int(chunk.get("prompt_token_count"), state.input_tokens)
    state.output_tokens = _int(chunk.get("generation_token_count"), state.output_tokens)
    _stop(state, chunk.get("stop_reason"))
    return _str(chunk.get("generation"))


def _cohere(chunk: Mapping[str, Any], state: ChunkState) -> str:
    if chunk.get("is_finished"):
        # The final chunk may repeat the whole text under generations[]; it is a summary, not a delta.
        _stop(state, chunk.get("finish_reason") or "COMPLETE")
        return ""
    text = chunk.get("text")
    if text is None and isinstance(chunk.get("generations"), list) and chunk["generations"]:
        text = chunk["generations"][0].get("text")
    if text == COHERE_EOS:
        _stop(state, "COMPLETE")
        return ""
    return _str(text)


def _cohere_r(chunk: Mapping[str, Any], state: ChunkState) -> str:
    kind = chunk.get("event_type")
    if kind == "text-generation":
        return _str(chunk.get("text"))
    if kind == "stream-end":
        _stop(state, chunk.get("finish_reason"))
    return ""


def _titan(chunk: Mapping[str, Any], state: ChunkState) -> str:
    state.input_tokens = _int(chunk.get("inputTextTokenCount"), state.input_tokens)
    state.output_tokens = _int(chunk.get("totalOutputTextTokenCount"), state.output_tokens)
    _stop(state, chunk.get("completionReason"))  # any non-null value is terminal (FINISH vs FINISHED varies)
    return _str(chunk.get("outputText"))


def _mistral(chunk: Mapping[str, Any], state: ChunkState) -> str:
    outputs = chunk.get("outputs")
    if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], Mapping):
        return ""
    _stop(state, outputs[0].get("stop_reason"))
    return _str(outputs[0].get("text"))


_PARSERS: dict[str, Callable[[Mapping[str, Any], ChunkState], str]] = {
    "anthropic": _anthropic,
    "nova": _nova,
    "meta": _meta,
    "cohere": _cohere,
    "cohere-r": _cohere_r,
    "titan": _titan,
    "mistral": _mistral,
}
