"""Opt-in fault injection (`serve --fault-injection`): Runtime API answers armed through `/_emulator/faults`.

A test arms a fault with `POST /_emulator/faults` and the JSON body
`{"runtimeApi": {"status": 500, "count": 1, "path": "next"}}`: the next `count` Runtime API requests to
that endpoint (received after arming) get `status` with an `InjectedFault` error body instead of being
served. `GET` shows what is armed, `DELETE` disarms everything. Without the flag the path is a 404.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The Runtime API endpoints a fault can target, by the name a test uses.
ENDPOINTS = ("next", "response", "error", "init-error")
MAX_COUNT = 1000
_RULE_KEYS = frozenset({"status", "count", "path"})


class FaultSpecError(ValueError):
    """A fault body the emulator cannot use; the message says what is wrong (answered as 400)."""


@dataclass(frozen=True, slots=True)
class RuntimeApiFault:
    """Answer the next `count` requests to `endpoint` with `status`."""

    endpoint: str
    status: int
    count: int

    def to_json(self) -> dict[str, Any]:
        return {"path": self.endpoint, "status": self.status, "count": self.count}


def parse_fault(raw: bytes) -> RuntimeApiFault:
    """The fault a `POST /_emulator/faults` body asks for, or FaultSpecError."""
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FaultSpecError("the body must be a JSON object") from None
    if not isinstance(document, dict) or set(document) != {"runtimeApi"}:
        raise FaultSpecError('the body must be {"runtimeApi": {"status", "count", "path"}}')
    rule = document["runtimeApi"]
    if not isinstance(rule, dict):
        raise FaultSpecError("runtimeApi must be an object")
    if unknown := sorted(set(rule) - _RULE_KEYS):
        raise FaultSpecError(f"unknown runtimeApi field(s): {', '.join(unknown)}")
    status = _integer(rule, "status", default=None, low=400, high=599)
    count = _integer(rule, "count", default=1, low=1, high=MAX_COUNT)
    endpoint = rule.get("path", "next")
    if endpoint not in ENDPOINTS:
        raise FaultSpecError(f"runtimeApi.path must be one of {', '.join(ENDPOINTS)}")
    return RuntimeApiFault(endpoint=endpoint, status=status, count=count)


def _integer(rule: Mapping[str, Any], name: str, *, default: int | None, low: int, high: int) -> int:
    value = rule.get(name, default)
    if value is None:
        raise FaultSpecError(f"runtimeApi.{name} is required")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultSpecError(f"runtimeApi.{name} must be an integer from {low} to {high}")
    return value


class FaultInjector:
    """The armed faults, shared by every sandbox's Runtime API server (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, RuntimeApiFault] = {}

    def arm(self, fault: RuntimeApiFault) -> None:
        """Arm `fault`, replacing whatever was armed for its endpoint."""
        with self._lock:
            self._armed[fault.endpoint] = fault

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, endpoint: str) -> RuntimeApiFault | None:
        """The fault to apply to this request to `endpoint` (using up one of its count), or None."""
        with self._lock:
            fault = self._armed.get(endpoint)
            if fault is None:
                return None
            if fault.count > 1:
                self._armed[endpoint] = RuntimeApiFault(endpoint, fault.status, fault.count - 1)
            else:
                del self._armed[endpoint]
            return fault

    def state(self) -> dict[str, Any]:
        """What is armed, as `GET /_emulator/faults` shows it."""
        with self._lock:
            return {"runtimeApi": [fault.to_json() for fault in self._armed.values()]}
