"""The ConverseStream-surface benchmark's requests: text-only native and OpenAI chat, and OpenAI chat with one
tool, with reasoning_effort or with one ~100 KB PNG as a data URL, as Function URL events, and the checks
that each reply and Converse request is what that kind must give."""

from __future__ import annotations

import base64
import json
import random
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any

from bench.openai_path import first_content, native_body, native_text, openai_body, openai_text
from emulator.stub_replies import reply_tokens
from emulator.url_event import HttpRequest, build_event

PROMPT = "Say hello"
FEW, MANY = 1, 101  # text deltas per fake reply: the fixed cost, and the per-delta cost
NATIVE, OPENAI = "native", "openai"
NATIVE_MANY, OPENAI_MANY = f"native-{MANY}", f"openai-{MANY}"
TOOL, REASONING, IMAGE = "tool", "reasoning", "image"
TEXT_KINDS = (NATIVE, OPENAI, NATIVE_MANY, OPENAI_MANY)  # what both commits answer
SURFACE_KINDS = (OPENAI, TOOL, REASONING, IMAGE)  # the opt-in paths, against text-only OpenAI
IMAGE_SIDE = 183  # RGB pixels of incompressible noise: a PNG of ~100 KB
REQUEST_ID = "0b5c2a7e-6d0f-4c1e-9a43-bench0000002"
TOOL_DEFINITION = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city's name."}},
            "required": ["city"],
        },
    },
}
REASONING_EFFORT = "low"


def png(side: int = IMAGE_SIDE) -> bytes:
    """A valid `side` x `side` RGB PNG of seeded noise (which does not compress, so the size is known)."""
    noise = random.Random(13)  # seeded test data
    rows = b"".join(b"\0" + noise.randbytes(side * 3) for _ in range(side))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))  # fmt: skip


def _openai(**fields: Any) -> bytes:
    document = {**json.loads(openai_body(PROMPT)), **fields}
    return json.dumps(document).encode("utf-8")


def bodies(image: bytes) -> dict[str, tuple[str, bytes, str]]:
    """Per kind: the request target, its JSON body and its Accept header."""
    url = "data:image/png;base64," + base64.b64encode(image).decode("ascii")
    content = [{"type": "text", "text": PROMPT}, {"type": "image_url", "image_url": {"url": url}}]
    native = ("/", native_body(PROMPT), "text/event-stream")
    openai = ("/v1/chat/completions", openai_body(PROMPT), "application/json")
    return {
        NATIVE: native,
        OPENAI: openai,
        NATIVE_MANY: native,
        OPENAI_MANY: openai,
        TOOL: (openai[0], _openai(tools=[TOOL_DEFINITION]), openai[2]),
        REASONING: (openai[0], _openai(reasoning_effort=REASONING_EFFORT), openai[2]),
        IMAGE: (openai[0], _openai(messages=[{"role": "user", "content": content}]), openai[2]),
    }


def url_event(target: str, body: bytes, accept: str) -> dict[str, Any]:
    """A Function URL POST event as the emulator builds it."""
    request = HttpRequest(
        method="POST",
        target=target,
        headers=[("host", "localhost:3000"), ("content-type", "application/json"), ("accept", accept)],
        body=body,
        source_ip="127.0.0.1",
        server_port=3000,
    )
    return build_event(request, request_id=REQUEST_ID, epoch_ms=int(time.time() * 1000))


@dataclass(frozen=True, slots=True)
class Kinds:
    """Every kind's event, its fake reply's text deltas, and the image it attaches."""

    events: dict[str, dict[str, Any]]
    texts: dict[str, list[str]]
    image: bytes

    @classmethod
    def build(cls) -> Kinds:
        image = png()
        events = {kind: url_event(*request) for kind, request in bodies(image).items()}
        texts = {kind: reply_tokens("bench", MANY if kind.endswith(f"-{MANY}") else FEW) for kind in events}
        return cls(events, texts, image)

    def setup(self, kinds: tuple[str, ...]) -> dict[str, Any]:
        """The worker's first line (bench/surface_worker.py) for `kinds`."""
        return {"events": {k: self.events[k] for k in kinds}, "texts": {k: self.texts[k] for k in kinds}}


def check_reply(kind: str, answer: dict[str, Any], kinds: Kinds) -> None:
    """Raise unless a worker's check answer for `kind` is a 200 with the fake reply's text, in the API's
    own framing, and the Converse request carries what the kind adds (and the text-only ones nothing)."""
    text_of = native_text if kind.startswith(NATIVE) else openai_text
    body = answer["body"].encode("utf-8")
    try:
        text = first_content(body, text_of)[1] if answer["status"] == 200 else None
    except (ValueError, RuntimeError):  # not this API's framing
        text = None
    if text != "".join(kinds.texts[kind]):
        raise RuntimeError(f"{kind}: the reply is not the fake model's text: {body[:200]!r}")
    converse: dict[str, Any] = answer["converse"]
    content = converse["messages"][-1]["content"]
    expected = {
        TOOL: converse.get("toolConfig", {}).get("tools", [{}])[0].get("toolSpec", {}).get("name")
        == "get_weather",
        REASONING: "thinking" in converse.get("additionalModelRequestFields", {}),
        IMAGE: any(block.get("image", {}).get("source", {}).get("bytes") == f"<{len(kinds.image)} bytes>"
                   for block in content),
    }  # fmt: skip
    plain = not ({"toolConfig", "additionalModelRequestFields"} & set(converse)) and all(
        set(block) == {"text"} for block in content
    )
    if not expected.get(kind, plain):
        raise RuntimeError(f"{kind}: unexpected ConverseStream arguments {json.dumps(converse)[:300]}")
