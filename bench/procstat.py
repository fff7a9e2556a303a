"""CPU time of processes from /proc: a server's process tree, PostgreSQL backends by pid."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    """Direct children of a process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(stat[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its direct children (a gunicorn master and its workers)."""
    return cpu_seconds(pid) + sum(cpu_seconds(child) for child in children(pid))


class PidCpuTracker:
    """Accumulates CPU of a changing set of pids (database backends come and go)."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self, pids: list[int], baseline: bool = False) -> None:
        for pid in pids:
            value = cpu_seconds(pid)
            if pid not in self.first:
                self.first[pid] = value if baseline else 0.0
            self.last[pid] = max(value, self.last.get(pid, 0.0))

    def used(self) -> float:
        """CPU seconds used by the tracked pids since they were first seen (or started)."""
        return sum(self.last[pid] - self.first[pid] for pid in self.last)
