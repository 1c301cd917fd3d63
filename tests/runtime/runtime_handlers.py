"""Handlers the runtime tests load from a temporary LAMBDA_TASK_ROOT (copied there as `handlers.py`)."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from streaming_runtime import StreamingResponse

# Recorded while this module is imported, i.e. while the runtime loads the handler (its init phase).
GC_ENABLED_AT_IMPORT = gc.isenabled()


def echo(event: Any, context: Any) -> Any:
    return {"event": event}


def small_chunks(event: Any, context: Any) -> Iterator[bytes]:
    for index in range(event["count"]):
        yield b"%05d," % index


def big_chunks(event: Any, context: Any) -> Iterator[bytes]:
    for index in range(event["count"]):
        yield bytes([index % 251]) * event["size"]


def slow_chunks(event: Any, context: Any) -> Iterator[str]:
    for index in range(10):
        if index:
            time.sleep(0.05)
        yield f"piece {index}\n"


def with_prelude(event: Any, context: Any) -> StreamingResponse:
    return StreamingResponse(
        iter(["hello ", "", "world"]),
        status_code=201,
        headers={"content-type": "text/plain"},
        cookies=["a=1; Path=/"],
    )


def mixed_pieces(event: Any, context: Any) -> Iterator[Any]:
    yield "héllo "
    yield b""
    yield bytearray(b"bytes ")
    yield ""
    yield "end"


def fail_at_once(event: Any, context: Any) -> Iterator[bytes]:
    raise ValueError("broken before streaming")
    yield b"never"


def fail_mid_stream(event: Any, context: Any) -> Iterator[bytes]:
    yield b"partial "
    yield b"response"
    raise RuntimeError("boom after two pieces")


def raise_plain(event: Any, context: Any) -> Any:
    raise KeyError("missing-thing")


def not_serialisable(event: Any, context: Any) -> Any:
    return {"when": object()}


def bad_item_first(event: Any, context: Any) -> Iterator[Any]:
    yield 42


def bad_item_later(event: Any, context: Any) -> Iterator[Any]:
    yield "fine "
    yield {"not": "bytes"}


async def async_gen(event: Any, context: Any) -> AsyncIterator[str]:
    for index in range(3):
        await asyncio.sleep(0.01)
        yield f"async {index};"


def async_body(event: Any, context: Any) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b"from "
        await asyncio.sleep(0)
        yield b"async body"

    return StreamingResponse(body(), status_code=202, headers={"x-kind": "async"})


async def async_fail_mid(event: Any, context: Any) -> AsyncIterator[str]:
    yield "one;"
    raise ValueError("async boom")


async def coroutine(event: Any, context: Any) -> Any:
    await asyncio.sleep(0)
    return {"loop_id": id(asyncio.get_running_loop())}


def show_context(event: Any, context: Any) -> Any:
    client = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "tenant_id": context.tenant_id,
        "cognito_identity_id": context.identity.cognito_identity_id,
        "cognito_identity_pool_id": context.identity.cognito_identity_pool_id,
        "client_installation_id": client.client.installation_id if client and client.client else None,
        "client_custom": dict(client.custom) if client and client.custom else None,
        "remaining": context.get_remaining_time_in_millis(),
        "trace_env": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def log_things(event: Any, context: Any) -> Any:
    logging.getLogger("user.code").warning("user log line %s", event.get("n"))
    print("printed line", flush=False)
    return "ok"


def size_guard(event: Any, context: Any) -> Iterator[bytes]:
    for _ in range(100):
        yield b"x" * 100


def closes_cleanly(event: Any, context: Any) -> Iterator[bytes]:
    try:
        for index in range(1000):
            yield b"tick %d\n" % index
            time.sleep(0.005)
    finally:
        print(json.dumps({"generator_closed": True}))


def returns_text(event: Any, context: Any) -> str:
    return "plain text"


def returns_bytes(event: Any, context: Any) -> bytes:
    return b"\x00\x01raw"


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


def unprintable_error(event: Any, context: Any) -> Any:
    raise UnprintableError


class _FailingAsyncBody:
    def __aiter__(self) -> AsyncIterator[bytes]:
        raise LookupError("no async iterator today")


def failing_aiter_body(event: Any, context: Any) -> StreamingResponse:
    return StreamingResponse(_FailingAsyncBody())  # type: ignore[arg-type]


def late_first_piece(event: Any, context: Any) -> Iterator[bytes]:
    time.sleep(event["delay_s"])  # e.g. waiting for the model's first token
    yield b"first"
    yield b" second"


def gc_state(event: Any, context: Any) -> Any:
    return {"at_import": GC_ENABLED_AT_IMPORT, "now": gc.isenabled(), "frozen": gc.get_freeze_count()}


def lmi_stream(event: Any, context: Any) -> Iterator[str]:
    """Lambda Managed Instances tests: a slow stream naming its own request id and tag in every piece;
    `raise` fails the invocation, `exit` kills the worker process serving it."""
    logging.getLogger("lmi").info("serving %s in %d", event["tag"], os.getpid())
    if event.get("raise"):
        raise ValueError(f"asked to fail {event['tag']}")
    if event.get("exit"):
        os._exit(9)
    for index in range(event.get("pieces", 5)):
        if index:
            time.sleep(event.get("sleep", 0.1))
        yield f"{context.aws_request_id}:{event['tag']}:{index}\n"
