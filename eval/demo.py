"""`gridshift demo`: one episode of the default scenario with a FIFO full release."""

from __future__ import annotations

import time

import numpy as np


def run_demo(scenario: str = "default", seed: int = 0, **overrides) -> dict:
    from gridshift.envs import datacenter_grid_v0

    env = datacenter_grid_v0.parallel_env(scenario=scenario, **overrides)
    t0 = time.perf_counter()
    env.reset(seed=seed)
    fifo = {a: env.adapter.noop for a in env.possible_agents}
    rows = []
    while env.agents:
        _, rewards, _, _, infos = env.step({a: fifo[a] for a in env.agents})
        g = infos[env.possible_agents[0]]
        rows.append((g["dc_load_total_mw"], g["price_usd_per_mwh"], g["total_demand_mw"], g["avg_ci_g_per_kwh"],
                     g["unserved_mw"], g["emissions_t_co2"], g["dr_active"], g["emergency_active"],
                     sum(i["bill_usd"] for i in infos.values()), sum(rewards.values())))
    wall = time.perf_counter() - t0
    r = np.array(rows, dtype=float)
    led = env.ledger()
    ep = led[led.arrival_step >= 0]
    sc = env.scenario
    print(f"gridshift demo: scenario '{sc.name}', {sc.n_datacenters} DCs at {sc.penetration:.0%} penetration, "
          f"{sc.horizon_steps} x {sc.step_minutes:g} min steps, FIFO (release everything), seed {seed}")
    print(f"  aggregate DC load MW : min {r[:, 0].min():,.0f}  mean {r[:, 0].mean():,.0f}  max {r[:, 0].max():,.0f}")
    print(f"  system demand MW     : min {r[:, 2].min():,.0f}  mean {r[:, 2].mean():,.0f}  max {r[:, 2].max():,.0f}")
    print(f"  price $/MWh          : min {r[:, 1].min():,.1f}  mean {r[:, 1].mean():,.1f}  max {r[:, 1].max():,.1f}")
    print(f"  avg carbon g/kWh     : mean {r[:, 3].mean():,.0f}")
    print(f"  emissions tCO2       : {r[:, 5].sum():,.0f}   unserved MWh: {(r[:, 4] * sc.step_hours).sum():,.1f}")
    print(f"  DR steps: {int(r[:, 6].sum())}   emergency steps: {int(r[:, 7].sum())}   DC energy bill: ${r[:, 8].sum():,.0f}")
    print(f"  jobs arrived in the episode: {len(ep):,}")
    counts = ep.groupby(["job_class", "status"]).size().unstack(fill_value=0)
    counts.index = [f"E{c}" for c in counts.index]
    print("  " + counts.to_string().replace("\n", "\n  "))
    print(f"  wall time {wall:.2f} s ({sc.horizon_steps / wall:,.0f} env-steps/s incl. reset and warm-up)")
    return {"steps": len(rows), "jobs": len(ep), "mean_price": float(r[:, 1].mean()), "statuses": ep.status.value_counts().to_dict()}


def run_demo_leaderboard(policies, scenario: str = "default", seeds=tuple(range(1000, 1010)), out_dir: str = "demo-leaderboard") -> dict:
    """A small leaderboard on one scenario, printed as a table (score: FIFO = 0, oracle = 100)."""
    from gridshift.eval.leaderboard import build_leaderboard

    t0 = time.perf_counter()
    res = build_leaderboard(list(policies), [scenario], list(seeds), out_dir=out_dir)
    t = res["table"].sort_values("score_iqm", ascending=False)
    cols = {"policy": "policy", "score_iqm": "score", "d_social_cost_usd": "d_social_cost_$", "d_emissions_t": "d_emissions_t",
            "work_served_mwh": "served_MWh", "backlog_at_horizon_mwh": "backlog@T_MWh", "drop_or_late_rate_flex": "sla_viol",
            "rebound_ratio": "rebound", "p_improve_fifo": "P(>fifo)"}
    shown = t[[c for c in cols if c in t.columns]].rename(columns=cols)
    print(f"gridshift demo: leaderboard on scenario '{scenario}', held-out seeds {list(seeds)}; every run settles its "
          "backlog; score per seed FIFO = 0, oracle = 100 (IQM); d_ = paired difference to FIFO (mean)")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:,.3g}" if abs(v) < 1e4 else f"{v:,.0f}"))
    print(f"\nfull table with 95 % CIs: {res['paths']['md']}   plots: {out_dir}/score.png, outcome_*.png   "
          f"({time.perf_counter() - t0:.1f} s)")
    return res
