"""API keys of the emulated REST API: the key file, the key a request presents, and each key's usage plan
(a token-bucket throttle and a quota per UTC day, week or month), checked as API Gateway checks them."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from authorizer.api_key_authorizer import principal_id, well_formed
from emulator import rest_responses
from emulator.rest_responses import GatewayResponse

PERIODS = ("DAY", "WEEK", "MONTH")
# API Gateway key values are 20 to 128 characters; the project's key authorizer refuses anything else
# (and whitespace, control or non-ASCII characters) with 401 before any lookup: its own `well_formed`
# and `principal_id` serve here, as API Gateway runs that function (authorizer/api_key_authorizer.py).
MIN_KEY_CHARS, MAX_KEY_CHARS = 20, 128
_KEY_FIELDS = frozenset({"name", "value", "enabled", "throttle", "quota"})
_BEARER = "bearer "


class KeyFileError(ValueError):
    """The key file cannot be used; the message is one line and never contains a key value."""


@dataclass(frozen=True, slots=True)
class Throttle:
    """A usage plan's throttle: `rate_limit` requests per second on average, bursts of `burst_limit`."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True, slots=True)
class Quota:
    """A usage plan's quota: `limit` requests per UTC calendar `period` (DAY, WEEK from Monday, MONTH)."""

    limit: int
    period: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key of the key file. `value` is the secret: it is left out of repr so no log can show it."""

    name: str
    value: str = field(repr=False)
    enabled: bool = True
    throttle: Throttle | None = None
    quota: Quota | None = None

    @property
    def key_id(self) -> str:
        """The key's id (identity.apiKeyId): "k" + the first 10 hex digits of sha256(name)."""
        return "k" + hashlib.sha256(self.name.encode("utf-8")).hexdigest()[:10]

    @property
    def principal_id(self) -> str:
        """What the project's key authorizer returns as principalId for this key."""
        return principal_id(self.value)


def load_key_file(path: str | Path) -> tuple[ApiKey, ...]:
    """Read and validate the key file (a JSON list of keys); raises KeyFileError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}: {exc.__class__.__name__}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise KeyFileError(f"{path} is not JSON: {exc}") from None
    return parse_keys(document, source=str(path))


def parse_keys(document: Any, *, source: str = "key file") -> tuple[ApiKey, ...]:
    """The keys of a parsed key file; names and values must be unique."""
    if not isinstance(document, list) or not document:
        raise KeyFileError(f"{source} must be a non-empty JSON list of keys")
    keys = tuple(_parse_key(entry, f"{source}: key {index}") for index, entry in enumerate(document))
    names = [key.name for key in keys]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate is not None:
        raise KeyFileError(f"{source}: two keys are named {duplicate!r}")
    if len({key.value for key in keys}) != len(keys):
        raise KeyFileError(f"{source}: two keys have the same value")
    return keys


def _parse_key(entry: Any, where: str) -> ApiKey:
    if not isinstance(entry, dict):
        raise KeyFileError(f"{where} must be an object")
    unknown = sorted(set(entry) - _KEY_FIELDS)
    if unknown:
        raise KeyFileError(f"{where} has unknown fields {unknown} (allowed: {sorted(_KEY_FIELDS)})")
    name, value = entry.get("name"), entry.get("value")
    if not isinstance(name, str) or not name:
        raise KeyFileError(f'{where} needs a non-empty string "name"')
    where = f"{where} ({name!r})"
    if not isinstance(value, str) or not well_formed(value):
        raise KeyFileError(
            f'{where} needs a "value" of {MIN_KEY_CHARS} to {MAX_KEY_CHARS} printable ASCII characters'
            " without spaces (an API Gateway key value)"
        )
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise KeyFileError(f'{where}: "enabled" must be true or false')
    throttle = _parse_throttle(entry["throttle"], where) if "throttle" in entry else None
    quota = _parse_quota(entry["quota"], where) if "quota" in entry else None
    return ApiKey(name=name, value=value, enabled=enabled, throttle=throttle, quota=quota)


def _parse_throttle(value: Any, where: str) -> Throttle:
    if not isinstance(value, dict) or set(value) != {"rateLimit", "burstLimit"}:
        raise KeyFileError(f'{where}: "throttle" must be {{"rateLimit": N, "burstLimit": N}}')
    rate, burst = value["rateLimit"], value["burstLimit"]
    if not _number(rate) or rate < 0:
        raise KeyFileError(f'{where}: throttle "rateLimit" must be a number >= 0 (requests per second)')
    if not _integer(burst) or burst < 0:
        raise KeyFileError(f'{where}: throttle "burstLimit" must be an integer >= 0')
    return Throttle(rate_limit=float(rate), burst_limit=int(burst))


def _parse_quota(value: Any, where: str) -> Quota:
    if not isinstance(value, dict) or set(value) != {"limit", "period"}:
        raise KeyFileError(f'{where}: "quota" must be {{"limit": N, "period": "DAY"|"WEEK"|"MONTH"}}')
    limit, period = value["limit"], value["period"]
    if not _integer(limit) or limit < 0:
        raise KeyFileError(f'{where}: quota "limit" must be an integer >= 0')
    if period not in PERIODS:
        raise KeyFileError(f'{where}: quota "period" must be one of {", ".join(PERIODS)}')
    return Quota(limit=int(limit), period=str(period))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def presented_key(headers: Sequence[tuple[str, str]]) -> str | None:
    """The key a request presents, as the key authorizer reads it: `Authorization` after a
    case-insensitive "Bearer " (or the whole value, bare), else `x-api-key`; None when neither header
    is there. Only the header value's own surrounding whitespace is dropped (HTTP's)."""
    authorization = _header(headers, "authorization")
    if authorization is not None:
        token = authorization.strip()
        return token[len(_BEARER) :] if token[: len(_BEARER)].lower() == _BEARER else token
    api_key = _header(headers, "x-api-key")
    return api_key.strip() if api_key is not None else None


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


class Refused(Exception):  # noqa: N818 - a refusal, not a failure of ours
    """A request API Gateway refuses before the function: `response` is what the client gets, `reason`
    what the log says (never the key or token itself)."""

    def __init__(self, response: GatewayResponse, *, reason: str = "") -> None:
        super().__init__(response.error_type)
        self.response = response
        self.reason = reason or response.message


class _Usage:
    """One key's token bucket and quota counter."""

    __slots__ = ("period", "tokens", "updated", "used")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.updated = now
        self.period: tuple[int, ...] = ()
        self.used = 0


