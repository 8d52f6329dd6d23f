"""# datacenter_grid_v0

Geo-distributed data centers (DCs) schedule flexible compute on one shared electricity grid
whose price and carbon intensity are cleared **every step from the aggregate load, theirs
included**. When every DC defers under stress and resumes together, the resumption is a new
spike: the correlated deferral-and-resumption cascade.

```python
from gridshift.envs import datacenter_grid_v0

env = datacenter_grid_v0.parallel_env(scenario="default", n_datacenters=8)
obs, infos = env.reset(seed=0)
while env.agents:
    actions = {a: env.action_space(a).sample() for a in env.agents}
    obs, rewards, terminations, truncations, infos = env.step(actions)
```

| | |
| --- | --- |
| API | `parallel_env()` (PettingZoo `ParallelEnv`), `env()` / `raw_env()` (AEC, through PettingZoo's converter), `vector_env()` (batched arrays, :class:`DCGridVectorEnv`) |
| Agents | `dc_0` ... `dc_{N-1}`, `N = n_datacenters` (default 8; tested up to 1,000) |
| Action space | `Discrete(6)` (8 with a battery), `MultiDiscrete([5, 5, 5(, 3)])` or `Box([0,0,0(,-1)], 1)`: `action_mode` |
| Observation space | `Box(low, high, (<<OBSERVATION_SIZE>>,), float32)` with the default 4 forecast horizons; named by `ObservationLayout` |
| State space | `Box(-inf, inf, (11 + 5 N,), float32)`: true grid signals, exogenous inputs, events, every DC's load and queues |
| Episode | `horizon_steps` steps of `step_minutes` (288 x 15 min = 3 days) after a 1-day FIFO warm-up; all agents truncate together, never terminate. `max_cycles=K` (PettingZoo's name) sets `horizon_steps=K` |

## Dynamics (one step)

1. An emergency order in force caps each DC's facility load at `emergency_fraction` x its
   customer baseline (E3 is checkpointed, then E2, E1 and E0 work is shed and dropped).
2. Each DC starts queued jobs: E0 at once; jobs whose slack reached zero (SLA guard); then,
   per class E1..E3, the earliest-deadline-first jobs within the agent's release fraction of
   that class's queued power, while IT capacity lasts. E3 above its release is checkpointed
   back to the queue. A job whose deadline passes unstarted is dropped.
3. Facility load `PUE x (P_idle + sum of running job power)` (TSCO eq. 9), plus the battery
   (TSCO eq. 2) if any.
4. The copper-plate market clears the aggregate load (non-DC demand + all DCs): merit order
   with quadratic and linear costs, ramp limits, must-run, renewables first with curtailment,
   ORDC scarcity adder, VOLL, floor price (DESIGN §3, :mod:`gridshift.envs.grid`).
5. DR events are announced `dr_lead_steps` ahead when the day-ahead reserve forecast drops
   below `dr_reserve_threshold_mw`; DCs earn `dr_price_usd_per_mwh` per MWh below their
   baseline while it lasts. An emergency order follows real reserve below
   `emergency_reserve_threshold_mw`.
6. Agents see the grid signals `signal_delay_steps` late, anomalous with `anomaly_prob`
   (stuck, spiked, renewable share > 95 %, demand < 30 % of baseline); the dynamics use the
   truth.

## Actions

The core action of a DC is `[r1, r2, r3, battery]`: the share of its queued E1, E2, E3 work
that may start now, and a battery setpoint. The `Discrete` table:

| a | r1 | r2 | r3 | battery | meaning |
| - | -- | -- | -- | ------- | ------- |
| 0 | 1 | 1 | 1 | 0 | run everything (FIFO) |
| 1 | 1 | 1 | 0 | 0 | pause training (E3) |
| 2 | 1 | 0 | 0 | 0 | defer batch and training (E2, E3) |
| 3 | 0 | 0 | 0 | 0 | defer all flexible work |
| 4 | 0.5 | 0.5 | 0.5 | 0 | release half of each queue |
| 5 | 1 | 0.5 | 0.25 | 0 | staggered release |
| 6 | 1 | 1 | 1 | +1 | run everything, charge (battery scenarios only) |
| 7 | 0 | 0 | 0 | -1 | defer everything, discharge (battery scenarios only) |

`MultiDiscrete` levels are `0, 0.25, 0.5, 0.75, 1` per class (battery `-1, 0, +1`); `Box`
values are clipped into `[0, 1]` (battery `[-1, 1]`). An action outside its space raises
`ValueError` naming the agent and the allowed space.

## Observation (default scenario)

Read fields by name: `env.layout.get(obs, "price")`. Prices are $/MWh / 100; carbon is
divided by the fleet's maximum emission factor (so `avg_ci` is EM §II's
`CI / max CI`); loads and queues are per unit of the DC's dynamic IT capacity.

<<OBSERVATION_TABLE>>

## Reward

`selfish`: minus the DC's own cost (energy bill + carbon cost at average intensity + SLA
penalties for late and dropped work + emergency non-compliance − DR revenue);
`cooperative`: minus the system's social cost (fuel + VOLL x unserved + carbon, plus all
SLA and emergency penalties) shared equally; `mixed` (default): `(1 - reward_mix) x selfish +
reward_mix x cooperative`. All in dollars / `reward_scale_usd`. The reward is shaping: the
leaderboard metrics are computed from the job ledger and the grid record, never from it.

**Terminal backlog value.** With `backlog_terminal_value = true` (the default), the reward of
the last step also carries minus the estimated cost of settling each DC's unfinished work
(its open energy at the next day's mean day-ahead price plus carbon, and late penalties for
jobs that can no longer finish on time; :mod:`gridshift.envs.dcgrid.settlement`). Leaving
work undone at the horizon is never free.

## Infos

`infos[agent]` carries the raw grid signals (`price_usd_per_mwh`, `renewable_fraction`,
`avg_ci_g_per_kwh`, `marginal_ci_g_per_kwh`, `reserve_mw`, `total_demand_mw`, curtailment,
unserved, emissions, system cost, `dc_load_total_mw`, event flags, `telemetry_anomaly`) and the
DC's KPIs of the step (`load_mw`, `bill_usd`, `carbon_t`, `sla_penalty_usd`, `dr_revenue_usd`,
starts, completions, drops, preemptions, `served_mwh`). `env.ledger()` returns every job.
`infos="none"` returns empty dicts instead (about 20 us less per step at 8 DCs) for training
loops that never read them; the ledger and every metric are unaffected.

## Arguments

`parallel_env(scenario="default", render_mode=None, infos="full", **overrides)`: `scenario` is a name in
`gridshift/data/scenarios/` (`default`, `high_penetration`, `many_agents`, `telemetry_faults`,
`emergency_events`, `solar_heavy`, `wind_heavy`, `renewable_collapse`), a path to a TOML
file, or a `Scenario`; every `Scenario` field is a keyword override (`n_datacenters`,
`penetration`, `action_mode`, `reward_mode`, `signal_delay_steps`, ...). Unknown keys and
out-of-range values raise `ParamError` with the field and the allowed range.
`render_mode="rgb_array"` returns an image of price, DC load, queues and events (matplotlib).

## Version history

* v0: first release.
"""

