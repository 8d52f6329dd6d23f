"""gridshift: multi-agent RL environments for grid-aware compute scheduling.

Geo-distributed data centers are agents sharing one electricity grid whose price and
carbon intensity respond, every step, to the aggregate load (theirs included).

Subpackages:
    gridshift.envs      the simulator (grid market, data centers, PettingZoo adapters)
    gridshift.agents    the Policy protocol, heuristics and trained-policy loaders
    gridshift.training  RLlib and stable-baselines3 entry points
    gridshift.eval      metrics, runner, leaderboard, cascade study
    gridshift.data      loaders for public grid/workload data, profiles, scenarios
"""

__version__ = "0.1.0"


# --- numba's on-disk cache: a per-user cache folder, not the installed package's __pycache__ ---
# (hardening, "Files written, and where"). Set before any gridshift module compiles a kernel;
# an explicit NUMBA_CACHE_DIR wins. numba skips an unwritable folder and falls back on its own.
def _set_numba_cache_dir() -> None:
    import os
    import sys

    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(base, "gridshift", "numba")
    if "numba" in sys.modules:  # numba was imported first: make it read the variable again
        sys.modules["numba"].core.config.reload_config()


_set_numba_cache_dir()
del _set_numba_cache_dir
