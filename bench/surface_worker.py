"""A subprocess that times `bedrock_handler.invocation.respond` per request kind on whichever task root is
on its PYTHONPATH, on commands read as JSON lines from stdin (bench/surface_warm.py drives it).

The handler runs as in the function: `respond` with the real `BedrockModelStream`, whose client is the only
fake (it takes the ConverseStream keyword arguments the handler built and answers with botocore-shaped
events from memory), so request parsing, the Converse request, the event translation, the encoder, the
deadline watchdog, the log line and the metrics document are all timed; no socket, runtime or stand-in
is. The handler's own stdout (its EMF metrics document, one per invocation) goes to /dev/null through a
stream that writes through on every call, as under `python3 -u`; the answers go to the real stdout. It
imports nothing but the standard library and the task root, so the same file drives any commit's handler.

Commands (one JSON object per line, one JSON answer per line):
- first line: `{"events": {kind: Function URL event}, "texts": {kind: [delta text, ...]}}`, optionally
  with `"environ": {name: value}` added to the handler's configuration (e.g. `METRICS=off`); answer
  `{"handler": <bedrock_handler's file>, "modules": [handler modules loaded]}`;
- `{"op": "check", "kinds": [...]}`: one invocation of each kind in order; answer per kind its status,
  body, the ConverseStream arguments (bytes shown as their length), what it wrote to stdout and the
  handler modules loaded after it;
- `{"op": "measure", "kinds": [...], "iterations": n, "round": r, "blocks": bool}`: n invocations of each
  kind, the kinds rotating from one invocation to the next (or, with blocks, each kind's n in a row);
  answer per kind the microseconds of each.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, cast

import bedrock_handler
from bedrock_handler.config import HandlerConfig
from bedrock_handler.invocation import respond
from bedrock_handler.model import BedrockModelStream
from streaming_runtime import StreamingResponse

HANDLER_PACKAGE = "bedrock_handler"


class _Context:
    aws_request_id = "0b5c2a7e-6d0f-4c1e-9a43-bench0000002"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


class _EventStream:
    """What botocore's EventStream gives the handler: iteration over event dicts, and close()."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = events

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._events)

    def close(self) -> None:
        pass


def converse_events(texts: list[str]) -> list[dict[str, Any]]:
    """A ConverseStream reply of `texts` as botocore decodes it: start, one text block, stop, metadata."""
    deltas = [{"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}} for text in texts]
    usage = {"inputTokens": 12, "outputTokens": len(texts), "totalTokens": 12 + len(texts)}
    return [
        {"messageStart": {"role": "assistant"}},
        *deltas,
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": usage, "metrics": {"latencyMs": 100}}},
    ]


class FakeClient:
    """A bedrock-runtime client whose `converse_stream` answers `reply` at once and keeps its arguments."""

    def __init__(self) -> None:
        self.reply: list[dict[str, Any]] = []
        self.arguments: dict[str, Any] = {}

    def converse_stream(self, **arguments: Any) -> dict[str, Any]:
        self.arguments = arguments
        return {"stream": _EventStream(self.reply)}


def _shown(value: object) -> object:
    """`value` as JSON can carry it: bytes become `<N bytes>`."""
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    raise TypeError(f"cannot show {type(value).__name__}")


def handler_modules() -> list[str]:
    prefix = HANDLER_PACKAGE + "."
    return sorted(name for name in sys.modules if name == HANDLER_PACKAGE or name.startswith(prefix))


class Bench:
    """The handler, its fake client and the events and replies of every kind."""

    def __init__(
        self,
        events: dict[str, dict[str, Any]],
        texts: dict[str, list[str]],
        environ: dict[str, str] | None = None,
    ) -> None:
        self.config = HandlerConfig.from_env({"AWS_REGION": "us-east-1", **(environ or {})})
        self.client = FakeClient()
        self.model = BedrockModelStream(client=self.client, config=self.config)
        self.events = events
        self.replies = {kind: converse_events(values) for kind, values in texts.items()}

    def invoke(self, kind: str) -> tuple[float, int, bytes]:
        """One invocation: seconds from the call until every body piece is encoded as the runtime
        encodes it before sending, the status, and the body."""
        self.client.reply = self.replies[kind]
        clock = time.perf_counter
        started = clock()
        response = respond(self.events[kind], _Context(), config=self.config, model=self.model)
        pieces = [piece.encode("utf-8") for piece in cast("Iterable[str]", response.body)]
        ended = clock()
        assert isinstance(response, StreamingResponse)  # an HTTP event's, never a direct one's
        return ended - started, response.status_code, b"".join(pieces)

    def check(self, kinds: list[str]) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for kind in kinds:
            self.client.arguments = {}
            with contextlib.redirect_stdout(io.StringIO()) as written:
                _, status, body = self.invoke(kind)
            answer[kind] = {
                "status": status,
                "body": body.decode("utf-8"),
                "converse": json.loads(json.dumps(self.client.arguments, default=_shown)),
                "stdout": written.getvalue(),
                "modules": handler_modules(),
            }
        return answer

    def measure(
        self, kinds: list[str], iterations: int, round_index: int, *, blocks: bool
    ) -> dict[str, list[float]]:
        """`iterations` invocations of each kind: the kinds rotating from one invocation to the next, or
        with `blocks` one kind's invocations in a row, the order of the kinds rotating from round to round
        (so a large request's aftermath in the allocator and the caches lands on its own samples)."""
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}

        def order(index: int) -> list[str]:
            # Rotated one further every other time and reversed every other time, so no kind always
            # follows the same other kind.
            shift = (index // 2) % len(kinds)
            rotated = [*kinds[shift:], *kinds[:shift]]
            return rotated[::-1] if index % 2 else rotated

        if blocks:
            for kind in order(round_index):
                for _ in range(iterations):
                    samples[kind].append(self.invoke(kind)[0] * 1e6)
            return samples
        for index in range(iterations):
            for kind in order(index + round_index):
                samples[kind].append(self.invoke(kind)[0] * 1e6)
        return samples


def _null_stdout() -> io.TextIOWrapper:
    """/dev/null as `python3 -u` makes stdout: a text stream that writes through on every call."""
    return io.TextIOWrapper(io.FileIO(os.devnull, "w"), encoding="utf-8", write_through=True)


def main() -> None:
    answers = sys.stdout
    sys.stdout = _null_stdout()  # the handler's metrics documents; never mixed into the answers
    setup = json.loads(sys.stdin.readline())
    bench = Bench(setup["events"], setup["texts"], setup.get("environ"))
    # As the runtime leaves the process after init: what init built frozen, the collector on.
    gc.collect()
    gc.freeze()
    print(json.dumps({"handler": bedrock_handler.__file__, "modules": handler_modules()}), file=answers,
          flush=True)  # fmt: skip
    for line in sys.stdin:
        command = json.loads(line)
        if command["op"] == "check":
            answer: object = bench.check(command["kinds"])
        elif command["op"] == "measure":
            answer = bench.measure(
                command["kinds"], command["iterations"], command["round"], blocks=command["blocks"]
            )
        else:
            raise ValueError(f"unknown command {command['op']!r}")
        print(json.dumps(answer), file=answers, flush=True)


if __name__ == "__main__":
    main()
