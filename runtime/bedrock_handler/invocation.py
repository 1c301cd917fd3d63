"""One invocation: route the request to its API's edge, call the model and wait for its first text before
committing a status, then stream the encoded deltas, with an HTTP prelude or, for a direct invocation,
without (API Gateway's completion notification: acknowledged)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, Protocol

from streaming_runtime import FunctionError, RawStreamingResponse, StreamingResponse

from bedrock_handler import cors, http_event, metrics, openai_models, routes
from bedrock_handler.config import HandlerConfig
from bedrock_handler.deadline import DeadlineWatchdog
from bedrock_handler.edges import Call, Edge, edge_for
from bedrock_handler.errors import (
    DeadlineError,
    HandlerError,
    ModelStreamError,
    StreamInterruptedError,
    before_first_text,
)
from bedrock_handler.invocation_record import InvocationRecord, elapsed_ms
from bedrock_handler.model import (
    ModelEvent,
    ModelStream,
    OpenStream,
    ReasoningDelta,
    ReasoningSignature,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
)
from bedrock_handler.reply import ReplyEncoder, Summary

LOGGER = logging.getLogger("bedrock_handler")


class InvocationContext(Protocol):
    """The part of the Lambda context object the handler uses."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...


def respond(
    event: object,
    context: InvocationContext,
    *,
    config: HandlerConfig,
    model: ModelStream,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> StreamingResponse | RawStreamingResponse:
    """The response for one event. A Function URL or REST API event gets an error status, a model listing,
    embeddings, or a 200 whose body streams the reply; API Gateway's completion notification an empty 200;
    any other event is a direct invocation (see `_direct`).

    The body's first piece is pulled here, before the status is fixed, so a model stream that fails before
    its first text delta still gets an error status (nothing has reached the client yet).
    """
    http = http_event.from_event(event)
    if http is None:
        if isinstance(event, dict) and "invokeCompletionStatus" in event:
            return _acknowledge_completion(event)
        return _direct(event, context, config=config, model=model, clock=clock, wall_clock=wall_clock)
    response = _respond(http, context, config=config, model=model, clock=clock, wall_clock=wall_clock)
    if config.cors_allowed_origins:
        return cors.allow_origin(response, http, config.cors_allowed_origins)
    return response


def _respond(
    http: http_event.HttpRequest,
    context: InvocationContext,
    *,
    config: HandlerConfig,
    model: ModelStream,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> StreamingResponse:
    request_id = getattr(context, "aws_request_id", "")
    endpoint, model_id = routes.route(http.path)
    api = metrics.API_NATIVE if endpoint == routes.Endpoint.NATIVE_CHAT else metrics.API_OPENAI
    record = _new_record(context, api, config=config, clock=clock, wall_clock=wall_clock)
    record.door, record.principal = http.door, http.principal
    edge = edge_for(endpoint)
    try:
        if endpoint in (routes.Endpoint.OPENAI_MODELS, routes.Endpoint.OPENAI_MODEL):
            record.output_format = endpoint
            listing = openai_models.answer(http, endpoint, model_id, config=config, request_id=request_id)
            record.emit(clock)
            return listing
        if endpoint == routes.Endpoint.OPENAI_EMBEDDINGS:
            return _embeddings(http, context, config=config, model=model, record=record, clock=clock)
    except HandlerError as exc:
        _refused(record, exc, clock)
        return edge.error_response(exc, request_id)
    try:
        call, first, chunks = _open(
            http, edge, context, config=config, model=model, record=record, clock=clock, wall_clock=wall_clock
        )
    except HandlerError as exc:  # already on the record
        return edge.error_response(exc, request_id)
    return StreamingResponse(_resume(first, chunks), status_code=200, headers=dict(call.encoder.headers))


def _direct(
    event: object,
    context: InvocationContext,
    *,
    config: HandlerConfig,
    model: ModelStream,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> RawStreamingResponse:
    """A direct invocation (Lambda's Invoke API, no HTTP): the reply streamed without a prelude under its
    format's Content-Type. A failure before the first byte raises a `FunctionError` with the error type
    and message an HTTP door's error body would carry; after it, the stream ends with the runtime's error
    trailers of that type (an NDJSON or OpenAI stream has its in-band error first)."""
    from bedrock_handler import direct_event  # noqa: PLC0415 - opt-in: only direct invocations load it

    record = _new_record(
        context, direct_event.api_of(event), config=config, clock=clock, wall_clock=wall_clock
    )
    record.door = direct_event.DIRECT  # Lambda tells the function nothing of who called: no principal
    try:
        try:
            http = direct_event.request_of(event)
        except HandlerError as exc:
            _refused(record, exc, clock)
            raise
        edge = edge_for(routes.route(http.path)[0])
        call, first, chunks = _open(
            http, edge, context, config=config, model=model, record=record, clock=clock, wall_clock=wall_clock
        )
    except HandlerError as exc:  # already on the record
        raise FunctionError(exc.error_type, exc.message) from None
    return RawStreamingResponse(
        _direct_body(first, chunks), content_type=call.encoder.headers["content-type"]
    )


def _new_record(
    context: InvocationContext,
    api: str,
    *,
    config: HandlerConfig,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> InvocationRecord:
    record = InvocationRecord(
        request_id=getattr(context, "aws_request_id", ""),
        started=clock(),
        config=config,
        api=api,
        wall_clock=wall_clock,
    )
    record.trace_header = getattr(context, "xray_trace_id", None)
    return record


def _refused(record: InvocationRecord, exc: HandlerError, clock: Callable[[], float]) -> None:
    """Log a refusal before the model stream started: its status and error type."""
    record.status, record.error_type = exc.status, exc.error_type
    record.emit(clock)


def _open(
    http: http_event.HttpRequest,
    edge: Edge,
    context: InvocationContext,
    *,
    config: HandlerConfig,
    model: ModelStream,
    record: InvocationRecord,
    clock: Callable[[], float],
    wall_clock: Callable[[], float],
) -> tuple[Call, str | None, Generator[str, None, None]]:
    """Parse a chat request, start the model stream and pull the body's first piece (None: an empty body),
    so that any failure until then can still be refused. Raises `HandlerError` for a refused request or a
    stream that failed before its first piece, the record already emitted."""
    try:
        call = edge.open_call(http, config, record.request_id, int(wall_clock()))
        record.model_id, record.output_format = call.request.model_id, call.encoder.name
        record.caller = call.caller
        spare_ms = context.get_remaining_time_in_millis() - config.deadline_margin_ms
        if spare_ms < 0:
            raise DeadlineError("not enough invocation time left to call the model")
        deadline = clock() + spare_ms / 1000  # when the margin is reached, on `clock`
        record.model_called = True
        stream = model.stream(call.request)
    except HandlerError as exc:
        _refused(record, exc, clock)
        raise
    chunks = _body(
        call, stream, context=context, config=config, record=record, clock=clock, deadline=deadline
    )
    return call, next(chunks, None), chunks  # a HandlerError out of `next`: `_body` has emitted the record


def _acknowledge_completion(event: Mapping[str, Any]) -> StreamingResponse:
    """API Gateway's notification that a streamed response ended: one INFO line (`status`, and `errorCode`
    when given) and an empty 200, so it is neither an invocation nor an error."""
    line = {"event": "completion", "status": _label(event.get("invokeCompletionStatus"))}
    if "errorCode" in event:
        line["errorCode"] = _label(event["errorCode"])
    LOGGER.info(json.dumps(line, separators=(",", ":")))
    return StreamingResponse((), status_code=200)


def _label(value: object) -> str | None:
    """A notification's value for the log: text of at most 64 characters (it is not ours to trust)."""
    return None if value is None else str(value)[:64]


def _embeddings(
    http: http_event.HttpRequest,
    context: InvocationContext,
    *,
    config: HandlerConfig,
    model: ModelStream,
    record: InvocationRecord,
    clock: Callable[[], float],
) -> StreamingResponse:
    """`POST …/v1/embeddings`, logged on the invocation line as format `openai-embeddings` with the
    model, the input tokens Bedrock counted and the caller (never the input text)."""
    from bedrock_handler import embeddings  # noqa: PLC0415 - opt-in: only with EMBEDDING_MODEL_IDS

    record.output_format = routes.Endpoint.OPENAI_EMBEDDINGS
    request = embeddings.parse(http, config=config)
    record.model_id, record.caller = request.model_id, request.caller
    if not isinstance(model, embeddings.EmbeddingModel):  # BedrockModelStream is; a test double may not be
        raise HandlerError("this function's model client cannot compute embeddings")
    record.model_called = True
    response, record.input_tokens = embeddings.create(
        request,
        model=model,
        request_id=record.request_id,
        time_left_ms=lambda: context.get_remaining_time_in_millis() - config.deadline_margin_ms,
    )
    record.emit(clock)
    return response


def _resume(first: str | None, rest: Generator[str, None, None]) -> Iterator[str]:
    """`first` (already pulled) then the rest; closing this closes `rest`, so its `finally` runs."""
    try:
        if first is not None:
            yield first
        yield from rest
    finally:
        rest.close()


def _direct_body(first: str | None, rest: Generator[str, None, None]) -> Iterator[str]:
    """`_resume` for a direct invocation: a failure after the first byte becomes a `FunctionError` of its
    own error type, so the error trailers carry that type rather than an exception's class name."""
    try:
        if first is not None:
            yield first
        yield from rest
    except StreamInterruptedError as exc:
        raise FunctionError(exc.error_type, exc.message) from None
    finally:
        rest.close()


def _body(
    call: Call,
    stream: OpenStream,
    *,
    context: InvocationContext,
    config: HandlerConfig,
    record: InvocationRecord,
    clock: Callable[[], float],
    deadline: float,
) -> Generator[str, None, None]:
    """The encoded deltas and end. Until a first piece is yielded, a failure is raised as a `HandlerError`
    (answered with its status); after it, as an in-band error and `StreamInterruptedError`."""
    encoder = call.encoder
    record.stop_reason = "cancelled"  # replaced below unless the runtime abandons the generator
    sent = False
    try:
        # The check after each delta stops a steady stream; the watchdog stops one stalled between deltas.
        with DeadlineWatchdog(seconds=deadline - clock(), on_deadline=stream.abort) as watchdog:
            try:
                for piece in _deltas(
                    stream, encoder, context=context, config=config, record=record, clock=clock
                ):
                    if piece:
                        sent = True
                        yield piece
            except ModelStreamError as exc:
                if not watchdog.fired:
                    raise
                if record.first_token_ms is None:
                    raise DeadlineError(
                        "the function ran out of time before the model's first token"
                    ) from exc
                record.stop_reason = "deadline"
        summary = Summary(
            stop_reason=record.stop_reason,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            first_token_ms=record.first_token_ms,
            total_ms=elapsed_ms(record.started, clock),
            model_id=call.request.model_id,
            cache_read_tokens=record.cache_read_tokens,
            cache_write_tokens=record.cache_write_tokens,
        )
        if final := encoder.done(summary):
            yield final
    except DeadlineError as exc:
        record.status, record.stop_reason, record.error_type = exc.status, "deadline", exc.error_type
        raise
    except ModelStreamError as exc:
        record.stop_reason, record.error_type = "error", exc.error_type
        if not sent:  # nothing sent yet: an error status rather than an event
            record.status = exc.status
            raise before_first_text(exc) from exc
        if in_band := encoder.error(exc):
            yield in_band
        raise StreamInterruptedError(exc.error_type, exc.message) from exc
    finally:
        stream.close()
        record.emit(clock)


def _deltas(
    stream: OpenStream,
    encoder: ReplyEncoder,
    *,
    context: InvocationContext,
    config: HandlerConfig,
    record: InvocationRecord,
    clock: Callable[[], float],
) -> Iterator[str]:
    """The encoded deltas, until the model ends (recording why and its usage) or time runs short."""
    for event in stream:
        if isinstance(event, TextDelta):  # first: the event of nearly every iteration
            if record.first_token_ms is None:
                record.first_token_ms = elapsed_ms(record.started, clock)
            record.output_tokens += 1  # counts deltas until the model reports real usage
            yield encoder.delta(event.text)
        elif isinstance(event, StreamEnd):
            record.stop_reason = event.stop_reason
            record.input_tokens, record.output_tokens = event.input_tokens, event.output_tokens
            record.cache_read_tokens = event.cache_read_tokens
            record.cache_write_tokens = event.cache_write_tokens
            record.guardrail_action = event.guardrail_action
            continue
        else:
            if record.first_token_ms is None:
                record.first_token_ms = elapsed_ms(record.started, clock)
            yield _encoded(encoder, event, record)
        if context.get_remaining_time_in_millis() < config.deadline_margin_ms:
            record.stop_reason = "deadline"
            return


def _encoded(encoder: ReplyEncoder, event: ModelEvent, record: InvocationRecord) -> str:
    """A reasoning or tool-call event in the reply's format."""
    if isinstance(event, ReasoningDelta):
        record.output_tokens += 1
        record.reasoning_deltas += 1
        return encoder.reasoning(event.text)
    if isinstance(event, ReasoningSignature):
        return encoder.reasoning_end(event.signature, event.redacted)
    if isinstance(event, ToolCallStart):
        return encoder.tool_call(event.index, event.call_id, event.name)
    if isinstance(event, ToolCallDelta):
        record.output_tokens += 1
        return encoder.tool_arguments(event.index, event.arguments)
    return ""
