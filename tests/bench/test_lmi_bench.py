"""The Lambda Managed Instances benchmark's pure helpers: percentiles, the memory arithmetic, the rows and
their verdicts, the /proc parsers, `--only lmi`, and the bench Runtime API holding many GET /next open at
once. Nothing here is timed."""

from __future__ import annotations

import socket

import pytest

from bench import __main__ as bench_main
from bench import lmi_bench
from bench.lmi_bench import STAGGERED, Batch, EnvironmentMemory, ProcessMemory, RunFacts
from bench.proc_readings import parse_netstat, parse_smaps_rollup
from bench.results import Row, Section, render
from bench.runtime_api import BenchApi

SMAPS_ROLLUP = """\
55d0c1a2b000-7ffd5a3f1000 ---p 00000000 00:00 0                          [rollup]
Rss:               35840 kB
Pss:               30310 kB
Pss_Dirty:         28000 kB
Shared_Clean:       5000 kB
Shared_Dirty:          0 kB
Private_Clean:       840 kB
Private_Dirty:     30000 kB
Swap:                  0 kB
"""

NETSTAT = """\
TcpExt: SyncookiesSent ListenOverflows ListenDrops
TcpExt: 0 683 690
IpExt: InNoRoutes InOctets
IpExt: 0 12345
"""


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10 .. 1, unsorted on purpose
    assert lmi_bench.percentile(values, 0.9) == 9.0
    assert lmi_bench.percentile(values, 0.5) == 5.0
    assert lmi_bench.percentile(values, 1.0) == 10.0
    assert lmi_bench.percentile([7.0], 0.9) == 7.0
    # 30 x 0.9 is 27.000000000000004 in floating point: still the 27th value, not the 28th.
    assert lmi_bench.percentile([float(v) for v in range(1, 31)], 0.9) == 27.0
    with pytest.raises(ValueError):
        lmi_bench.percentile([], 0.9)
    with pytest.raises(ValueError):
        lmi_bench.percentile([1.0], 0.0)


def test_memory_per_additional_stream() -> None:
    assert lmi_bench.per_additional(100.0, 30.0, 8) == 10.0
    with pytest.raises(ValueError):
        lmi_bench.per_additional(30.0, 30.0, 1)


def test_smaps_rollup_fields_and_uss() -> None:
    fields = parse_smaps_rollup(SMAPS_ROLLUP)
    assert fields["Rss"] == 35840 and fields["Pss"] == 30310 and "[rollup]" not in "".join(fields)
    assert ProcessMemory.of(fields) == ProcessMemory(rss=35840, pss=30310, uss=30840)


def test_netstat_counters_by_section() -> None:
    counters = parse_netstat(NETSTAT)
    assert counters["TcpExt.ListenOverflows"] == 683
    assert counters["IpExt.InOctets"] == 12345


def _classic(pss: int) -> EnvironmentMemory:
    return EnvironmentMemory(ProcessMemory(rss=pss + 5000, pss=pss, uss=pss - 1000), ())


