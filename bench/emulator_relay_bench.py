"""Benchmark: per-chunk latency the emulator's Function URL front adds over reading the Runtime API directly.

A small raw-socket runtime (a subprocess) streams chunks that carry their CLOCK_MONOTONIC send time
(the clock is shared by processes). "direct" is the latency until the emulator's Runtime API server
has decoded a chunk and handed it to a reader in this process; "front" is the latency until an HTTP
client of the Function URL has read it. Both set-ups run at once and rounds alternate between them.
Run alone: `python -m bench --only emulator_relay_bench`.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from streaming_runtime import wire

from bench.results import Row, Section, Spread
from emulator.config import EmulatorConfig
from emulator.invocations import BodyChunk, Invocation, ResponseEnd
from emulator.local_lambda import Emulator
from emulator.runtime_api import RuntimeApiServer
from emulator.slot import InvocationSlot

CHUNKS = 100
GAP_S = 0.002
TARGET_ADDED_MS = 1.0

# The runtime: one streaming response of timestamped chunks per invocation, raw sockets, so the
# runtime itself adds as little as possible to either path.
RUNTIME = r"""
import os, socket, time
api = os.environ["AWS_LAMBDA_RUNTIME_API"]; host, port = api.rsplit(":", 1)
chunks, gap = int(os.environ["BENCH_CHUNKS"]), float(os.environ["BENCH_GAP_S"])
def reply(f):
    status = f.readline(); length = 0
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":"); headers[k.strip().lower()] = v.strip()
    return headers, f.read(int(headers.get("content-length", 0)))
nxt = socket.create_connection((host, int(port))); nf = nxt.makefile("rb")
while True:
    nxt.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    headers, _ = reply(nf)
    rid = headers["lambda-runtime-aws-request-id"]
    s = socket.create_connection((host, int(port))); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(f"POST /2018-06-01/runtime/invocation/{rid}/response HTTP/1.1\r\nHost: x\r\n"
              "Lambda-Runtime-Function-Response-Mode: streaming\r\nContent-Type: text/plain\r\n"
              "Transfer-Encoding: chunked\r\n\r\n".encode())
    for _ in range(chunks):
        data = b"%020d" % time.monotonic_ns()
        s.sendall(b"%x\r\n%b\r\n" % (len(data), data))
        time.sleep(gap)
    s.sendall(b"0\r\n\r\n"); reply(s.makefile("rb")); s.close()
"""
_RUNTIME_ENV = (("BENCH_CHUNKS", str(CHUNKS)), ("BENCH_GAP_S", str(GAP_S)))

Measure = Callable[[], list[float]]


def _latencies_ms(stamped: list[tuple[int, bytes]]) -> list[float]:
    return [(arrived - int(data)) / 1e6 for arrived, data in stamped]


@contextmanager
def direct_path() -> Iterator[Measure]:
    """A Runtime API server read directly: latency until the server hands a chunk to its reader."""
    slot = InvocationSlot()
    server = RuntimeApiServer(slot=slot, function_arn="arn:aws:lambda:us-east-1:000000000000:function:bench")
    server.serve_in_thread("bench-runtime-api")
    env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": server.address, **dict(_RUNTIME_ENV)}
    runtime = subprocess.Popen([sys.executable, "-c", RUNTIME], env=env)

    def measure() -> list[float]:
        invocation = Invocation(payload=b"{}", timeout_s=60)
        slot.assign(invocation)
        stamped: list[tuple[int, bytes]] = []
        while True:
            event = invocation.next_event(timeout=30)
            if event is None:
                raise TimeoutError("the direct runtime stopped sending")
            if isinstance(event, ResponseEnd):
                return _latencies_ms(stamped)
            if isinstance(event, BodyChunk):
                stamped.append((time.monotonic_ns(), event.data))

    try:
        yield measure
    finally:
        runtime.kill()
        runtime.wait(timeout=10)
        slot.close()
        server.shutdown()
        server.server_close()


@contextmanager
def front_path() -> Iterator[Measure]:
    """The emulator's Function URL: latency until an HTTP client has read the chunk off its socket."""
    config = EmulatorConfig(port=0, runtime_cmd=(sys.executable, "-c", RUNTIME), env=_RUNTIME_ENV)
    with Emulator(config, environ={"PATH": os.environ.get("PATH", "")}) as emulator:
        port = int(emulator.url.rsplit(":", 1)[1].strip("/"))

        def measure() -> list[float]:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.sendall(
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                    b"Content-Type: application/json\r\n\r\n{}"
                )
                reader = sock.makefile("rb")
                while reader.readline() not in (b"\r\n", b""):
                    pass
                stamped = [(time.monotonic_ns(), chunk) for chunk in wire.iter_chunked(reader)]
            return _latencies_ms(stamped)

        yield measure


def run(*, quick: bool) -> list[Section]:
    """Both paths alive at once; each round streams one response through each, in alternating order."""
    rounds = 5 if quick else 15
    direct_all: list[float] = []
    front_all: list[float] = []
    direct_medians: list[float] = []
    front_medians: list[float] = []
    added: list[float] = []
    with direct_path() as direct, front_path() as front:
        direct(), front()  # warm-up round: connections, first-use imports; not measured
        for index in range(rounds):
            # Alternate which path goes first so neither always runs right after the other's work.
            if index % 2:
                front_ms, direct_ms = front(), direct()
            else:
                direct_ms, front_ms = direct(), front()
            direct_all += direct_ms
            front_all += front_ms
            direct_medians.append(statistics.median(direct_ms))
            front_medians.append(statistics.median(front_ms))
            added.append(front_medians[-1] - direct_medians[-1])
    added_spread = Spread.of(added)
    rows = [
        Row.of("added per chunk by the Function URL front (front - direct)", added_spread, None, "ms",
               target=f"<= {TARGET_ADDED_MS:g} ms", passed=added_spread.median <= TARGET_ADDED_MS),
        Row.of("chunk sent -> read (ours: front client; baseline: direct)", Spread.of(front_all),
               Spread.of(direct_all), "ms"),
        Row("chunk sent -> read, 90th percentile", statistics.quantiles(front_all, n=10)[-1],
            statistics.quantiles(direct_all, n=10)[-1], "ms"),
    ]  # fmt: skip
    notes = [
        "ours = through the Function URL front (runtime -> Runtime API server -> relay -> HTTP client); "
        "baseline = the same Runtime API server read directly in-process (the floor the front adds to).",
        f"{rounds} rounds after one warm-up round; each round streams {CHUNKS} chunks {GAP_S * 1000:g} ms "
        "apart through each path, the order alternating; the added figure is the per-round difference of "
        "the median chunk latencies (its range is over rounds); the latency rows pool every chunk.",
        "latency = receive time - the CLOCK_MONOTONIC send time the runtime writes into each chunk; "
        "the runtime is a minimal raw-socket loop so neither path is diluted by runtime overhead.",
    ]
    return [Section(title="Emulator relay: Function URL front vs the Runtime API read directly", rows=rows,
                    notes=notes)]  # fmt: skip


if __name__ == "__main__":
    from bench.results import render

    print(render(run(quick="--quick" in sys.argv)))
