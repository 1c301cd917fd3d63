"""Helpers shared by the handler tests: the shared event fixture, environment, a small fake context."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "function_url_event.json"
MODEL_IDS = "us.anthropic.claude-3-5-haiku-20241022-v1:0,mistral.mistral-7b-instruct-v0:2"


@dataclass
class FakeContext:
    """The two context members the handler uses; remaining time comes from a list of values (last repeats)."""

    remaining_ms: list[int] = field(default_factory=lambda: [300_000])
    aws_request_id: str = "11111111-2222-4333-8444-555555555555"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms.pop(0) if len(self.remaining_ms) > 1 else self.remaining_ms[0]


def load_event(**changes: Any) -> dict[str, Any]:
    """The shared Function URL fixture with top-level changes; `body` may be given as a dict."""
    event = copy.deepcopy(json.loads(FIXTURE.read_text()))
    if isinstance(changes.get("body"), dict):
        changes["body"] = json.dumps(changes["body"])
    event.update(changes)
    return event


def base_env(**extra: str) -> dict[str, str]:
    return {"MODEL_IDS": MODEL_IDS, "AWS_REGION": "us-east-1", "BEDROCK_MAX_ATTEMPTS": "1", **extra}