from __future__ import annotations

from pettingzoo.utils import parallel_to_aec, wrappers

from gridshift.envs.dcgrid.env import DataCenterGridEnv
from gridshift.envs.dcgrid.observation import ObservationLayout, build_layout
from gridshift.envs.dcgrid.scenario import Scenario, available_scenarios, load_scenario
from gridshift.envs.dcgrid.vector import DCGridVectorEnv

__all__ = [
    "DCGridVectorEnv",
    "DataCenterGridEnv",
    "ObservationLayout",
    "Scenario",
    "available_scenarios",
    "env",
    "load_scenario",
    "parallel_env",
    "raw_env",
    "vector_env",
]


def _max_cycles(max_cycles, overrides: dict) -> dict:
    """PettingZoo's ``max_cycles`` is the episode length, ``horizon_steps``."""
    if max_cycles is None:
        return overrides
    if "horizon_steps" in overrides and overrides["horizon_steps"] != max_cycles:
        raise ValueError(f"max_cycles={max_cycles!r} and horizon_steps={overrides['horizon_steps']!r} disagree: "
                         "allowed one of them, or equal values")
    return {**overrides, "horizon_steps": max_cycles}


def parallel_env(scenario="default", render_mode=None, infos="full", max_cycles=None, **overrides) -> DataCenterGridEnv:
    """The PettingZoo ``ParallelEnv``."""
    return DataCenterGridEnv(scenario=scenario, render_mode=render_mode, infos=infos, **_max_cycles(max_cycles, overrides))


def raw_env(scenario="default", render_mode=None, infos="full", max_cycles=None, **overrides):
    """The AEC env, converted from the parallel one by PettingZoo."""
    return parallel_to_aec(parallel_env(scenario=scenario, render_mode=render_mode, infos=infos, max_cycles=max_cycles,
                                        **overrides))


def env(scenario="default", render_mode=None, infos="full", max_cycles=None, **overrides):
    """The AEC env with PettingZoo's standard wrappers (order enforcing)."""
    e = raw_env(scenario=scenario, render_mode=render_mode, infos=infos, max_cycles=max_cycles, **overrides)
    return wrappers.OrderEnforcingWrapper(e)


def _observation_docs(doc: str) -> str:
    """Fill the docstring's observation table and size from the default scenario's layout, so
    the documentation cannot drift from the space."""
    sc = Scenario()
    lay = build_layout(sc.forecast_horizons_h, sc.floor_price_usd_per_mwh / 100.0, sc.voll_usd_per_mwh / 100.0)
    return doc.replace("<<OBSERVATION_TABLE>>", lay.markdown_table()).replace("<<OBSERVATION_SIZE>>", str(lay.size))


__doc__ = _observation_docs(__doc__)


def vector_env(scenario="default", num_envs: int = 1, **overrides) -> DCGridVectorEnv:
    """The batched vector API: ``num_envs`` episodes as ``[B, N, ...]`` arrays."""
    return DCGridVectorEnv(scenario=scenario, num_envs=num_envs, **overrides)
