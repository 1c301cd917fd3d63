"""Per-family request reading and chunk JSON of the stand-in's InvokeModel stream (PROTOCOL.md §5.3)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from emulator.stub_replies import converse_user_text, template_user_text


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    """What the stand-in needs from a native request body: the user text and the token cap."""

    user_text: str
    max_tokens: int | None


def read_invoke_request(family: str, body: Mapping[str, object]) -> InvokeRequest:
    """Read the last user turn and the max-tokens field of a family's native request body."""
    if family in ("anthropic", "nova"):
        messages = body.get("messages")
        text = converse_user_text(messages) if isinstance(messages, list) else ""
        config = body.get("inferenceConfig") if family == "nova" else body
        keys = ("maxTokens", "max_new_tokens") if family == "nova" else ("max_tokens",)
        return InvokeRequest(text, _first_int(config, keys))
    if family == "cohere-r":
        message = body.get("message")
        return InvokeRequest(message if isinstance(message, str) else "", _first_int(body, ("max_tokens",)))
    if family == "titan":
        prompt, config = body.get("inputText"), body.get("textGenerationConfig")
        return InvokeRequest(_template_text(family, prompt), _first_int(config, ("maxTokenCount",)))
    keys = {"meta": ("max_gen_len",), "mistral": ("max_tokens",), "cohere": ("max_tokens",)}[family]
    return InvokeRequest(_template_text(family, body.get("prompt")), _first_int(body, keys))


def _template_text(family: str, prompt: object) -> str:
    return template_user_text(family, prompt) if isinstance(prompt, str) else ""


def _first_int(document: object, keys: Sequence[str]) -> int | None:
    if isinstance(document, Mapping):
        for key in keys:
            value = document.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts and latency the stand-in reports at the end of a stream."""

    input_tokens: int
    output_tokens: int
    latency_ms: int


def invocation_metrics(usage: Usage) -> dict[str, object]:
    """The `amazon-bedrock-invocationMetrics` object merged into every family's final chunk."""
    return {
        "inputTokenCount": usage.input_tokens,
        "outputTokenCount": usage.output_tokens,
        "invocationLatency": usage.latency_ms,
        "firstByteLatency": min(usage.latency_ms, 1),
    }


# Native stop reasons per family: (finished normally, hit the token cap).
_STOP_REASONS = {
    "anthropic": ("end_turn", "max_tokens"),
    "nova": ("end_turn", "max_tokens"),
    "meta": ("stop", "length"),
    "mistral": ("stop", "length"),
    "cohere": ("COMPLETE", "MAX_TOKENS"),
    "cohere-r": ("COMPLETE", "MAX_TOKENS"),
    "titan": ("FINISH", "LENGTH"),
}


def native_stop_reason(family: str, *, truncated: bool) -> str:
    """The family's own spelling of "finished" or "stopped at max tokens"."""
    return _STOP_REASONS[family][1 if truncated else 0]


def opening_chunks(family: str, usage_in: int) -> list[dict[str, object]]:
    """Chunks a family sends before its first text delta."""
    if family == "anthropic":
        message: dict[str, object] = {
            "id": "msg_stub",
            "type": "message",
            "role": "assistant",
            "model": "stub",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": usage_in, "output_tokens": 1},
        }
        return [
            {"type": "message_start", "message": message},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ]
    if family == "nova":
        return [{"messageStart": {"role": "assistant"}}]
    if family == "cohere-r":
        return [{"event_type": "stream-start", "generation_id": "stub-generation", "is_finished": False}]
    return []


def delta_chunk(family: str, text: str, *, index: int, usage_in: int) -> dict[str, object]:  # noqa: PLR0911
    """The chunk carrying the `index`-th text delta in the family's format (one branch per family)."""
    if family == "anthropic":
        return {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
    if family == "nova":
        return {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}
    if family == "meta":
        return {
            "generation": text,
            "prompt_token_count": usage_in if index == 0 else None,
            "generation_token_count": index + 1,
            "stop_reason": None,
        }
    if family == "cohere":
        return {"text": text, "is_finished": False}
    if family == "cohere-r":
        return {"event_type": "text-generation", "text": text, "is_finished": False}
    if family == "titan":
        return {
            "outputText": text,
            "index": 0,
            "totalOutputTextTokenCount": index + 1,
            "completionReason": None,
            "inputTextTokenCount": usage_in,
        }
    return {"outputs": [{"text": text, "stop_reason": None}]}  # mistral


def closing_chunks(family: str, *, stop_reason: str, usage: Usage, text: str) -> Iterator[dict[str, object]]:
    """Chunks after the last delta; the last one carries `amazon-bedrock-invocationMetrics`."""
    metrics = {"amazon-bedrock-invocationMetrics": invocation_metrics(usage)}
    if family == "anthropic":
        yield {"type": "content_block_stop", "index": 0}
        yield {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": usage.output_tokens},
        }
        yield {"type": "message_stop", **metrics}
    elif family == "nova":
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        yield {"messageStop": {"stopReason": stop_reason}}
        usage_doc = {"inputTokens": usage.input_tokens, "outputTokens": usage.output_tokens}
        yield {"metadata": {"usage": usage_doc, "metrics": {}, "trace": {}}, **metrics}
    elif family == "meta":
        yield {
            "generation": "",
            "prompt_token_count": None,
            "generation_token_count": usage.output_tokens,
            "stop_reason": stop_reason,
            **metrics,
        }
    elif family == "cohere":
        yield {"is_finished": True, "finish_reason": stop_reason, **metrics}
    elif family == "cohere-r":
        yield {
            "event_type": "stream-end",
            "is_finished": True,
            "finish_reason": stop_reason,
            "response": {"text": text, "generation_id": "stub-generation"},
            **metrics,
        }
    elif family == "titan":
        counts = {"totalOutputTextTokenCount": usage.output_tokens, "inputTextTokenCount": usage.input_tokens}
        yield {"outputText": "", "index": 0, "completionReason": stop_reason, **counts, **metrics}
    else:
        yield {"outputs": [{"text": "", "stop_reason": stop_reason}], **metrics}
