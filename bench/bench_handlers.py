"""The handler both runtimes run in the benchmark; the event's "kind" picks the workload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

PIECE_32 = b"0123456789abcdef0123456789abcde\n"


def dispatch(event: Any, context: Any) -> Iterator[bytes]:
    kind = event["kind"]
    if kind == "first_byte":
        yield b"first"
        yield b" second"
    elif kind == "many_chunks":
        for _ in range(event["count"]):
            yield PIECE_32
    elif kind == "paced":
        for index in range(event["count"]):
            if index:
                time.sleep(event["gap_s"])
            # the yield instant travels in the chunk; CLOCK_MONOTONIC is shared by all processes
            yield b"%020.9f" % time.monotonic()
    else:
        yield b"ok"
