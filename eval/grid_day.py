"""Clear one simulated day of the default grid (the demo until the environment exists)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridshift.data.synthetic import SyntheticSystem, default_grid_params, typical_day_exogenous
from gridshift.envs.grid import CopperPlateBackend, Exogenous


def simulate_grid_day(month: int = 8, daytype: str = "weekday", dc_load_mw: float = 0.0, seed: int | None = 0) -> pd.DataFrame:
    """One day at the default step on the default grid, with a constant DC load.

    Returns one row per step: exogenous inputs and every scalar of the clearing.
    """
    params = default_grid_params()
    backend = CopperPlateBackend(params)
    n = int(round(24 * 60 / params.market.step_minutes))
    rng = None if seed is None else np.random.default_rng(seed)
    ex = typical_day_exogenous(SyntheticSystem(), month, daytype, params.market.step_minutes, rng=rng)
    state = backend.initial_state(Exogenous(ex["demand_mw"][:1], ex["solar_mw"][:1], ex["wind_mw"][:1]), dc_load_mw)
    rows = []
    for t in range(n):
        e = Exogenous(ex["demand_mw"][t : t + 1], ex["solar_mw"][t : t + 1], ex["wind_mw"][t : t + 1])
        state, res = backend.clear(state, e, dc_load_mw)
        row = {"step": t, "hour": t * params.market.step_hours, "demand_mw": float(e.demand_mw[0]),
               "solar_mw": float(e.solar_mw[0]), "wind_mw": float(e.wind_mw[0])}
        row.update(res.row(0))
        rows.append(row)
    return pd.DataFrame(rows)


def print_day_summary(df: pd.DataFrame, title: str = "") -> None:
    if title:
        print(title)
    dt = df["hour"].diff().dropna().iloc[0]
    print(f"  steps: {len(df)} x {dt * 60:.0f} min")
    print(f"  demand (incl. DC) MW: min {df.total_demand_mw.min():,.0f}  mean {df.total_demand_mw.mean():,.0f}  max {df.total_demand_mw.max():,.0f}")
    print(f"  price $/MWh:          min {df.price_usd_per_mwh.min():,.1f}  mean {df.price_usd_per_mwh.mean():,.1f}  max {df.price_usd_per_mwh.max():,.1f}")
    print(f"  avg CI g/kWh:         min {df.avg_ci_g_per_kwh.min():,.0f}  mean {df.avg_ci_g_per_kwh.mean():,.0f}  max {df.avg_ci_g_per_kwh.max():,.0f}")
    print(f"  marginal CI g/kWh:    min {df.marginal_ci_g_per_kwh.min():,.0f}  mean {df.marginal_ci_g_per_kwh.mean():,.0f}  max {df.marginal_ci_g_per_kwh.max():,.0f}")
    print(f"  renewable share:      {df.renewable_used_mw.sum() / (df.renewable_used_mw.sum() + df.thermal_mw.sum()):.1%}")
    print(f"  curtailment MWh:      {(df.curtailment_mw * dt).sum():,.0f}")
    print(f"  unserved MWh:         {(df.unserved_mw * dt).sum():,.0f}")
    print(f"  emissions tCO2:       {df.emissions_t_co2.sum():,.0f}")
    print(f"  system cost $:        {df.system_cost_usd.sum():,.0f}")
    print(f"  min reserve MW:       {df.reserve_mw.min():,.0f}  (max scarcity adder {df.scarcity_adder_usd_per_mwh.max():,.1f} $/MWh)")
