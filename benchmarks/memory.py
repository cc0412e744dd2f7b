"""Peak memory of a bench's own process."""

from __future__ import annotations

from pathlib import Path


def own_peak_mb() -> float:
    """This process's peak resident memory since it started its program, MB (Linux VmHWM).

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux keeps that across ``exec``, so a process
    started from a large one (a spawned worker, a subprocess) reports its parent's memory
    whenever that was larger than its own.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line (not Linux?)")
