"""Readings of a live process from /proc: status figures in KiB (VmHWM, VmRSS), smaps_rollup totals (Pss,
private pages), its children and its CPU time so far; and the kernel's count of listen-queue overflows."""

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


def parse_smaps_rollup(text: str) -> dict[str, int]:
    """The KiB figures of a /proc/<pid>/smaps_rollup text by field name (Rss, Pss, Private_Dirty, ...)."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name.strip()] = int(parts[0])
    return fields


def smaps_rollup(pid: int) -> dict[str, int]:
    """A live process's memory totals in KiB from /proc/<pid>/smaps_rollup (Linux 4.14+)."""
    fields = parse_smaps_rollup(Path(f"/proc/{pid}/smaps_rollup").read_text())
    if "Pss" not in fields:
        raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")
    return fields


def child_pids(pid: int) -> list[int]:
    """The pids of a live process's children (those its main thread started)."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def parse_netstat(text: str) -> dict[str, int]:
    """The counters of a /proc/net/netstat text as `TcpExt.ListenOverflows` -> value (each section is a
    line of names followed by a line of values)."""
    counters: dict[str, int] = {}
    lines = text.splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        section, _, keys = names.partition(":")
        for key, value in zip(keys.split(), values.partition(":")[2].split(), strict=False):
            counters[f"{section}.{key}"] = int(value)
    return counters


def listen_overflows() -> int:
    """Connections this machine's kernel dropped so far because a listen queue was full (all sockets)."""
    return parse_netstat(Path("/proc/net/netstat").read_text()).get("TcpExt.ListenOverflows", 0)
