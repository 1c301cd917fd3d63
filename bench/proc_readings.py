"""Readings of a live process from /proc: a status figure in KiB (VmHWM, VmRSS) and its CPU time so far."""

from __future__ import annotations

from pathlib import Path


def proc_kib(pid: int, field_name: str) -> int:
    """A /proc/<pid>/status figure in KiB (VmHWM, VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} missing from /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, summed over its threads (ns-precise)."""
    total_ns = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        total_ns += int(stat.read_text().split()[0])
    return total_ns / 1e9
