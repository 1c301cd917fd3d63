"""The emulated REST API's API keys: the key file's validation, the key a request presents, and each
key's usage plan (token-bucket throttle, quota per UTC day, week or month) on controlled clocks."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from emulator.rest_keys import (
    ApiKey,
    KeyFileError,
    KeyStore,
    Quota,
    Refused,
    Throttle,
    load_key_file,
    parse_keys,
    presented_key,
)
from tests.support.emulator_process import run_emulator
from tests.support.rest_api import write_key_file

KEY = "sk-test-0123456789abcdefghij"
OTHER = "sk-other-0123456789abcdefgh"


class Clocks:
    """A monotonic clock and a wall clock the test moves by hand."""

    def __init__(self, wall: datetime) -> None:
        self.now = 1000.0
        self.epoch = wall.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.epoch += seconds

    def store(self, *keys: ApiKey) -> KeyStore:
        return KeyStore(keys, monotonic=lambda: self.now, wall=lambda: self.epoch)


def refusal(store: KeyStore, presented: str | None) -> str:
    with pytest.raises(Refused) as caught:
        store.admit(presented)
    return caught.value.response.error_type


def test_a_full_key_file() -> None:
    keys = parse_keys(
        [
            {"name": "alice", "value": KEY, "throttle": {"rateLimit": 2.5, "burstLimit": 5}},
            {"name": "bob", "value": OTHER, "enabled": False, "quota": {"limit": 100, "period": "WEEK"}},
        ]
    )
    alice, bob = keys
    assert (alice.enabled, alice.throttle, alice.quota) == (True, Throttle(2.5, 5), None)
    assert (bob.enabled, bob.quota) == (False, Quota(100, "WEEK"))
    assert alice.key_id == "k" + hashlib.sha256(b"alice").hexdigest()[:10]
    assert alice.principal_id == "apikey-" + hashlib.sha256(KEY.encode()).hexdigest()[:16]
    assert KEY not in repr(alice) and KEY not in repr(keys)  # the value never reaches a log via repr


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "non-empty JSON list"),
        ([], "non-empty JSON list"),
        (["alice"], "must be an object"),
        ([{"value": KEY}], 'non-empty string "name"'),
        ([{"name": "a", "value": "short"}], "20 to 128 printable ASCII"),
        ([{"name": "a", "value": "x" * 129}], "20 to 128 printable ASCII"),
        ([{"name": "a", "value": "has a space in it 0123456789"}], "20 to 128 printable ASCII"),
        ([{"name": "a", "value": KEY, "enabled": "yes"}], '"enabled" must be true or false'),
        ([{"name": "a", "value": KEY, "owner": "x"}], "unknown fields ['owner']"),
        ([{"name": "a", "value": KEY, "throttle": {"rateLimit": 1}}], '"throttle" must be'),
        ([{"name": "a", "value": KEY, "throttle": {"rateLimit": -1, "burstLimit": 1}}], '"rateLimit" must'),
        ([{"name": "a", "value": KEY, "throttle": {"rateLimit": 1, "burstLimit": 1.5}}], '"burstLimit" must'),
        ([{"name": "a", "value": KEY, "quota": {"limit": 1, "period": "YEAR"}}], '"period" must be one of'),
        ([{"name": "a", "value": KEY, "quota": {"limit": True, "period": "DAY"}}], '"limit" must be'),
        ([{"name": "a", "value": KEY}, {"name": "a", "value": OTHER}], "two keys are named 'a'"),
        ([{"name": "a", "value": KEY}, {"name": "b", "value": KEY}], "two keys have the same value"),
    ],
)
def test_bad_key_files_are_refused_without_quoting_a_value(document: Any, message: str) -> None:
    with pytest.raises(KeyFileError, match=re.escape(message)) as caught:
        parse_keys(document)
    assert KEY not in str(caught.value) and OTHER not in str(caught.value)


def test_an_unreadable_or_non_json_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read"):
        load_key_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[{", encoding="utf-8")
    with pytest.raises(KeyFileError, match="is not JSON"):
        load_key_file(tmp_path / "bad.json")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"name": "a", "value": "short"},
            "keys.json: key 0 ('a') needs a \"value\" of 20 to 128",
        ),
        ({"name": "a", "value": KEY, "quota": {"limit": 1, "period": "YEAR"}}, '"period" must be one of'),
    ],
)
def test_serve_stops_with_a_one_line_error(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    path = write_key_file(tmp_path, [entry])
    result = run_emulator("serve", "--front", "rest", "--api-keys", str(path))
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m emulator: error: --api-keys: ") and message in last
    assert result.stdout == ""  # nothing started, no ready line


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Authorization", f"Bearer {KEY}")], KEY),
        ([("authorization", f"bearer {KEY}")], KEY),
        ([("Authorization", f"BEARER {KEY}")], KEY),
        ([("Authorization", KEY)], KEY),  # bare: the value is the key
        ([("Authorization", f"  Bearer {KEY}  ")], KEY),
        ([("Authorization", f"Bearer  {KEY}")], f" {KEY}"),  # as the key authorizer reads it: malformed
        ([("x-api-key", KEY)], KEY),
        ([("X-API-Key", f" {KEY} ")], KEY),
        ([("Authorization", f"Bearer {KEY}"), ("x-api-key", OTHER)], KEY),  # Authorization first
        ([("Authorization", "")], ""),
        ([("Authorization", "Bearer ")], "Bearer"),  # HTTP drops the trailing space: a bare "Bearer"
        ([("Content-Type", "application/json")], None),
    ],
)
def test_presented_key(headers: list[tuple[str, str]], expected: str | None) -> None:
    assert presented_key(headers) == expected


def test_unknown_disabled_missing_and_malformed_keys() -> None:
    clocks = Clocks(datetime(2026, 5, 5, tzinfo=UTC))
    store = clocks.store(ApiKey("on", KEY), ApiKey("off", OTHER, enabled=False))
    assert store.admit(KEY).name == "on"
    assert refusal(store, OTHER) == "invalid_api_key"  # disabled: 403
    assert refusal(store, "sk-unknown-0123456789abcdef") == "invalid_api_key"  # unknown: 403
    assert refusal(store, KEY.upper()) == "invalid_api_key"  # keys are case-sensitive
    for missing in (None, ""):
        assert refusal(store, missing) == "unauthorized"  # missing: 401
    for malformed in ("Bearer", "short", " " + KEY, KEY + "\n", KEY[:-1] + "é", "k" * 129):
        assert refusal(store, malformed) == "unauthorized"  # never looked up: 401


def test_the_throttle_is_a_token_bucket() -> None:
    clocks = Clocks(datetime(2026, 5, 5, tzinfo=UTC))
    store = clocks.store(ApiKey("t", KEY, throttle=Throttle(rate_limit=2.0, burst_limit=3)))
    for _ in range(3):
        store.admit(KEY)  # a full bucket: the burst
    assert refusal(store, KEY) == "throttled"
    clocks.advance(0.49)
    assert refusal(store, KEY) == "throttled"  # 0.98 of a token
    clocks.advance(0.01)
    store.admit(KEY)  # one token after 0.5 s at 2 per second
    assert refusal(store, KEY) == "throttled"
    clocks.advance(60)
    for _ in range(3):
        store.admit(KEY)  # refilled to the burst, never beyond
    assert refusal(store, KEY) == "throttled"
    assert store.usage() == {"t": 7}


def test_a_zero_burst_admits_nothing() -> None:
    clocks = Clocks(datetime(2026, 5, 5, tzinfo=UTC))
    store = clocks.store(ApiKey("z", KEY, throttle=Throttle(rate_limit=10.0, burst_limit=0)))
    clocks.advance(5)
    assert refusal(store, KEY) == "throttled"


@pytest.mark.parametrize(
    ("period", "start", "still_same", "next_period"),
    [
        # A UTC day: 23:59:59 is the same day, midnight the next.
        ("DAY", datetime(2026, 5, 5, 0, 0, tzinfo=UTC), 86399, 86400),
        # A week from Monday 00:00 UTC (2026-05-04 is a Monday) to Sunday 23:59:59.
        ("WEEK", datetime(2026, 5, 4, 0, 0, tzinfo=UTC), 7 * 86400 - 1, 7 * 86400),
        # A calendar month: May has 31 days.
        ("MONTH", datetime(2026, 5, 1, 0, 0, tzinfo=UTC), 31 * 86400 - 1, 31 * 86400),
    ],
)
def test_the_quota_resets_with_the_utc_calendar_period(
    period: str, start: datetime, still_same: int, next_period: int
) -> None:
    clocks = Clocks(start)
    store = clocks.store(ApiKey("q", KEY, quota=Quota(limit=2, period=period)))
    store.admit(KEY)
    store.admit(KEY)
    assert refusal(store, KEY) == "quota_exceeded"
    clocks.advance(still_same)
    assert refusal(store, KEY) == "quota_exceeded"
    clocks.advance(next_period - still_same)
    store.admit(KEY)
    assert store.usage() == {"q": 1}


def test_refused_requests_use_up_nothing() -> None:
    clocks = Clocks(datetime(2026, 5, 5, tzinfo=UTC))
    both = ApiKey(
        "b", KEY, throttle=Throttle(rate_limit=1.0, burst_limit=1), quota=Quota(limit=2, period="DAY")
    )
    store = clocks.store(both)
    store.admit(KEY)
    assert refusal(store, KEY) == "throttled"  # not counted against the quota
    assert store.usage() == {"b": 1}
    clocks.advance(1)
    store.admit(KEY)
    clocks.advance(1)
    assert refusal(store, KEY) == "quota_exceeded"  # and the quota refusal took no token
    clocks.advance(86400)
    store.admit(KEY)


def test_keys_are_counted_apart() -> None:
    clocks = Clocks(datetime(2026, 5, 5, tzinfo=UTC))
    store = clocks.store(ApiKey("a", KEY, quota=Quota(1, "DAY")), ApiKey("b", OTHER, quota=Quota(1, "DAY")))
    store.admit(KEY)
    store.admit(OTHER)
    assert refusal(store, KEY) == refusal(store, OTHER) == "quota_exceeded"
