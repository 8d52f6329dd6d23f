"""Where the real public data lives, and the error raised when it is not there.

The data directory is ``$GRIDSHIFT_DATA`` when set, else ``../shared/data`` next to the
repository checkout, else ``./shared/data`` and ``../shared/data`` relative to the working
directory. Nothing from it is copied into the package: gridshift ships loaders for the
formats plus small derived statistics (see the README, "Real data").
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG_ROOT = Path(__file__).resolve().parents[1]


class DataNotFoundError(FileNotFoundError):
    """A real-data file or directory is missing; the message says where it was looked for."""


def data_root(required: bool = False) -> Path | None:
    """The real-data directory, or ``None`` (``DataNotFoundError`` when ``required``)."""
    env = os.environ.get("GRIDSHIFT_DATA")
    candidates = [Path(env)] if env else [_PKG_ROOT.parent / "shared" / "data", Path.cwd() / "shared" / "data",
                                          Path.cwd().parent / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    if required:
        raise DataNotFoundError(
            f"data not found at {', '.join(str(c) for c in candidates)}; set $GRIDSHIFT_DATA to the directory "
            "holding grid/, fleets/ and workloads/ (see README, 'Real data')")
    return None


def data_file(*parts: str) -> Path:
    """``data_root()/parts...``, failing with a clear message when the root or the file is absent."""
    root = data_root(required=True)
    p = root.joinpath(*parts)
    if not p.exists():
        raise DataNotFoundError(f"data not found at {p}; see README, 'Real data'")
    return p
