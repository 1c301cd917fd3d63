"""The stand-in's ConverseStream answer: its content blocks (reasoning, text, tool call) and their events.

Blocks come in Bedrock's order, each with its own `contentBlockIndex`: the reasoning block (when the
request turns reasoning on and `@stub:reasoning`/`@stub:reasoning-redacted` ask for one), the text
block (attachment echoes, then the reply's words), the tool call (`@stub:tool`). `@stub:guardrail-after`
cuts the text and ends the message as a guardrail would; `@stub:cache-read`/`@stub:cache-write` fill
the cache fields of the usage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from emulator import eventstream
from emulator.stub_frames import invalid
from emulator.stub_guardrail import guardrail_trace
from emulator.stub_reasoning import reasoning_tokens, redacted_delta, signature
from emulator.stub_replies import (
    DirectiveError,
    Directives,
    input_token_count,
    parse_directives,
    reply_tokens,
)
from emulator.stub_tools import input_fragments, tool_input, tool_use_id
from emulator.stub_validation import ConverseRequest


@dataclass(frozen=True, slots=True)
class Block:
    """One content block: its `contentBlockStart.start` (tool calls only), its deltas, and how many count."""

    deltas: tuple[Mapping[str, object], ...]
    counted: int
    start: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True)
class ConverseReply:
    """Everything needed to stream one ConverseStream answer."""

    directives: Directives
    blocks: tuple[Block, ...]
    stop_reason: str
    usage: dict[str, int]
    trace: dict[str, object] | None


def plan_converse(request: ConverseRequest) -> ConverseReply:
    """The answer to a checked request, from its last user turn's directives and prompt."""
    try:
        directives, prompt = parse_directives(request.user_text)
    except DirectiveError as exc:
        raise invalid(str(exc)) from None
    tool = _tool_block(directives, request, prompt)
    reasoning = _reasoning_block(directives, request, prompt, calls_tool=tool is not None)
    wanted = directives.tokens if directives.tokens_given or tool is None else 0
    count = wanted if request.max_tokens is None else min(wanted, request.max_tokens)
    texts = [f"[{a.kind}:{a.format}:{a.size}]" for a in request.attachments] + reply_tokens(prompt, count)
    guardrail = request.guardrail
    cut = directives.guardrail_after if guardrail is not None else None
    if cut is not None:
        texts = texts[:cut]
    blocks = [reasoning] if reasoning else []
    if texts or tool is None or cut is not None:
        blocks.append(Block(tuple({"text": text} for text in texts), counted=len(texts)))
    stop = "guardrail_intervened" if cut is not None else "max_tokens" if count < wanted else "end_turn"
    if tool and stop == "end_turn":
        blocks.append(tool)
        stop = "tool_use"
    trace = None
    if guardrail is not None and cut is not None:
        trace = guardrail_trace(guardrail, input_text=prompt, output_text="".join(texts))
    usage = _usage(directives, request, prompt, output=sum(block.counted for block in blocks))
    return ConverseReply(directives, tuple(blocks), stop, usage, trace)


def _tool_block(directives: Directives, request: ConverseRequest, prompt: str) -> Block | None:
    if directives.tool is None:
        return None
    if directives.tool not in request.tools:
        raise invalid(f"@stub:tool={directives.tool} names no tool of the request's toolConfig")
    fragments = input_fragments(tool_input(request.tools[directives.tool], prompt))
    start = {"toolUse": {"toolUseId": tool_use_id(prompt, directives.tool), "name": directives.tool}}
    deltas = tuple({"toolUse": {"input": fragment}} for fragment in fragments)
    return Block(deltas, counted=len(deltas), start=start)


def _reasoning_block(
    directives: Directives, request: ConverseRequest, prompt: str, *, calls_tool: bool
) -> Block | None:
    if not request.reasoning.on:
        return None
    if directives.reasoning_redacted:
        return Block(({"reasoningContent": {"redactedContent": redacted_delta(prompt)}},), counted=1)
    count = directives.reasoning
    if count is None:  # Claude always thinks before it calls a tool, and wants that block back
        count = 1 if calls_tool and request.reasoning.claude else 0
    if count == 0:
        return None
    tokens = reasoning_tokens(prompt, count)
    deltas: list[Mapping[str, object]] = [{"reasoningContent": {"text": token}} for token in tokens]
    deltas.append({"reasoningContent": {"signature": signature("".join(tokens))}})
    return Block(tuple(deltas), counted=count)


def _usage(directives: Directives, request: ConverseRequest, prompt: str, *, output: int) -> dict[str, int]:
    input_tokens = input_token_count(prompt)
    usage = {"inputTokens": input_tokens, "outputTokens": output, "totalTokens": input_tokens + output}
    if request.cached:
        usage["cacheReadInputTokens"] = directives.cache_read
        usage["cacheWriteInputTokens"] = directives.cache_write
        usage["totalTokens"] += directives.cache_read + directives.cache_write
    return usage


def converse_frames(reply: ConverseReply) -> Iterator[tuple[str, bytes]]:
    """The answer's frames in order, each tagged "delta" (a content delta) or "event"."""
    started = time.monotonic()
    yield "event", eventstream.event_message("messageStart", {"role": "assistant"})
    for index, block in enumerate(reply.blocks):
        if block.start is not None:
            start = {"contentBlockIndex": index, "start": block.start}
            yield "event", eventstream.event_message("contentBlockStart", start)
        for delta in block.deltas:
            event = {"contentBlockIndex": index, "delta": delta}
            yield "delta", eventstream.event_message("contentBlockDelta", event)
        yield "event", eventstream.event_message("contentBlockStop", {"contentBlockIndex": index})
    yield "event", eventstream.event_message("messageStop", {"stopReason": reply.stop_reason})
    metadata: dict[str, object] = {
        "usage": reply.usage,
        "metrics": {"latencyMs": round((time.monotonic() - started) * 1000)},
    }
    if reply.trace is not None:
        metadata["trace"] = reply.trace
    yield "event", eventstream.event_message("metadata", metadata)
