"""Timing and token statistics of one streamed response, and their one-line and JSON renderings."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class StreamStats:
    """What the user sees at the end: times in ms from sending the request, body bytes, tokens if reported."""

    status: int
    ttfb_ms: float | None
    ttft_ms: float | None
    total_ms: float
    bytes: int
    output_tokens: int | None = None
    input_tokens: int | None = None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens over the whole request time (what a user waits for), when tokens are known."""
        if self.output_tokens is None or self.total_ms <= 0:
            return None
        return self.output_tokens / (self.total_ms / 1000)

    def line(self) -> str:
        """`ttfb_ms=… total_ms=… bytes=… output_tokens=… tokens_per_s=…`; unknown values print as `-`."""
        return (
            f"ttfb_ms={_num(self.ttfb_ms)} total_ms={_num(self.total_ms)} bytes={self.bytes} "
            f"output_tokens={_num(self.output_tokens)} tokens_per_s={_num(self.tokens_per_s)}"
        )

    def to_json(self) -> dict[str, Any]:
        """The stats as a JSON-ready dict (rounded to 0.1 ms / 0.1 tokens/s)."""
        return {
            "status": self.status,
            "ttfb_ms": _round(self.ttfb_ms),
            "ttft_ms": _round(self.ttft_ms),
            "total_ms": _round(self.total_ms),
            "bytes": self.bytes,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "tokens_per_s": _round(self.tokens_per_s),
        }


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return str(value) if isinstance(value, int) else f"{value:.1f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class StatsRecorder:
    """Collects timings while a response streams; `snapshot()` freezes them into StreamStats."""

    def __init__(self, *, clock: Any = time.perf_counter) -> None:
        self._clock = clock
        self._start = clock()
        self.status = 0
        self._first_byte: float | None = None
        self._first_text: float | None = None
        self._end: float | None = None
        self.bytes = 0
        self._usage: Mapping[str, Any] = {}

    def body_bytes(self, count: int) -> None:
        if count and self._first_byte is None:
            self._first_byte = self._clock()
        self.bytes += count

    def text(self) -> None:
        if self._first_text is None:
            self._first_text = self._clock()

    def usage(self, usage: Mapping[str, Any]) -> None:
        self._usage = usage

    def finish(self) -> None:
        if self._end is None:
            self._end = self._clock()

    def snapshot(self) -> StreamStats:
        end = self._end if self._end is not None else self._clock()
        return StreamStats(
            status=self.status,
            ttfb_ms=self._ms(self._first_byte),
            ttft_ms=self._ms(self._first_text),
            total_ms=(end - self._start) * 1000,
            bytes=self.bytes,
            output_tokens=_int_or_none(self._usage.get("outputTokens")),
            input_tokens=_int_or_none(self._usage.get("inputTokens")),
        )

    def _ms(self, at: float | None) -> float | None:
        return None if at is None else (at - self._start) * 1000


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
