"""Model families and their native request bodies for InvokeModelWithResponseStream (PROTOCOL.md §5.3)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock_handler.chat import ChatRequest

ANTHROPIC_VERSION = "bedrock-2023-05-31"
METRICS_KEY = "amazon-bedrock-invocationMetrics"
# Geographic and global cross-region inference-profile prefixes (PROTOCOL.md §7.2).
_PROFILE_PREFIXES = ("us-gov.", "global.", "apac.", "us.", "eu.", "jp.", "au.", "ca.")
_FAMILIES = (
    ("anthropic.", "anthropic"),
    ("meta.", "meta"),
    ("cohere.command-r", "cohere-r"),
    ("cohere.command", "cohere"),
    ("amazon.titan-text", "titan"),
    # Nova's text lines only: nova-canvas, nova-reel and nova-sonic make images, video and speech.
    ("amazon.nova-micro", "nova"),
    ("amazon.nova-lite", "nova"),
    ("amazon.nova-pro", "nova"),
    ("amazon.nova-premier", "nova"),
    ("amazon.nova-2-lite", "nova"),
    # The [INST] prompt lines only: Pixtral and newer Mistral lines take the chat-messages format.
    ("mistral.mistral-", "mistral"),
    ("mistral.mixtral-", "mistral"),
)
# Native stop reasons in the Converse vocabulary, so `done.stopReason` reads the same for every model.
_STOP_REASONS = {
    "stop": "end_turn",
    "complete": "end_turn",
    "finish": "end_turn",
    "finished": "end_turn",
    "end_turn": "end_turn",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "stop_criteria_met": "stop_sequence",
    "stop_sequence": "stop_sequence",
    "content_filtered": "content_filtered",
}


class UnknownModelFamilyError(ValueError):
    """A model id with no known InvokeModel format (the handler checks its allow-list at init)."""


def base_model_id(model_id: str) -> str:
    """The `<provider>.<model>` a model id, inference-profile id or ARN names: the ARN's resource id,
    without a cross-Region profile's geography (`us.`, `global.`, ...)."""
    base = model_id.rsplit("/", 1)[-1]
    return next((base[len(p) :] for p in _PROFILE_PREFIXES if base.startswith(p)), base)


def model_family(model_id: str) -> str:
    """The format family of a model id or ARN, ignoring an inference-profile prefix."""
    base = base_model_id(model_id)
    for prefix, family in _FAMILIES:
        if base.startswith(prefix):
            return family
    raise UnknownModelFamilyError(f"no InvokeModel format for model {model_id!r}")


def normalize_stop_reason(native: str) -> str:
    """A family's stop reason in the Converse vocabulary (unknown values lower-cased as they are)."""
    return _STOP_REASONS.get(native.lower(), native.lower())


# --- request bodies -------------------------------------------------------------------------------


def request_body(family: str, request: ChatRequest) -> dict[str, Any]:
    """The native JSON body for `request` in `family`'s format."""
    return _BODY_BUILDERS[family](request)


def _sampling(request: ChatRequest, *, temperature: str, top_p: str) -> dict[str, Any]:
    pairs = ((temperature, request.temperature), (top_p, request.top_p))
    return {key: value for key, value in pairs if value is not None}


def _anthropic_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "anthropic_version": ANTHROPIC_VERSION,
        "max_tokens": request.max_tokens,
        "messages": [
            {"role": m.role, "content": [{"type": "text", "text": m.text}]} for m in request.messages
        ],
        **_sampling(request, temperature="temperature", top_p="top_p"),
    }
    if request.system:
        body["system"] = request.system
    if request.stop_sequences:
        body["stop_sequences"] = list(request.stop_sequences)
    return body


def _nova_body(request: ChatRequest) -> dict[str, Any]:
    config = {"maxTokens": request.max_tokens, **_sampling(request, temperature="temperature", top_p="topP")}
    if request.stop_sequences:
        config["stopSequences"] = list(request.stop_sequences)
    body: dict[str, Any] = {
        "schemaVersion": "messages-v1",
        "messages": [{"role": m.role, "content": [{"text": m.text}]} for m in request.messages],
        "inferenceConfig": config,
    }
    if request.system:
        body["system"] = [{"text": request.system}]
    return body


def _llama_prompt(request: ChatRequest) -> str:
    """Llama 3 chat template, ending with an open assistant header for the model to complete."""
    turns = [("system", request.system)] if request.system else []
    turns += [(m.role, m.text) for m in request.messages]
    parts = [f"<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>" for role, text in turns]
    return "<|begin_of_text|>" + "".join(parts) + "<|start_header_id|>assistant<|end_header_id|>\n\n"


def _meta_body(request: ChatRequest) -> dict[str, Any]:
    sampling = _sampling(request, temperature="temperature", top_p="top_p")
    return {"prompt": _llama_prompt(request), "max_gen_len": request.max_tokens, **sampling}


def _mistral_body(request: ChatRequest) -> dict[str, Any]:
    prompt = "<s>"
    for message in request.messages:
        if message.role == "user":
            first = request.system and prompt == "<s>"
            prompt += (
                f"[INST] {request.system}\n\n{message.text} [/INST]"
                if first
                else f"[INST] {message.text} [/INST]"
            )
        else:
            prompt += f" {message.text}</s>"
    body: dict[str, Any] = {"prompt": prompt, "max_tokens": request.max_tokens}
    body.update(_sampling(request, temperature="temperature", top_p="top_p"))
    if request.stop_sequences:
        body["stop"] = list(request.stop_sequences)
    return body


def _transcript(request: ChatRequest, *, assistant: str) -> str:
    """A plain "User:/<assistant>:" transcript for the text-completion models without a chat format."""
    lines = [request.system] if request.system else []
    lines += [f"{'User' if m.role == 'user' else assistant}: {m.text}" for m in request.messages]
    return "\n".join(lines) + f"\n{assistant}:"


def _titan_body(request: ChatRequest) -> dict[str, Any]:
    config = {
        "maxTokenCount": request.max_tokens,
        **_sampling(request, temperature="temperature", top_p="topP"),
    }
    if request.stop_sequences:
        config["stopSequences"] = list(request.stop_sequences)
    return {"inputText": _transcript(request, assistant="Bot"), "textGenerationConfig": config}


def _cohere_body(request: ChatRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "prompt": _transcript(request, assistant="Chatbot"),
        "max_tokens": request.max_tokens,
        "stream": True,
        **_sampling(request, temperature="temperature", top_p="p"),
    }
    if request.stop_sequences:
        body["stop_sequences"] = list(request.stop_sequences)
    return body


def _cohere_r_body(request: ChatRequest) -> dict[str, Any]:
    history = [
        {"role": "USER" if m.role == "user" else "CHATBOT", "message": m.text} for m in request.messages[:-1]
    ]
    body: dict[str, Any] = {
        "message": request.messages[-1].text,
        "chat_history": history,
        "max_tokens": request.max_tokens,
        **_sampling(request, temperature="temperature", top_p="p"),
    }
    if request.system:
        body["preamble"] = request.system
    if request.stop_sequences:
        body["stop_sequences"] = list(request.stop_sequences)
    return body


_BODY_BUILDERS: dict[str, Callable[[ChatRequest], dict[str, Any]]] = {
    "anthropic": _anthropic_body,
    "nova": _nova_body,
    "meta": _meta_body,
    "mistral": _mistral_body,
    "titan": _titan_body,
    "cohere": _cohere_body,
    "cohere-r": _cohere_r_body,
}