class KeyStore:
    """The usage plans of every key, checked per request under one lock (requests run in threads)."""

    def __init__(
        self,
        keys: Sequence[ApiKey],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.keys = tuple(keys)
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        now = monotonic()
        self._usage = {
            key.name: _Usage(float(key.throttle.burst_limit) if key.throttle else 0.0, now) for key in keys
        }

    def admit(self, presented: str | None) -> ApiKey:
        """The key this request may use, its quota and throttle charged; raises Refused otherwise:
        no key (or an empty or malformed one) 401, an unknown or disabled key 403, over quota or over
        the throttle 429. A refused request uses up nothing."""
        if presented is None or not presented:
            raise Refused(rest_responses.UNAUTHORIZED, reason="no API key")
        if not well_formed(presented):
            raise Refused(rest_responses.UNAUTHORIZED, reason="malformed API key")
        key = self._find(presented)
        if key is None:
            raise Refused(rest_responses.INVALID_API_KEY, reason="unknown API key")
        if not key.enabled:
            raise Refused(rest_responses.INVALID_API_KEY, reason=f"API key {key.name!r} is disabled")
        with self._lock:
            usage = self._usage[key.name]
            period = _period(key.quota, self._wall()) if key.quota else ()
            if period != usage.period:
                usage.period, usage.used = period, 0
            if key.quota is not None and usage.used >= key.quota.limit:
                raise Refused(rest_responses.QUOTA_EXCEEDED, reason=f"quota of API key {key.name!r} used up")
            if key.throttle is not None and not self._take_token(usage, key.throttle):
                raise Refused(rest_responses.THROTTLED, reason=f"API key {key.name!r} over its throttle")
            usage.used += 1
        return key

    def usage(self) -> Mapping[str, int]:
        """Requests counted against each key's quota in its current period, by key name."""
        with self._lock:
            return {name: usage.used for name, usage in self._usage.items()}

    def _find(self, presented: str) -> ApiKey | None:
        # Compare with every key in constant time: how long a refusal takes says nothing about the keys.
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.value.encode("utf-8"), presented.encode("utf-8")):
                found = key
        return found

    def _take_token(self, usage: _Usage, throttle: Throttle) -> bool:
        now = self._monotonic()
        elapsed = max(0.0, now - usage.updated)
        usage.tokens = min(float(throttle.burst_limit), usage.tokens + elapsed * throttle.rate_limit)
        usage.updated = now
        if usage.tokens < 1.0:
            return False
        usage.tokens -= 1.0
        return True


def _period(quota: Quota, epoch_s: float) -> tuple[int, ...]:
    """The UTC calendar period `epoch_s` falls in: its day, its week (from Monday) or its month."""
    day = datetime.fromtimestamp(epoch_s, UTC).date()
    if quota.period == "DAY":
        return (day.year, day.month, day.day)
    if quota.period == "WEEK":
        monday = day - timedelta(days=day.weekday())
        return (monday.year, monday.month, monday.day)
    return (day.year, day.month)
