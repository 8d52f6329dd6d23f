"""Run files that can be trusted: safe paths, a cache key, atomic writes, strict validation.

One run = one (policy, scenario, seed) = one JSON file, written last and atomically, so its
presence means the run (and any Parquet files it lists) is complete. A run file is reused only
when its **cache key** matches: a hash of the policy spec and its code or weights (for an
import path, every module in its folder), the full scenario, the seed, the run schema,
gridshift's version, a hash of gridshift's source, and the external data files the scenario
reads (folder, sizes and modification times).
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
    # The folders are resolved (a symlinked folder that leads outside is refused); the file itself
    # is not, so a symlink in its place is seen as what it is rather than followed.
    folder = (root / safe_name(scenario_name) / safe_name(policy_spec)).resolve()
    if root != folder and root not in folder.parents:
        raise ValueError(f"run folder {folder} escapes the run directory {root}: allowed folders inside it")
    return folder / f"seed{int(seed)}.json"


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


def data_hash(scenario_config: dict) -> str:
    """For a scenario that reads external files (real grid data, a job trace, a fleet CSV), a
    hash of those inputs: the resolved data folder and every file's path, size and modification
    time (stat only, so it stays cheap). ``""`` for a scenario that reads none."""
    from gridshift.data.paths import data_root

    fleet = str(scenario_config.get("fleet", "synthetic"))
    uses_root = bool(scenario_config.get("grid_data") or scenario_config.get("workload_trace")) or fleet == "powersimdata"
    files: list[Path] = []
    if uses_root:
        root = data_root()
        if root is not None:
            files += sorted(f for f in root.rglob("*") if f.is_file())
    if fleet not in ("synthetic", "powersimdata"):
        files.append(Path(fleet))
    if not files:
        return ""
    h = hashlib.sha256()
    for f in files:
        st = f.stat() if f.exists() else None
        h.update(f"{f.resolve()}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}".encode())
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
                if ":" in spec and kind not in ("sb3", "rllib"):
                    # an import-path policy: the helper modules beside it are part of its code
                    for f in sorted(Path(src).parent.glob("*.py")):
                        h.update(f.name.encode())
                        h.update(f.read_bytes())
        except (TypeError, OSError):
            h.update(repr(type(policy)).encode())
    return h.hexdigest()[:16]


def cache_key(policy_spec: str, policy_digest: str, scenario_config: dict, seed: int, overrides: dict | None = None,
              policy_kwargs: dict | None = None) -> str:
    from gridshift import __version__

    payload = {"schema": RUN_SCHEMA, "policy": policy_spec, "policy_hash": policy_digest,
               "policy_kwargs": policy_kwargs or {}, "scenario": scenario_config, "overrides": overrides or {},
               "seed": int(seed), "gridshift": __version__, "source": source_hash(), "data": data_hash(scenario_config)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _bad_number(v) -> bool:
    return isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)


def load_run(path: Path, key: str | None = None, expect: dict | None = None) -> tuple[dict | None, str]:
    """A run file if it is complete, valid, (when ``key`` is given) current and (when ``expect``
    is given) the run of that slot (``policy``, ``scenario``, ``seed``); else ``(None, reason)``
    with the reason in words. Never raises on a bad file."""
    try:
        return _load_run(Path(path), key, expect)
    except Exception as e:  # noqa: BLE001 - any malformed content means: rerun, with the reason
        return None, f"malformed ({e.__class__.__name__}: {e})"


def _load_run(path: Path, key: str | None, expect: dict | None) -> tuple[dict | None, str]:
    if path.is_symlink():
        return None, "a symbolic link in place of the run file"
    if path.is_dir():
        return None, "a directory in place of the run file"
    if not path.exists():
        return None, "missing"
    if not path.is_file():
        return None, "not a regular file (a pipe, socket or device)"
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
    odd = [k for k, v in m.items() if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))]
    if odd:
        return None, f"metrics that are not numbers or null: {odd[:5]}"
    for k, want in (expect or {}).items():
        if data.get(k) != want or type(data.get(k)) is not type(want):
            return None, f"identity field {k}={data.get(k)!r} does not match this slot ({want!r})"
    if m["jobs_open"] != 0 and data.get("settled", True):
        return None, f"jobs_open={m['jobs_open']!r}: a settled run leaves no job open"
    if abs(m["work_arrived_mwh"] - m["work_served_mwh"] - m["work_dropped_mwh"]) > 1e-6 * max(1.0, abs(m["work_arrived_mwh"])):
        return None, "work does not add up (arrived != served + dropped)"
    pq_files = data.get("parquet") or {}
    if not isinstance(pq_files, dict):
        return None, f"field parquet={pq_files!r} is not a mapping of file names to sizes"
    for name, size in pq_files.items():
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
    """Move a directory (or a pipe) that sits where a run file belongs out of the way (never
    deleted); a symbolic link is removed (the link, not what it points to)."""
    if path.is_symlink():
        path.unlink()
        return None
    if path.exists() and not path.is_file():
        dest = path.with_name(f"{path.name}.invalid-{int(time.time())}-{uuid.uuid4().hex[:6]}")
        path.rename(dest)
        return dest
    return None
