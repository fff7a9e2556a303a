"""Lines the fault tests report at the end of the run (the duplicate count after a SIGKILL)."""

from __future__ import annotations

REPORT: list[str] = []
