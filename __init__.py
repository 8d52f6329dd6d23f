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
