"""Policies by name: built-in heuristics, ``pkg.module:Class`` import paths, and loaders.

``make_policy(spec)`` accepts

* a built-in name (``gridshift policies`` lists them), optionally with keyword arguments;
* an import path ``package.module:ClassOrFactory`` (the object is called with the keyword
  arguments and must implement :class:`gridshift.agents.base.Policy`);
* ``KIND:PATH`` for a registered loader (``rllib:/path/to/checkpoint``, ``sb3:/path/to.zip``):
  :func:`register_loader` is the extension point through which trained-policy loaders plug in.

Import paths and checkpoints execute code: load them only from sources you trust.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from gridshift.agents.base import Policy

_LOADERS: dict[str, Callable[[str], Policy]] = {}


def register_loader(kind: str, loader: Callable[[str], Policy]) -> None:
    """Make ``KIND:PATH`` policy specs resolve through ``loader(PATH)``."""
    _LOADERS[kind] = loader


#: Trained policies shipped with the package (``agents/weights/``; each ``.json`` beside the zip
#: records the exact command and seed that rebuild it). They run from the ``.npz`` export of the
#: zip with NumPy alone (:mod:`gridshift.agents.mlp`), so they need neither torch nor SB3.
SHIPPED_POLICIES: dict[str, str] = {"sb3_ppo": "sb3_ppo_default.npz", "sb3_dqn": "sb3_dqn_default.npz",
                                     "rllib_ppo": "rllib_ppo_default.npz", "rllib_dqn": "rllib_dqn_default.npz"}


def _shipped(name: str, filename: str) -> Callable[..., Policy]:
    def make(**kwargs) -> Policy:
        from pathlib import Path

        from gridshift.agents.mlp import MLPPolicy

        if kwargs:
            raise ValueError(f"policy {name!r} takes no arguments, got {sorted(kwargs)}")
        path = Path(__file__).resolve().parent / "weights" / filename
        return MLPPolicy.from_npz(path, name=name)  # weights_path is what the run cache key hashes

    return make


def builtin_policies() -> dict[str, Callable[..., Policy]]:
    from gridshift.agents.constant import CONSTANT_POLICIES
    from gridshift.agents.geo_greedy import GeoGreedy
    from gridshift.agents.heuristics import HEURISTICS
    from gridshift.agents.oracle import Oracle

    return (dict(HEURISTICS) | CONSTANT_POLICIES | {"oracle": Oracle, "geo_greedy": GeoGreedy}
            | {k: _shipped(k, v) for k, v in SHIPPED_POLICIES.items()})


def policy_descriptions() -> dict[str, str]:
    """Every policy spec form with a one-line description (``gridshift policies``)."""
    import inspect

    out = {}
    for name, factory in sorted(builtin_policies().items()):
        if name in SHIPPED_POLICIES:
            lib = "RLlib" if name.startswith("rllib") else "stable-baselines3"
            out[name] = f"shipped {lib} agent, run with NumPy from weights/{SHIPPED_POLICIES[name]}"
            continue
        doc = inspect.getdoc(factory) or ""
        out[name] = doc.strip().splitlines()[0] if doc.strip() else ""
    out["sb3:PATH"] = "a stable-baselines3 zip trained by `gridshift train sb3` (PATH/policy.zip)"
    out["rllib:PATH"] = "an RLlib run directory or checkpoint trained by `gridshift train rllib`"
    out["package.module:Class"] = "your own Policy class, imported (the current directory is searched first)"
    return out


def available_policies() -> list[str]:
    return sorted(builtin_policies()) + [f"{k}:PATH" for k in sorted(_LOADERS)] + ["package.module:Class"]


def make_policy(spec: str, **kwargs) -> Policy:
    """Resolve a policy spec; unknown names fail with the list of available policies."""
    _ensure_default_loaders()
    builtins = builtin_policies()
    if spec in builtins:
        pol = builtins[spec](**kwargs)
    elif ":" in spec and spec.split(":", 1)[0] in _LOADERS:
        kind, path = spec.split(":", 1)
        pol = _LOADERS[kind](path, **kwargs)
    elif ":" in spec:
        mod_name, _, attr = spec.partition(":")
        try:
            mod = _import_from_cwd(mod_name)
            obj = getattr(mod, attr)
        except (ImportError, AttributeError, TypeError, ValueError) as e:
            raise ValueError(f"cannot import policy {spec!r} ({e}); available policies: {available_policies()}") from None
        pol = obj(**kwargs)
    else:
        raise ValueError(f"unknown policy {spec!r}: available policies: {available_policies()}")
    missing = [m for m in ("reset", "act", "name", "action_mode") if not hasattr(pol, m)]
    if missing:
        raise ValueError(f"policy {spec!r} does not implement the Policy protocol: missing {missing}")
    return pol


def _import_from_cwd(mod_name: str):
    """Import ``mod_name`` as ``python -m`` would: the current directory first."""
    import os
    import sys

    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(mod_name)
    finally:
        if added:
            sys.path.remove(cwd)


def _ensure_default_loaders() -> None:
    """Trained-policy loaders register themselves on import (lazy: they need the train extra)."""
    if "rllib" not in _LOADERS:
        register_loader("rllib", _lazy("gridshift.agents.trained", "load_rllib"))
    if "sb3" not in _LOADERS:
        register_loader("sb3", _lazy("gridshift.agents.trained", "load_sb3"))


def _lazy(module: str, attr: str):
    def load(path: str, **kwargs):
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            raise ValueError(f"loading {attr.removeprefix('load_')} policies needs the train extra: pip install 'gridshift[train]' ({e})") from None
        return getattr(mod, attr)(path, **kwargs)

    return load
