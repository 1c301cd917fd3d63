"""The OpenAI API's input edge: a Chat Completions request body -> `ChatRequest` and its reply options
(PROTOCOL.md §12.A1, §12.C); a field with no Bedrock meaning is refused by name, never dropped silently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bedrock_handler import chat, openai_messages
from bedrock_handler.chat import Block, ChatRequest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import MethodNotAllowedError, RequestError, UnsupportedMediaTypeError
from bedrock_handler.http_event import HttpRequest, json_object

MAX_CALLER_CHARS = 128
# Accepted and ignored whatever their value: they change nothing Bedrock could honour or the caller sees.
_IGNORED = frozenset(
    {
        "metadata",
        "parallel_tool_calls",
        "prompt_cache_key",
        "prompt_cache_options",  # caching is the function's PROMPT_CACHING setting
        "prompt_cache_retention",
        "safety_identifier",
        "service_tier",
        "store",
    }
)
# Accepted only at their default (or null), which is what Bedrock does; any other value is refused.
_DEFAULTS: dict[str, object] = {
    "n": 1,
    "logprobs": False,
    "top_logprobs": 0,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "logit_bias": {},
    "modalities": ["text"],
    "response_format": {"type": "text"},
    "functions": [],
    "function_call": "none",
}
# Refused unless null: no Bedrock equivalent, or not offered by this endpoint.
_UNSUPPORTED = frozenset({"audio", "moderation", "prediction", "seed", "verbosity", "web_search_options"})
_MAPPED = frozenset(
    {
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "stream_options",
        "user",
        "tools",
        "tool_choice",
        "reasoning_effort",
    }
)
_STREAM_OPTIONS = frozenset({"include_usage", "include_obfuscation"})  # the second is ignored
_TEMPERATURE_HINT = " (Bedrock's range; OpenAI's values above 1 have no equivalent)"


class OpenAICall:
    """A parsed Chat Completions request: what to ask the model, how to reply, and the caller's `user`
    label (for the log line only)."""

    # A slotted class: a dataclass costs ~0.7 ms and a NamedTuple ~0.06 ms of every cold start to define.
    __slots__ = ("caller", "include_usage", "request", "stream")

    def __init__(
        self, *, request: ChatRequest, stream: bool, include_usage: bool, caller: str | None
    ) -> None:
        self.request, self.stream, self.include_usage, self.caller = request, stream, include_usage, caller


def parse(http: HttpRequest, *, config: HandlerConfig) -> OpenAICall:
    """Validate method, content type, body and fields of `POST …/v1/chat/completions`."""
    if http.method != "POST":
        raise MethodNotAllowedError(http.method, allow="POST")
    if not http.is_json:
        raise UnsupportedMediaTypeError(http.media_type, accepted="application/json")
    body = json_object(http.body_text(max_bytes=config.max_request_bytes))
    _refuse_unmapped(body)
    system, messages = openai_messages.conversation(body.get("messages"))
    stream = _flag(body.get("stream"), "stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise RequestError("stream_options must be an object", param="stream_options")
    if unknown := sorted(set(options or {}) - _STREAM_OPTIONS):
        raise RequestError(f"unrecognized stream_options field: {unknown[0][:64]}", param="stream_options")
    limit = body.get("max_completion_tokens")
    limit_name = "max_completion_tokens"
    if limit is None:
        limit, limit_name = body.get("max_tokens"), "max_tokens"
    stop = body.get("stop")
    tools, tool_choice, tool_name = _tools(body.get("tools"), body.get("tool_choice"))
    effort = chat.reasoning_effort(body.get("reasoning_effort"), "reasoning_effort")
    request = ChatRequest(
        model_id=_model_id(body.get("model"), config),
        messages=messages,
        max_tokens=chat.token_limit(
            limit, limit_name, default=chat.default_limit(config, effort), limit=config.max_tokens_limit
        ),
        system=system,
        temperature=chat.number_in(body.get("temperature"), "temperature", high=1, hint=_TEMPERATURE_HINT),
        top_p=chat.number_in(body.get("top_p"), "top_p", high=1),
        stop_sequences=chat.stop_sequences([stop] if isinstance(stop, str) else stop, "stop"),
        tools=tools,
        tool_choice=tool_choice,
        tool_name=tool_name,
        reasoning=effort,
    )
    if effort is not None:
        from bedrock_handler import reasoning  # noqa: PLC0415 - opt-in: text-only requests never load it

        reasoning.check(request, param="reasoning_effort")
    return OpenAICall(
        request=request,
        stream=stream,
        include_usage=_flag((options or {}).get("include_usage"), "stream_options.include_usage"),
        caller=caller(body.get("user")),
    )


def _tools(tools: object, choice: object) -> tuple[tuple[Block, ...], str, str | None]:
    """The tool specifications, the choice and the forced tool's name (`none` without tools)."""
    if tools is None and choice is None:
        return (), "none", None
    from bedrock_handler import openai_tools  # noqa: PLC0415 - opt-in: text-only requests never load it

    specs = openai_tools.tool_specs(tools)
    return (specs, *openai_tools.tool_choice(choice, specs))


def _refuse_unmapped(body: Mapping[str, Any]) -> None:
    for name in sorted(body):
        value = body[name]
        if name in _MAPPED or name in _IGNORED:
            continue
        if name not in _DEFAULTS and name not in _UNSUPPORTED:
            raise RequestError(f"unrecognized request argument: {name[:64]}", param=name[:64])
        if value is None:  # the SDK's "not given"
            continue
        if name in _DEFAULTS:
            if not _is_default(value, _DEFAULTS[name]):
                raise RequestError(
                    f"{name} is not supported: Bedrock has no equivalent "
                    f"(only {_DEFAULTS[name]!r} is accepted)",
                    param=name,
                )
        else:
            raise RequestError(f"{name} is not supported: Bedrock has no equivalent", param=name)


def _is_default(value: object, default: object) -> bool:
    if isinstance(default, bool) or not isinstance(default, int):
        return type(value) is type(default) and value == default
    return isinstance(value, int | float) and not isinstance(value, bool) and value == default


def _flag(value: object, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RequestError(f"{name} must be a boolean", param=name)
    return value


def _model_id(value: object, config: HandlerConfig) -> str:
    if not isinstance(value, str) or not value:
        raise RequestError("model must be a non-empty string", param="model")
    model_id = config.resolve_model(value)
    if model_id is None:
        raise RequestError(
            "model is not available here; GET /v1/models lists the models and aliases this function serves",
            status=404,
            error_type="model_not_found",
            param="model",
        )
    return model_id


def caller(value: object) -> str | None:
    """The OpenAI `user` label as the log line's `caller`: a string, cut to MAX_CALLER_CHARS."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError("user must be a string", param="user")
    return value[:MAX_CALLER_CHARS]