def _lmi(size: int, *, parent: int, worker: int) -> EnvironmentMemory:
    workers = tuple(ProcessMemory(rss=30000, pss=worker, uss=worker - 500) for _ in range(size))
    return EnvironmentMemory(ProcessMemory(rss=30000, pss=parent, uss=parent // 2), workers)


def test_an_environments_totals() -> None:
    classic = _classic(30000)
    assert classic.servers == (classic.parent,) and classic.total_pss == 30000
    assert classic.server_pss == 30000
    lmi = _lmi(4, parent=12000, worker=9000)
    assert lmi.total_pss == 12000 + 4 * 9000
    assert lmi.server_pss == 9000 and lmi.server_uss == 8500


def test_memory_rows_pair_each_round_with_its_classic_process() -> None:
    readings = {
        1: [_classic(30 * 1024), _classic(32 * 1024)],
        8: [_lmi(8, parent=12 * 1024, worker=9 * 1024), _lmi(8, parent=12 * 1024, worker=9 * 1024)],
    }
    rows = lmi_bench.memory_rows(readings)

    def row(start: str) -> Row:
        return next(r for r in rows if r.metric.split(": ", 1)[1].startswith(start))

    total = row("the environment's PSS")
    assert total.ours == 12 + 8 * 9  # MiB
    # The classic alternative: 8 environments of one process each, at its whole RSS (PSS + 5000 KiB here).
    assert total.baseline == pytest.approx(8 * (31 * 1024 + 5000) / 1024)
    added = row("per additional concurrent stream")
    # Round by round: (84 - 30) / 7 and (84 - 32) / 7 MiB.
    assert added.ours_range == pytest.approx(((84 - 32) / 7, (84 - 30) / 7))
    assert row("PSS per worker").ours == 9


def _batches(first_ms: list[list[float]]) -> list[Batch]:
    return [Batch(tuple(ms / 1000 for ms in firsts), 0.25, 0.01 * len(firsts)) for firsts in first_ms]


def _streams(added_ms: float, *, rounds: int = 12) -> lmi_bench.Streams:
    singles = [[55.0 + 0.1 * index] for index in range(rounds)]
    many = [[55.0 + 0.1 * index + added_ms + 0.01 * k for k in range(16)] for index in range(rounds)]
    return {1: _batches(singles), 16: _batches(many), STAGGERED: _batches(many)}


@pytest.mark.parametrize(("added_ms", "verdict"), [(0.5, True), (5.0, False)])
def test_the_target_rows_judge_the_per_round_difference(added_ms: float, verdict: bool) -> None:
    rows = lmi_bench.stream_rows(_streams(added_ms), label="runtime", target_size=16)
    judged = [row for row in rows if row.target]
    assert [row.metric.split(" - ")[0] for row in judged] == [
        "runtime, 16 streams at once",
        "runtime, 16 streams arriving 5 ms apart",
    ]
    assert all(row.passed is verdict for row in judged)
    cpu = next(row for row in rows if "CPU time per stream" in row.metric)
    assert cpu.ours == pytest.approx(10.0) and cpu.baseline == pytest.approx(10.0)


def test_no_verdict_when_the_interval_straddles_the_target() -> None:
    streams = _streams(0.0, rounds=4)  # 4 rounds: the CI of the median is their whole range
    streams[16] = _batches([[55.0 + added] * 16 for added in (0.0, 1.0, 3.0, 4.0)])
    streams[1] = _batches([[55.0]] * 4)
    rows = lmi_bench.stream_rows(streams, label="emulator", target_size=16)
    at_once = next(row for row in rows if row.target and "at once" in row.metric)
    assert at_once.passed is None
    assert "-" in render([Section("t", rows=[at_once])]).splitlines()[-2]


def test_notes_say_when_the_emulator_was_not_measured() -> None:
    facts = RunFacts({"start-up": 1.0}, 2, 1, 3, None, {"streams": 0})
    text = " ".join(lmi_bench.notes(facts))
    assert "not measured" in text and "--max-concurrency" in text
    measured = " ".join(lmi_bench.notes(RunFacts({}, 2, 1, 3, 4, {"streams": 0, "emulator": 2})))
    assert "not measured" not in measured and "emulator 2" in measured


def test_only_lmi_selects_the_module() -> None:
    assert "bench.lmi_bench" in bench_main.MODULES
    assert "lmi" in bench_main._short_names("bench.lmi_bench")


def _get_next(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def _request_id(sock: socket.socket) -> str:
    head = b""
    while b"\r\n\r\n" not in head:
        data = sock.recv(4096)
        assert data, "the API closed the connection"
        head += data
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "lambda-runtime-aws-request-id":
            return value.strip()
    raise AssertionError(f"no request id in {head!r}")


def test_the_bench_api_holds_many_get_next_open_at_once() -> None:
    """A burst of connections (more than its pre-started threads) each get a thread, all their GET /next
    wait together, and each is answered with an invocation of its own."""
    count = 12
    with BenchApi() as api:
        port = int(api.address.rsplit(":", 1)[1])
        connections = [_get_next(port) for _ in range(count)]
        try:
            assert api.wait_waiting(count, 30)
            assert api.wait_nexts(count, 30) and len(api.next_times) == count
            results = [api.submit({"n": index}) for index in range(count)]
            answered = {_request_id(sock) for sock in connections}
            assert answered == {result.request_id for result in results}
            assert api.wait_waiting(0, 30) and api.waiting == 0
        finally:
            for sock in connections:
                sock.close()
