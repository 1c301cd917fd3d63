"""Test handler for the fault matrix: the request body's `fault` field picks how it misbehaves.

Copied into a temporary LAMBDA_TASK_ROOT and run by the real runtime/bootstrap under the emulator as
`fault_handlers.handler`. Body: `{"fault": "none" | "raise-early" | "raise-late" | "hang-early" |
"ignore-deadline", "pieces": N, "gap_ms": D}`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

EARLY_MESSAGE = "injected failure before the first byte"
LATE_MESSAGE = "injected failure after the first byte"
HANG_S = 60.0  # far past any test's function timeout: only the emulator's kill ends it


def piece(index: int) -> str:
    """The `index`-th piece of a normal reply (tests rebuild the expected body from it)."""
    return f"piece-{index} "


def handler(event: Mapping[str, Any], context: Any) -> Iterator[str]:
    spec = _spec(event)
    fault = spec.get("fault", "none")
    if fault == "raise-early":
        raise ValueError(EARLY_MESSAGE)
    if fault == "hang-early":
        time.sleep(HANG_S)  # before returning: no status, no byte has gone out
    return _pieces(fault, count=int(spec.get("pieces", 5)), gap_s=int(spec.get("gap_ms", 0)) / 1000)


def _pieces(fault: str, *, count: int, gap_s: float) -> Iterator[str]:
    for index in range(count):
        if index and gap_s:
            time.sleep(gap_s)  # "ignore-deadline" never looks at context.get_remaining_time_in_millis()
        yield piece(index)
        if fault == "raise-late" and index == 1:
            raise RuntimeError(LATE_MESSAGE)


def _spec(event: Mapping[str, Any]) -> dict[str, Any]:
    body = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    spec = json.loads(body)
    return spec if isinstance(spec, dict) else {}
