"""Cores this process may use: its affinity mask, lowered to its cgroup's CPU quota.

Standard library only: ``autograder.limits`` (read by nbgrader_config.py) derives the default
torch threads from it.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path


def available_cpus() -> int:
    """Cores this process may use: its affinity mask, lowered to its cgroup's CPU quota if
    one is set (a Gradescope container of 0.5 vCPU sees every core of its host)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    return max(1, min(cpus, math.ceil(quota)) if quota else cpus)


def _cgroup_cpu_quota() -> float | None:
    """CPUs' worth of time per period this process's cgroup allows (v1 or v2), or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:  # not Linux
        return None
    quotas = []
    for line in lines:
        with contextlib.suppress(OSError, ValueError):
            _, controllers, path = line.split(":", 2)
            if controllers == "":  # v2: "0::/path"
                quota, period = (
                    (Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.max").read_text().split()
                )
            elif "cpu" in controllers.split(","):  # v1: "4:cpu,cpuacct:/path"
                folder = Path("/sys/fs/cgroup/cpu") / path.lstrip("/")
                quota = (folder / "cpu.cfs_quota_us").read_text().strip()
                period = (folder / "cpu.cfs_period_us").read_text().strip()
            else:
                continue
            if quota not in ("max", "-1"):
                quotas.append(int(quota) / int(period))
    return min(quotas, default=None)
