"""Shared pieces of the training entry points: run directories, env signatures, seeding."""

from __future__ import annotations

import dataclasses
import json
import os
from contextlib import contextmanager
from pathlib import Path

from gridshift.envs.dcgrid.scenario import load_scenario

ENV_ID = "datacenter_grid_v0"
ALGOS = ("ppo", "dqn")
SHARING = ("shared", "independent")


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is invalid: allowed {', '.join(allowed)}")


def env_signature(scenario, **overrides) -> dict:
    """What a trained policy depends on: env version, spaces and observation field names."""
    from gridshift.envs.dcgrid.vector import DCGridVectorEnv

    v = DCGridVectorEnv(load_scenario(scenario, **overrides), num_envs=1)
    sp = v.adapter.space
    return {
        "env": ENV_ID,
        "observation_fields": list(v.layout.names),
        "observation_size": v.layout.size,
        "action_mode": v.adapter.mode,
        "action_space": repr(sp),
        "n_agents": v.n_agents,
    }


def check_signature(saved: dict, scenario, **overrides) -> None:
    """Fail with the mismatch when a policy was trained on an incompatible env."""
    cur = env_signature(scenario, **overrides)
    problems = []
    for k in ("env", "observation_size", "action_mode", "action_space", "observation_fields"):
        if saved.get(k) != cur[k]:
            if k == "observation_fields":
                a, b = saved.get(k) or [], cur[k]
                diff = sorted(set(a) ^ set(b))[:6] or "order"
                problems.append(f"observation fields differ ({diff})")
            else:
                problems.append(f"{k}: policy {saved.get(k)!r} vs env {cur[k]!r}")
    if problems:
        raise ValueError("policy incompatible with this environment: " + "; ".join(problems))


def write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)


# ------------------------------------------------------------------ files a run leaves, and where
#: Temporary names the writers of a run use (``write_json``, ``sb3_train._atomic``; SB3 appends
#: ``.zip`` to a ``.tmp`` name): a kill between the write and the rename leaves them behind.
_ORPHAN_PATTERNS = ("*.tmp", "*.tmp.zip", "checkpoints/*.tmp", "checkpoints/*.tmp.zip", "checkpoints/*/gridshift_state.json.tmp")


def remove_orphan_tmp(run: Path) -> list[Path]:
    """Delete the half-written temporary files an earlier, killed run left in ``run``."""
    removed = []
    for pattern in _ORPHAN_PATTERNS:
        for p in run.glob(pattern):
            if p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


#: Scratch folder inside a run directory for the libraries' own temp/log/cache folders.
SCRATCH = ".scratch"


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for d, _, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):  # deepest first
        try:
            os.rmdir(d)
        except OSError:
            pass  # not empty: keep it (it is inside the run directory)


@contextmanager
def contained_scratch(run: Path):
    """Point the folders the training libraries create on their own into ``run/.scratch``
    (unless the user chose them): torch's inductor/dynamo cache (otherwise ``$TMPDIR/torchinductor_$USER``)
    and SB3's fallback log folder (otherwise ``$TMPDIR/SB3-<time>``). Ray's per-algorithm log folder
    (otherwise ``~/ray_results/<time>``) is redirected by :func:`ray_logdir_inside`. Empty folders are
    removed on the way out; environment variables set here are restored."""
    scratch = run / SCRATCH
    ours = {"TORCHINDUCTOR_CACHE_DIR": scratch / "torchinductor", "SB3_LOGDIR": scratch / "sb3"}
    set_here = [k for k in ours if not os.environ.get(k)]
    for k in set_here:
        os.environ[k] = str(ours[k])
    try:
        yield scratch
    finally:
        for k in set_here:
            os.environ.pop(k, None)
        _remove_empty_dirs(scratch)


@contextmanager
def ray_logdir_inside(scratch: Path):
    """While an RLlib ``Algorithm`` is built, put the log folder Ray's ``Trainable`` makes for it
    (``tempfile.mkdtemp`` under ``~/ray_results``, left empty) under ``scratch`` instead."""
    try:
        from ray.tune.trainable import trainable

        before = trainable.DEFAULT_STORAGE_PATH
    except (ImportError, AttributeError):  # another Ray version: nothing to redirect
        yield
        return
    trainable.DEFAULT_STORAGE_PATH = str(scratch / "ray_results")
    try:
        yield
    finally:
        trainable.DEFAULT_STORAGE_PATH = before


def check_learning_settings(cls: str, lr, gamma, hidden, lr_name: str = "learning_rate", hidden_name: str = "net_arch") -> None:
    """Fail fast, naming the field, on a learning rate, discount or network size no trainer can use."""
    def real(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
    if not (real(lr) and 0 < lr <= 1):
        raise ValueError(f"{cls}.{lr_name}={lr!r} is invalid: allowed a number in (0, 1]")
    if not (real(gamma) and 0 < gamma <= 1):
        raise ValueError(f"{cls}.gamma={gamma!r} is invalid: allowed a number in (0, 1]")
    if not (isinstance(hidden, (list, tuple)) and hidden and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1
                                                                  for h in hidden)):
        raise ValueError(f"{cls}.{hidden_name}={hidden!r} is invalid: allowed a non-empty list of layer sizes >= 1")


def check_resume_settings(run: Path, cfg, fixed: tuple[str, ...]) -> None:
    """Refuse to resume ``run`` with settings in ``fixed`` (scenario, overrides, model shape, ...)
    that differ from the run's own ``config.json``: a resumed run continues the same experiment,
    so a change is an error naming each setting, never silently applied."""
    f = run / "config.json"
    if not f.is_file():
        return  # nothing recorded to compare with (the checkpoint lookup reports a missing run)
    saved = json.loads(f.read_text())
    now = json.loads(json.dumps(dataclasses.asdict(cfg)))  # tuples as lists, as saved
    changed = [k for k in fixed if k in saved and saved[k] != now.get(k)]
    if changed:
        diff = "; ".join(f"{k}: run {saved[k]!r}, now {now.get(k)!r}" for k in changed)
        raise ValueError(f"--resume {run}: settings differ from the run's ({diff}); a resumed run keeps its scenario "
                         "and model: start a new run directory to change them")
