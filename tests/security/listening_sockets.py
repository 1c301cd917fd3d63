"""The TCP sockets a process is listening on, read from /proc (Linux) without psutil."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

_SOCKET_LINK = re.compile(r"^socket:\[(\d+)\]$")
_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    """One listening socket: its local address and port."""

    address: str
    port: int

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.address).is_loopback


def _decode_address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc prints each 32-bit word in host (little-endian) order.
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(ordered))


def _listeners_by_inode() -> dict[int, Listener]:
    found: dict[int, Listener] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if state != _LISTEN:
                continue
            hex_address, hex_port = local.split(":")
            found[inode] = Listener(_decode_address(hex_address), int(hex_port, 16))
    return found


def listening_sockets(pid: int) -> list[Listener]:
    """Every TCP socket `pid` holds open in the LISTEN state."""
    inodes = []
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            match = _SOCKET_LINK.match(os.readlink(fd))
        except OSError:
            continue  # closed between listing and reading
        if match:
            inodes.append(int(match.group(1)))
    table = _listeners_by_inode()
    return sorted((table[i] for i in inodes if i in table), key=lambda listener: listener.port)
