"""`DeadlineWatchdog`: fires once at its deadline unless its block ended first; all watchdogs of a
process share one timer thread, in deadline order, and drop the streams of the ones that ended."""

from __future__ import annotations

import threading
import time

from bedrock_handler import deadline
from bedrock_handler.deadline import DeadlineWatchdog


def test_fires_once_at_the_deadline_while_the_block_is_open() -> None:
    calls: list[float] = []
    started = time.monotonic()
    with DeadlineWatchdog(seconds=0.1, on_deadline=lambda: calls.append(time.monotonic())) as watchdog:
        time.sleep(0.4)
    assert watchdog.fired and len(calls) == 1
    assert calls[0] - started >= 0.1


def test_a_block_that_ends_first_is_never_fired() -> None:
    calls: list[int] = []
    with DeadlineWatchdog(seconds=0.1, on_deadline=lambda: calls.append(1)) as watchdog:
        pass
    time.sleep(0.3)
    assert not watchdog.fired and calls == []


def test_many_watchdogs_share_one_thread_and_fire_in_deadline_order() -> None:
    order: list[int] = []
    done = threading.Event()
    watchdogs = []
    for index, seconds in enumerate([0.3, 0.1, 0.2, 0.05]):
        watchdog = DeadlineWatchdog(seconds=seconds, on_deadline=lambda index=index: order.append(index))
        watchdogs.append(watchdog.__enter__())
    threads = [thread for thread in threading.enumerate() if thread.name == "deadline-watchdog"]
    assert len(threads) == 1
    deadline_at = time.monotonic() + 2
    while len(order) < 4 and time.monotonic() < deadline_at:
        done.wait(0.02)
    assert order == [3, 1, 2, 0]
    for watchdog in watchdogs:
        watchdog.__exit__(None, None, None)


def test_ended_watchdogs_do_not_keep_their_streams_or_pile_up() -> None:
    for _ in range(500):
        with DeadlineWatchdog(seconds=3600, on_deadline=lambda: None):
            pass
    pending = deadline._TIMER._heap
    assert len(pending) <= 2 * deadline._COMPACT_ABOVE + 2, len(pending)
    assert all(entry[2]._on_deadline is None for entry in pending if entry[2]._ended)
    calls: list[int] = []
    with DeadlineWatchdog(seconds=0.05, on_deadline=lambda: calls.append(1)):
        time.sleep(0.3)  # a live one among hour-long cancelled ones still fires on time
    assert calls == [1]
