"""Each API's two edges as the invocation uses them: turn an `HttpRequest` into a `Call` (what to ask the
model and how to encode the reply), and render a failure before the first byte in the API's error shape."""

from __future__ import annotations

from collections.abc import Callable

from streaming_runtime import StreamingResponse

from bedrock_handler import native_output, native_request, openai_output, openai_request
from bedrock_handler.chat import ChatRequest
from bedrock_handler.config import HandlerConfig
from bedrock_handler.errors import HandlerError
from bedrock_handler.http_event import HttpRequest
from bedrock_handler.reply import ReplyEncoder
from bedrock_handler.routes import Endpoint


# Slotted classes: a NamedTuple costs ~0.06 ms of every cold start to define.
class Call:
    """A chat request ready for the model: the request, its reply encoder, the caller's label if any."""

    __slots__ = ("caller", "encoder", "request")

    def __init__(self, request: ChatRequest, encoder: ReplyEncoder, caller: str | None = None) -> None:
        self.request, self.encoder, self.caller = request, encoder, caller


class Edge:
    """How one API parses requests (`open_call(http, config, request_id, created)`) and renders errors
    (`error_response(exc, request_id)`)."""

    __slots__ = ("error_response", "open_call")

    def __init__(
        self,
        open_call: Callable[[HttpRequest, HandlerConfig, str, int], Call],
        error_response: Callable[[HandlerError, str], StreamingResponse],
    ) -> None:
        self.open_call, self.error_response = open_call, error_response


def _native_call(http: HttpRequest, config: HandlerConfig, request_id: str, created: int) -> Call:
    parsed = native_request.parse(http, config=config)
    return Call(parsed.request, native_output.NativeEncoder(parsed.output_format))


def _native_error(exc: HandlerError, request_id: str) -> StreamingResponse:
    return native_output.error_response(exc)


def _openai_call(http: HttpRequest, config: HandlerConfig, request_id: str, created: int) -> Call:
    parsed = openai_request.parse(http, config=config)
    completion_id, model = f"chatcmpl-{request_id}", parsed.request.model_id
    encoder: ReplyEncoder
    if parsed.stream:
        encoder = openai_output.ChunkEncoder(
            completion_id=completion_id,
            created=created,
            model=model,
            include_usage=parsed.include_usage,
            request_id=request_id,
        )
    else:
        encoder = openai_output.CompletionEncoder(
            completion_id=completion_id, created=created, model=model, request_id=request_id
        )
    return Call(parsed.request, encoder, parsed.caller)


def _openai_error(exc: HandlerError, request_id: str) -> StreamingResponse:
    return openai_output.error_response(exc, request_id=request_id)


NATIVE = Edge(_native_call, _native_error)
OPENAI = Edge(_openai_call, _openai_error)


def edge_for(endpoint: str) -> Edge:
    """The native edge for the native chat endpoint; the OpenAI edge for every OpenAI path."""
    return NATIVE if endpoint == Endpoint.NATIVE_CHAT else OPENAI
