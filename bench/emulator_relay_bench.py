"""Benchmark: per-chunk latency the Function URL front adds over reading the Runtime API directly.

A small runtime (a subprocess) streams timestamped chunks (CLOCK_MONOTONIC is shared by processes).
"direct" is the latency until the emulator's Runtime API server has decoded a chunk; "front" is the
latency until an HTTP client of the Function URL has read it. The difference is what the relay adds.
Run: `python -m bench.emulator_relay_bench` (or through the bench harness via `run()`).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from streaming_runtime import wire

from emulator.config import EmulatorConfig
from emulator.invocations import BodyChunk, Invocation, ResponseEnd
from emulator.local_lambda import Emulator
from emulator.runtime_api import RuntimeApiServer
from emulator.slot import InvocationSlot

CHUNKS = 300
GAP_S = 0.002
REPO = Path(__file__).resolve().parent.parent

# The runtime: one streaming response of timestamped chunks per invocation, raw sockets.
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


def _runtime_env(api: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": api,
        "BENCH_CHUNKS": str(CHUNKS),
        "BENCH_GAP_S": str(GAP_S),
    }


def _latencies_ms(stamped: list[tuple[int, bytes]]) -> list[float]:
    return [(arrived - int(data)) / 1e6 for arrived, data in stamped]


def measure_direct() -> list[float]:
    """Latency until the Runtime API server hands the chunk to the emulator."""
    slot = InvocationSlot()
    server = RuntimeApiServer(slot=slot, function_arn="arn:aws:lambda:us-east-1:000000000000:function:bench")
    server.serve_in_thread("bench-runtime-api")
    runtime = subprocess.Popen([sys.executable, "-c", RUNTIME], env=_runtime_env(server.address))
    try:
        invocation = Invocation(payload=b"{}", timeout_s=60)
        slot.assign(invocation)
        stamped: list[tuple[int, bytes]] = []
        while True:
            event = invocation.next_event(timeout=30)
            if event is None or isinstance(event, ResponseEnd):
                break
            if isinstance(event, BodyChunk):
                stamped.append((time.monotonic_ns(), event.data))
        return _latencies_ms(stamped)
    finally:
        runtime.kill()
        runtime.wait()
        slot.close()
        server.shutdown()
        server.server_close()


def measure_front() -> list[float]:
    """Latency until an HTTP client of the Function URL has read the chunk."""
    config = EmulatorConfig(
        port=0,
        runtime_cmd=(sys.executable, "-c", RUNTIME),
        env=(("BENCH_CHUNKS", str(CHUNKS)), ("BENCH_GAP_S", str(GAP_S))),
    )
    with Emulator(config, environ={"PATH": os.environ.get("PATH", "")}) as emulator:
        port = int(emulator.url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(
                b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
            )
            reader = sock.makefile("rb")
            while reader.readline() not in (b"\r\n", b""):
                pass
            stamped = []
            for chunk in wire.iter_chunked(reader):
                stamped.append((time.monotonic_ns(), chunk))
    return _latencies_ms(stamped)


def run() -> dict[str, float]:
    """Medians (ms) of per-chunk latency, direct and through the front, and what the front adds."""
    direct = measure_direct()
    front = measure_front()
    direct_median, front_median = statistics.median(direct), statistics.median(front)
    return {
        "chunks": float(min(len(direct), len(front))),
        "direct_median_ms": round(direct_median, 3),
        "front_median_ms": round(front_median, 3),
        "added_median_ms": round(front_median - direct_median, 3),
        "front_p90_ms": round(statistics.quantiles(front, n=10)[-1], 3),
        "target_added_ms": 1.0,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
