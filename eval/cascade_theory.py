"""The two predictors of DESIGN §11 that the cascade study tests against observed oscillation.

1. **Signal jump vs hysteresis band** (threshold rules). When every DC's flexible load ``dL``
   switches on together, the GAS signal ``RF - PeakDemandPenalty - CI/maxCI`` falls by
   ``d(RF) + d(PDP) + d(CI penalty)`` (:func:`predicted_signal_jump`, evaluated on the market at
   the stress operating points of a penetration). A rule whose resume band ``b`` (resume
   threshold minus defer threshold) is below that jump can be flipped back by its own
   resumption: predicted re-deferrals when ``jump > b``.
2. **Consumer/producer elasticity ratio** (Roozbehani, Dahleh & Mitter, IEEE TPWRS 2012) for
   the price-responsive family of width ``w``. Linearised at an operating point, the market
   gives ``dp = s dL`` (``s``: supply-curve slope, $/MWh per MW) and the policy answers
   ``dL = -k dp`` (``k = F / w``: MW per $/MWh, ``F`` the flexible facility load its release share
   controls); the loop gain is ``k s``. With ``p`` and ``Q`` the operating price and load,
   the consumer elasticity is ``k p / Q`` and the producer's ``p / (s Q)``, so their ratio is
   ``R = k s = s F / w``, which is also the price jump ``s F`` of a full swing over the band
   width ``w``: the same "jump vs band" form as (1). The closed loop is predicted to oscillate
   where ``R > 1``.

``s`` is measured on the real-time market itself (:func:`elasticity`): the cascade runner
clears each FIFO step a second time with the DC load moved by ``+-F/2`` (same exogenous inputs,
same previous dispatch, so ramp limits and the scarcity adder are included) and takes the
central difference (``supply_slope`` of :func:`gridshift.eval.cascade_batch.run_batch`); the
cell's ``s`` is the median over the horizon steps of its seeds, ``s_p90`` the 90th percentile.
"""

from __future__ import annotations

import numpy as np


def predicted_signal_jump(penetration: float, scenario: str = "default", n_points: int = 64, seed: int = 0,
                          **overrides) -> dict[str, float]:
    """GAS signal jump when every DC's flexible load switches on at once, at stress points.

    Operating points: the top decile of net demand of a day-ahead profile of the scenario.
    Flexible load: (1 - E0 share) x target utilisation x dynamic IT power x PUE, summed.
    The market is the scenario's (with ``fleet_adequacy = "scaled"``, the scaled fleet).
    """
    from gridshift.envs.dcgrid import core
    from gridshift.envs.dcgrid.scenario import load_scenario
    from gridshift.envs.grid import Exogenous
    from gridshift.envs.grid.copper_plate import clear_unconstrained

    sc = load_scenario(scenario, penetration=penetration, **overrides)
    params = core.make_params(sc)
    rng = np.random.default_rng(seed)
    st = core.reset(params, rng, 1)
    d, s, w = st.demand_mw[0], st.solar_mw[0], st.wind_mw[0]
    net = d - s - w
    idx = np.argsort(net)[-max(n_points // 10, 4):]
    dcs = params.dcs
    base_load = float((dcs.pue * (dcs.idle_mw + sc.target_utilization * sc.job_mix[0] * dcs.dynamic_mw)).sum())
    flex = float((dcs.pue * sc.target_utilization * (1 - sc.job_mix[0]) * dcs.dynamic_mw).sum())
    ex = Exogenous(d[idx], s[idx], w[idx])
    off = clear_unconstrained(params.grid, ex, base_load)
    on = clear_unconstrained(params.grid, ex, base_load + flex)
    d_rf = off.renewable_fraction - on.renewable_fraction
    d_pdp = flex / sc.peak_demand_mw
    d_cip = (on.avg_ci_g_per_kwh - off.avg_ci_g_per_kwh) / params.max_ci_g_per_kwh
    d_price = on.price_usd_per_mwh - off.price_usd_per_mwh
    return {"penetration": penetration, "flex_mw": flex, "d_renewable_fraction": float(d_rf.mean()),
            "d_peak_demand_penalty": d_pdp, "d_ci_penalty": float(d_cip.mean()),
            "gas_jump": float((d_rf + d_pdp + d_cip).mean()), "price_jump_usd_per_mwh": float(d_price.mean())}


def flexible_facility_mw(records, pue: np.ndarray) -> float:
    """Mean flexible facility load ``F = sum_i PUE_i x flex_i`` over the horizon steps of FIFO
    records (MW): the load a release share controls at the operating point."""
    vals = []
    for r in records:
        h = ~r.grid["settlement"].to_numpy(bool)
        vals.append((r.dc["flex_mw"][h] * pue[None, :]).sum(axis=1))
    return float(np.mean(np.concatenate(vals))) if vals else float("nan")


def supply_slopes(records) -> np.ndarray:
    """The probed supply-curve slopes ($/MWh per MW) of the horizon steps of FIFO records."""
    out = []
    for r in records:
        h = ~r.grid["settlement"].to_numpy(bool)
        out.append(r.grid["supply_slope"].to_numpy(float)[h])
    x = np.concatenate(out) if out else np.zeros(0)
    return x[np.isfinite(x)]


def elasticity(slopes: np.ndarray, flexible_mw: float, width_usd_per_mwh: float) -> dict[str, float]:
    """The elasticity ratio of one cell (module docstring): ``s`` (median slope), ``s_p90``,
    ``k = F / w`` (inf for ``w = 0``), ``R = s k`` and ``R_p90``, and the price jump ``s F``."""
    s = float(np.median(slopes)) if slopes.size else float("nan")
    s90 = float(np.percentile(slopes, 90)) if slopes.size else float("nan")
    w = float(width_usd_per_mwh)
    k = float("inf") if w == 0 else flexible_mw / w

    def ratio(x: float) -> float:
        if w == 0:
            return float("inf") if x > 0 else 0.0
        return x * k

    return {"supply_slope_usd_per_mwh_per_mw": s, "supply_slope_p90": s90, "flexible_mw": flexible_mw,
            "policy_mw_per_usd": k, "elasticity_ratio": ratio(s), "elasticity_ratio_p90": ratio(s90),
            "price_jump_usd_per_mwh": s * flexible_mw}
