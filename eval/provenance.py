"""What every result file records: package versions, the git commit, the machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

_PACKAGES = ("gridshift", "numpy", "pandas", "numba", "gymnasium", "pettingzoo", "torch", "ray", "stable-baselines3")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def git_commit(path: str | os.PathLike | None = None) -> str:
    """The commit of the source tree (with ``-dirty`` when it has local changes), or ``unknown``."""
    cwd = Path(path) if path else Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_metadata() -> dict:
    """Versions, commit, machine and time, for the header of a result file."""
    return {
        "versions": package_versions(),
        "git_commit": git_commit(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "processor": platform.processor()},
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
