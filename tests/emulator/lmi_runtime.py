"""A Lambda Managed Instances custom runtime for the emulator tests: AWS_LAMBDA_MAX_CONCURRENCY threads
(plus RAW_RUNTIME_EXTRA_NEXT more), each running raw_runtime's loop on connections of its own.

It adds scenarios for one invocation among many: `environ` answers with the LMI variables; `tagged`
streams `chunks` pieces `<tag>-<index>;` every `delay_ms`; `late` answers buffered after `sleep_ms`.
The last two print the Runtime API's reply to stderr (`ANSWER <request id> <status> <body>`), so a test
sees the 410 that a late answer for a timed-out invocation gets.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from socket import socket
from typing import Any

import raw_runtime as raw

ENVIRON = ("AWS_LAMBDA_MAX_CONCURRENCY", "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_INITIALIZATION_TYPE")


def handle(request_id: str, event: dict[str, Any], next_sock: socket) -> bool:
    spec = json.loads(event.get("body") or "{}")
    scenario = spec.get("scenario")
    response_path = f"{raw.PREFIX}/invocation/{request_id}/response"
    if scenario == "environ":
        found = {name: os.environ.get(name) for name in ENVIRON}
        raw.post(response_path, json.dumps(found).encode(), {"Content-Type": "application/json"})
    elif scenario == "late":
        time.sleep(spec["sleep_ms"] / 1000)
        status, reply = raw.post(response_path, b'{"late": true}', {"Content-Type": "application/json"})
        print(f"ANSWER {request_id} {status} {reply.decode()}", file=sys.stderr, flush=True)
    elif scenario == "tagged":
        sock = raw.stream_post(request_id, "text/plain")
        for index in range(spec["chunks"]):
            if index:
                time.sleep(spec["delay_ms"] / 1000)
            raw.chunk(sock, f"{spec['tag']}-{index};".encode())
        sock.sendall(b"0\r\n\r\n")
        status, _, reply = raw.read_reply(sock)
        sock.close()
        print(f"ANSWER {request_id} {status} {reply.decode()}", file=sys.stderr, flush=True)
    else:
        return raw.handle(request_id, event, next_sock)
    return False


def work() -> None:
    try:
        raw.serve(handle)
    finally:
        os._exit(1)  # a refused /next (or a lost API) ends the whole runtime, not one thread


def main() -> None:
    extra = int(os.environ.get("RAW_RUNTIME_EXTRA_NEXT", "0"))
    workers = int(os.environ["AWS_LAMBDA_MAX_CONCURRENCY"]) + extra
    print(f"lmi runtime ready pid={os.getpid()} workers={workers}", file=sys.stderr, flush=True)
    threads = [threading.Thread(target=work, name=f"worker-{index}") for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
