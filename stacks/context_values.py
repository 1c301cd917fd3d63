"""Reading CDK context values (cdk.json or ``-c key=value``): the error a wrong shape raises, and the
readers both the stack's and the REST API door's settings share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

Choice = TypeVar("Choice", bound=str)


class ContextError(ValueError):
    """A CDK context value (cdk.json or ``-c key=value``) has the wrong shape."""


def choice(key: str, value: object, choices: Sequence[Choice]) -> Choice:
    """One of ``choices`` (the first when absent or empty), case-insensitively."""
    if value is None or value == "":
        return choices[0]
    for allowed in choices:
        if isinstance(value, str) and value.strip().lower() == allowed:
            return allowed
    raise ContextError(f"context {key} must be {', '.join(choices[:-1])} or {choices[-1]}, got {value!r}")


def flag(key: str, value: object, *, default: bool) -> bool:
    """A JSON boolean, or ``true``/``false`` in any case (``-c key=false``); ``default`` when absent/empty."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise ContextError(f"context {key} must be true or false, got {value!r}")
