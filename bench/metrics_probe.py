"""One fresh function process of the metrics benchmark: with our runtime's modules loaded, as when it
imports a handler, time one EMF writer's import and first document, then each warm document; print the
readings as the last line of its output.

bench/metrics_rounds.py runs it as `python3 -u -P metrics_probe.py SPEC` (unbuffered, as runtime/bootstrap
starts the runtime) with a task root on PYTHONPATH, the function's environment and its stdout a pipe, as
Lambda's. SPEC is a JSON object: `setup` (a contender's code, bench/metrics_contenders.py), `invocation`
(the globals it gets), `warm` (how many warm documents to time). Timed with time.perf_counter_ns in this
process, so the interpreter's own start-up is not in the figures:

- `import_ns`: running the setup code (compiled beforehand, as a task root's byte code is) with the cyclic
  GC paused, as the runtime imports the handler (streaming_runtime.__main__);
- `first_ns`: the first document built and written to the pipe, the GC frozen and re-enabled first, as
  the runtime leaves init;
- `warm_ns`: each of the next `warm` documents, written to /dev/null through an unbuffered text stream
  (each write a system call, as under `python3 -u`), the same sink for every contender.

It imports nothing but the standard library and the task roots, so the same file runs every contender.
"""

from __future__ import annotations

import gc
import io
import json
import os
import sys
import time

import streaming_runtime.__main__  # noqa: F401  (what our runtime has loaded before it imports a handler)


def _null_stdout() -> io.TextIOWrapper:
    """/dev/null as `python3 -u` makes stdout: a text stream that writes through on every call."""
    return io.TextIOWrapper(io.FileIO(os.devnull, "w"), encoding="utf-8", write_through=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    code = compile(spec["setup"], "<emitter>", "exec")
    namespace = {"__name__": "emitter", **spec["invocation"]}
    loaded = set(sys.modules)
    clock = time.perf_counter_ns
    gc.disable()
    started = clock()
    exec(code, namespace)  # the contender code of bench/metrics_contenders.py
    imported = clock()
    gc.freeze()
    gc.enable()
    emit = namespace["emit_document"]
    emit()
    first = clock()
    modules = sorted(set(sys.modules) - loaded)
    pipe = sys.stdout
    warm: list[int] = []
    with _null_stdout() as sink:
        sys.stdout = sink
        try:
            for _ in range(spec["warm"]):
                before = clock()
                emit()
                warm.append(clock() - before)
        finally:
            sys.stdout = pipe
    readings = {"import_ns": imported - started, "first_ns": first - imported, "warm_ns": warm,
                "modules": modules}  # fmt: skip
    print(json.dumps(readings), file=pipe, flush=True)


if __name__ == "__main__":
    main()
