"""Run files that can be trusted: safe paths, a cache key, atomic writes, strict validation.

One run = one (policy, scenario, seed) = one JSON file, written last and atomically, so its
presence means the run (and any Parquet files it lists) is complete. A run file is reused only
when its **cache key** matches: a hash of the policy spec and its code or weights, the full
scenario, the seed, the run schema, gridshift's version and a hash of gridshift's source.
Anything else (missing, unreadable, binary, a directory, a different key, a required metric
missing, null, NaN or non-numeric, a listed Parquet file empty or unreadable) is reported by
name and rerun; it never enters a mean.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
import os
import re
import time
import uuid
from pathlib import Path

RUN_SCHEMA = 2

#: Metrics every valid run must have as finite numbers (others may be NaN/null = undefined).
REQUIRED_METRICS = ("social_cost_usd", "system_cost_usd", "emissions_t", "dc_energy_bill_usd", "work_arrived_mwh",
                    "work_served_mwh", "work_dropped_mwh", "jobs_open", "unserved_mwh", "price_spike_count",
                    "sla_penalty_usd")

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str, *, max_len: int = 60) -> str:
    """A file-name-safe form of ``text``: no separators, no leading dot, and a short hash when
    anything had to change (so two different specs never share a folder)."""
    s = _SAFE.sub("_", str(text)).strip("._") or "_"
    if s != text or len(s) > max_len:
        s = f"{s[:max_len]}-{hashlib.sha1(str(text).encode()).hexdigest()[:8]}"
    return s


def run_path(out_dir: str | Path, scenario_name: str, policy_spec: str, seed: int) -> Path:
    """Where a run's JSON lives; always inside ``out_dir``."""
    root = Path(out_dir).resolve()
    p = (root / safe_name(scenario_name) / safe_name(policy_spec) / f"seed{int(seed)}.json").resolve()
    if root not in p.parents:  # pragma: no cover - safe_name already prevents it
        raise ValueError(f"run path {p} escapes the run directory {root}")
    return p


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a unique temp file beside ``path`` and rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, allow_nan=False) + "\n").encode())


def _hash_path(h, path: Path) -> None:
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file():
                h.update(str(f.relative_to(path)).encode())
                h.update(f.read_bytes())
    elif path.is_file():
        h.update(path.read_bytes())


#: What a run's numbers depend on: the simulator, the policies, the data and scenarios, and
#: the code that runs an episode and computes its metrics (not the reports built from them).
SOURCE_PARTS = ("envs", "agents", "data", "eval/metrics.py", "eval/runner.py")
_SOURCE_SUFFIXES = {".py", ".toml", ".csv", ".json", ".zip"}


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """A hash of the source a run depends on (``SOURCE_PARTS``): runs made by other simulator,
    policy or metric code are never reused, even from an uncommitted tree."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for part in SOURCE_PARTS:
        p = root / part
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in _SOURCE_SUFFIXES)
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def policy_hash(spec: str, policy=None) -> str:
    """A hash of what a policy spec runs: the weights or checkpoint for ``sb3:``/``rllib:`` specs
    and shipped agents, else the source of the policy's class (import paths included)."""
    h = hashlib.sha256(spec.encode())
    kind, _, rest = spec.partition(":")
    if kind in ("sb3", "rllib") and rest:
        _hash_path(h, Path(rest))
    if policy is not None:
        for attr in ("weights_path", "checkpoint_path", "path"):
            p = getattr(policy, attr, None)
            if isinstance(p, (str, os.PathLike)) and Path(p).exists():
                _hash_path(h, Path(p))
        try:
            src = inspect.getsourcefile(type(policy))
            if src:
                h.update(Path(src).read_bytes())
        except (TypeError, OSError):
            h.update(repr(type(policy)).encode())
    return h.hexdigest()[:16]


def cache_key(policy_spec: str, policy_digest: str, scenario_config: dict, seed: int, overrides: dict | None = None,
              policy_kwargs: dict | None = None) -> str:
    from gridshift import __version__

    payload = {"schema": RUN_SCHEMA, "policy": policy_spec, "policy_hash": policy_digest,
               "policy_kwargs": policy_kwargs or {}, "scenario": scenario_config, "overrides": overrides or {},
               "seed": int(seed), "gridshift": __version__, "source": source_hash()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _bad_number(v) -> bool:
    return isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)


def load_run(path: Path, key: str | None = None) -> tuple[dict | None, str]:
    """A run file if it is complete, valid and (when ``key`` is given) current; else
    ``(None, reason)`` with the reason in words."""
    path = Path(path)
    if path.is_dir():
        return None, "a directory in place of the run file"
    if not path.exists():
        return None, "missing"
    try:
        raw = path.read_bytes()
    except OSError as e:
        return None, f"unreadable ({e.__class__.__name__}: {e})"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not a text file (binary or not UTF-8)"
    except json.JSONDecodeError as e:
        return None, f"corrupt JSON ({e})"
    if not isinstance(data, dict) or data.get("schema") != RUN_SCHEMA:
        return None, f"old or unknown schema (schema={data.get('schema') if isinstance(data, dict) else None}, expected {RUN_SCHEMA})"
    if key is not None and data.get("cache_key") != key:
        return None, "stale (policy code or weights, scenario, seed, or gridshift's code changed since the run)"
    m = data.get("metrics")
    if not isinstance(m, dict):
        return None, "no metrics"
    bad = [k for k in REQUIRED_METRICS if _bad_number(m.get(k))]
    if bad:
        return None, f"metrics missing, null, NaN or non-numeric: {bad}"
    for name, size in (data.get("parquet") or {}).items():
        pq = path.parent / name
        if not pq.is_file() or pq.stat().st_size != size or size == 0:
            return None, f"Parquet file {pq.name} missing, empty or truncated"
        try:
            import pyarrow.parquet as papq

            papq.read_metadata(pq)
        except ImportError:
            pass
        except Exception as e:  # noqa: BLE001 - any reader error means the file is bad
            return None, f"Parquet file {pq.name} unreadable ({e.__class__.__name__})"
    return data, "ok"


def quarantine(path: Path) -> Path | None:
    """Move a directory that sits where a run file belongs out of the way (never deleted)."""
    if path.is_dir():
        dest = path.with_name(f"{path.name}.invalid-{int(time.time())}-{uuid.uuid4().hex[:6]}")
        path.rename(dest)
        return dest
    return None
