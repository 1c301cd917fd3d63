"""Detectors for what must never leak: stack traces and internal paths in replies, secrets in logs."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Each is a sign of a stack trace or of a path on the machine that served the request.
INTERNAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("traceback", re.compile(r"Traceback \(most recent call last\)", re.I)),
    ("stack frame", re.compile(r"File \"[^\"]+\", line \d+")),
    ("stackTrace field", re.compile(r"stackTrace", re.I)),
    ("python file path", re.compile(r"[/\\][\w.-]+\.py\b")),  # a bare base name is not a path
    ("site-packages", re.compile(r"site-packages|dist-packages")),
    ("checkout path", re.compile(re.escape(str(REPO)))),
    ("interpreter path", re.compile(re.escape(sys.prefix))),
    ("absolute path", re.compile(r"(?<![\w.:/])/(?:work|home|root|tmp|usr|opt|var|etc|proc)/")),
    # An internal endpoint: botocore's network errors quote the URL, urllib3's the host and port.
    ("URL", re.compile(r"\bhttps?://", re.I)),
    ("host:port", re.compile(r"\b(?:localhost|\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}\b|\bport=\d+")),
)


def internal_leaks(text: str) -> list[str]:
    """The names of the internal-detail patterns found in `text`."""
    return [name for name, pattern in INTERNAL_PATTERNS if pattern.search(text)]


def assert_no_internals(body: bytes | str) -> None:
    """Fail, quoting the body, when it carries a stack trace or an internal path."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    leaks = internal_leaks(text)
    assert leaks == [], f"{leaks} in reply body: {text[:2000]}"


def occurrences(log: str, needles: Iterable[str]) -> dict[str, list[str]]:
    """For each needle found in `log`, the log lines holding it."""
    lines = log.splitlines()
    return {needle: hits for needle in needles if (hits := [line for line in lines if needle in line])}


def whole_word_hits(log: str, words: Iterable[str]) -> dict[str, list[str]]:
    """Words of `words` that occur in `log` as whole words (so 'river' does not match 'driver')."""
    found: dict[str, list[str]] = {}
    for word in set(words):
        pattern = re.compile(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])")
        if hits := [line for line in log.splitlines() if pattern.search(line)]:
            found[word] = hits[:3]
    return found
