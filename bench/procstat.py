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


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share of the machine's CPU time that was busy between two `machine_ticks`."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total else 0.0
