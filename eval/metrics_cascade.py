"""Cascade, counterfactual and demand-response metrics (DESIGN §11, §12), on the horizon.

:func:`gridshift.eval.metrics.compute_metrics` calls :func:`cascade_metrics` on the
**horizon rows only** (the grid record's ``settlement`` column is False): after the horizon the
settlement phase releases every queue by rule (FIFO), so nothing there is the policy's cascade.
Work, cost and emissions accounting stay on horizon + settlement.

Fixed thresholds (documented constants, never the episode's own statistics, so that they do
not move with the policy):

* **Price spike**: a step with ``price_usd_per_mwh > PRICE_SPIKE_USD_PER_MWH`` = 300 $/MWh, above
  the dearest offer of the synthetic fleet (266 $/MWh, carbon included): a price above it
  carries a scarcity adder.
* **Stress**: a step whose **no-DC net demand** ``demand_mw - renewable_available_mw`` (the
  exogenous inputs alone, identical for every policy of a seed) is at least
  ``stress_net_demand_mw``. The cascade study fixes that threshold per scenario: the
  ``STRESS_QUANTILE`` = 0.9 quantile of the no-DC net demand over the horizons of its seeds
  (:func:`stress_threshold_mw`). Without one, the episode's own 0.9 quantile of the no-DC net
  demand is used (still policy-independent). ``reserve_stress_steps``, the steps with
  ``reserve_mw < dr_threshold_mw``, is reported beside it as an *outcome* (it moves with the
  DCs' load).
* **Events** are the maximal runs of steps that are stress steps or have ``dr_active`` (DR
  events are announced from the day-ahead reserve forecast, cleared with the *expected* DC
  load, so they too are the same for every policy of a seed).

Metrics (all on the horizon):

* ``stress_steps``, ``reserve_stress_steps``; ``peak_dc_load_stress_mw`` and
  ``max_dc_load_stress_mw``: mean and max aggregate DC load over stress steps (EM outcome 1).
* ``rebound_ratio``: the max over events of ``max(L[e+1 .. e+W]) / mean(L[s-W .. s-1])``
  (``L`` aggregate DC load, event ``s..e``, ``W = rebound_window_steps``, windows clipped to the
  horizon; an event is skipped if a window is empty or the pre-event mean is <= 0).
  ``rebound_ratio_mean`` the mean, ``rebound_events`` the count.
* ``max_ramp_mw_per_step``: ``max |diff(L)|``.
* ``price_spike_count`` (fixed threshold above, reported as ``price_spike_threshold_usd_per_mwh``),
  ``price_max_usd_per_mwh``, ``price_volatility_usd_per_mwh`` (:mod:`gridshift.eval.oscillation`).
* ``sync_index``: the mean pairwise Pearson correlation of the DCs' flexible load series
  (constant series skipped; NaN below two varying series).
* oscillation (:mod:`gridshift.eval.oscillation`): ``deferral_starts``, ``resumptions``,
  ``redeferrals`` (within ``redeferral_steps`` = 1 step of resuming), ``redeferrals_1h``
  (within one hour), ``defer_cycles``, ``defer_cycle_period_h``, ``dflex_acf1``,
  ``dflex_fast_power_share``, ``dflex_rms_mw``; from the release fractions ``dc["release"]``
  when the record has them (the cascade runner's), else NaN.
* ``unserved_mwh_horizon``, ``emergency_steps``, ``emergency_orders``, ``dr_steps``.
* Demand response, with each DC's customer baseline ``dc["baseline_mw"]`` when recorded:
  ``dr_curtailed_mwh``, the facility energy below baseline during DR steps with no emergency
  order in force (what DR revenue pays for), and ``dr_rebound_mwh``, the energy above baseline
  over the ``W`` steps after each DR event (steps of the next event excluded);
  ``dr_payback_share`` their ratio.

Against FIFO on the same seed (:func:`versus_fifo`, when the FIFO record is given):

* ``rebound_ratio_vs_fifo`` = ``rebound_ratio / rebound_ratio_fifo`` (same events: they are
  policy-independent), ``sync_index_vs_fifo`` = ``sync_index - sync_index_fifo``;
  ``rebound_excess_mw``: the max over events of ``max(L - L_fifo)`` in the post-event window.
* ``stress_curtailed_mwh`` = energy of ``max(0, L_fifo - L)`` during events, and
  ``stress_rebound_mwh`` = energy of ``max(0, L - L_fifo)`` in the ``W`` steps after each event
  (next event excluded); ``stress_payback_share`` their ratio: the causal analogue of the DR
  literature's payback (FIFO is what the DCs would have drawn without shifting).
* ``dr_payback_vs_fifo``: the same over DR events only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gridshift.eval.oscillation import deferral_events, flex_oscillation, price_volatility

NAN = float("nan")
#: Absolute price-spike threshold, $/MWh (module docstring).
PRICE_SPIKE_USD_PER_MWH = 300.0
#: Quantile of the no-DC net demand that defines stress steps (fixed per scenario).
STRESS_QUANTILE = 0.9
#: Re-deferral window, steps: "deferred again within one step of resuming".
REDEFERRAL_STEPS = 1


def _col(grid: pd.DataFrame, name: str) -> np.ndarray:
    return grid[name].to_numpy(dtype=float)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step of each maximal run of True."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist(), strict=True))


def sync_index(flex: np.ndarray) -> float:
    """Mean pairwise Pearson correlation of the columns of ``flex [T, N]`` (constant ones skipped)."""
    flex = np.asarray(flex, dtype=float)
    if flex.ndim != 2:
        return NAN
    sd = flex.std(axis=0)
    scale = np.maximum(np.abs(flex).max(axis=0, initial=0.0), 1.0)
    valid = sd > 1e-12 * scale
    if valid.sum() < 2:
        return NAN
    c = np.corrcoef(flex[:, valid], rowvar=False)
    iu = np.triu_indices(c.shape[0], k=1)
    return float(np.mean(c[iu]))


def horizon_rows(grid: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the horizon rows (all rows when the record has no ``settlement`` column)."""
    if "settlement" in grid:
        return ~grid["settlement"].to_numpy(dtype=bool)
    return np.ones(len(grid), bool)


def stress_mask(grid: pd.DataFrame, stress_net_demand_mw: float | None) -> tuple[np.ndarray, float]:
    """Stress steps of a (horizon) record and the threshold used (module docstring)."""
    net = _col(grid, "demand_mw") - _col(grid, "renewable_available_mw")
    if stress_net_demand_mw is None:
        thr = float(np.quantile(net, STRESS_QUANTILE)) if net.size else NAN
    else:
        thr = float(stress_net_demand_mw)
    return net >= thr, thr


def _post_windows(events, T: int, W: int, event_mask: np.ndarray):
    """For each event, the post-event steps ``e+1 .. e+W`` (clipped) outside any event."""
    for s, e in events:
        idx = np.arange(e + 1, min(T, e + 1 + W))
        yield s, e, idx[~event_mask[idx]] if idx.size else idx


def cascade_metrics(grid: pd.DataFrame, dc: Mapping[str, np.ndarray], *, step_hours: float, dr_threshold_mw: float,
                    stress_net_demand_mw: float | None = None, rebound_window_steps: int = 8,
                    price_spike_usd_per_mwh: float = PRICE_SPIKE_USD_PER_MWH,
                    redeferral_steps: int = REDEFERRAL_STEPS) -> dict[str, float]:
    """The cascade metrics of one horizon record (module docstring); ``grid`` and ``dc`` hold the
    horizon rows only."""
    dt = float(step_hours)
    T = len(grid)
    W = int(rebound_window_steps)
    m: dict[str, float] = {}
    load = _col(grid, "dc_load_total_mw")
    price = _col(grid, "price_usd_per_mwh")
    reserve = _col(grid, "reserve_mw")
    dr = grid["dr_active"].to_numpy(dtype=bool)
    stress, thr = stress_mask(grid, stress_net_demand_mw)
    m["stress_net_demand_threshold_mw"] = thr
    m["stress_steps"] = float(stress.sum())
    m["reserve_stress_steps"] = float(np.sum(reserve < dr_threshold_mw))
    ls = load[stress]
    m["peak_dc_load_stress_mw"] = float(ls.mean()) if ls.size else NAN
    m["max_dc_load_stress_mw"] = float(ls.max()) if ls.size else NAN

    ev_mask = stress | dr
    events = runs(ev_mask)
    ratios = []
    for s, e in events:
        pre = load[max(0, s - W):s]
        post = load[e + 1:e + 1 + W]
        if pre.size and post.size and pre.mean() > 0:
            ratios.append(post.max() / pre.mean())
    m["rebound_ratio"] = float(max(ratios)) if ratios else NAN
    m["rebound_ratio_mean"] = float(np.mean(ratios)) if ratios else NAN
    m["rebound_events"] = float(len(ratios))
    m["max_ramp_mw_per_step"] = float(np.abs(np.diff(load)).max()) if T >= 2 else NAN

    m["price_spike_threshold_usd_per_mwh"] = float(price_spike_usd_per_mwh)
    m["price_spike_count"] = float(np.sum(price > price_spike_usd_per_mwh))
    m["price_max_usd_per_mwh"] = float(price.max()) if T else NAN
    m["price_volatility_usd_per_mwh"] = price_volatility(price)
    m["sync_index"] = sync_index(dc["flex_mw"]) if "flex_mw" in dc else NAN

    if "release" in dc:
        m.update(deferral_events(dc["release"], k=redeferral_steps, step_hours=dt))
        m["redeferrals_1h"] = deferral_events(dc["release"], k=max(1, int(round(1.0 / dt))), step_hours=dt)["redeferrals"]
    else:
        for k in ("deferral_starts", "resumptions", "redeferrals", "redeferrals_1h", "defer_cycles", "defer_cycle_period_h"):
            m[k] = NAN
    m.update(flex_oscillation(_col(grid, "dc_flex_total_mw")))

    m["unserved_mwh_horizon"] = float(_col(grid, "unserved_mw").sum() * dt)
    m["emergency_steps"] = float(grid["emergency_active"].to_numpy(dtype=bool).sum())
    m["emergency_orders"] = float(grid["emergency_issued"].to_numpy(dtype=bool).sum())
    m["dr_steps"] = float(dr.sum())

    # DR accounting against the customer baseline: paid reductions and the payback after.
    if "baseline_mw" in dc and "load_mw" in dc:
        below = np.maximum(0.0, dc["baseline_mw"] - dc["load_mw"]).sum(axis=1)
        above = np.maximum(0.0, dc["load_mw"] - dc["baseline_mw"]).sum(axis=1)
        em = grid["emergency_active"].to_numpy(dtype=bool)
        cut = float(below[dr & ~em].sum() * dt)
        reb = sum(float(above[idx].sum() * dt) for _, _, idx in _post_windows(runs(dr), T, W, dr))
        m["dr_curtailed_mwh"] = cut
        m["dr_rebound_mwh"] = reb
        m["dr_payback_share"] = reb / cut if cut > 0 else NAN
    else:
        m["dr_curtailed_mwh"] = m["dr_rebound_mwh"] = m["dr_payback_share"] = NAN
    return m


def versus_fifo(grid: pd.DataFrame, fifo_grid: pd.DataFrame, m: Mapping[str, float], m_fifo: Mapping[str, float], *,
                step_hours: float, stress_net_demand_mw: float | None = None,
                rebound_window_steps: int = 8) -> dict[str, float]:
    """Cascade metrics relative to FIFO on the same seed (module docstring); horizon rows of both."""
    if len(grid) != len(fifo_grid):
        raise ValueError(f"versus_fifo needs records of the same seed and horizon: {len(grid)} vs {len(fifo_grid)} rows")
    dt = float(step_hours)
    W = int(rebound_window_steps)
    T = len(grid)
    out: dict[str, float] = {}
    rr, rr0 = m.get("rebound_ratio", NAN), m_fifo.get("rebound_ratio", NAN)
    out["rebound_ratio_vs_fifo"] = float(rr) / float(rr0) if np.isfinite(rr) and np.isfinite(rr0) and rr0 > 0 else NAN
    out["sync_index_vs_fifo"] = float(m.get("sync_index", NAN)) - float(m_fifo.get("sync_index", NAN))
    load, load0 = _col(grid, "dc_load_total_mw"), _col(fifo_grid, "dc_load_total_mw")
    stress, _ = stress_mask(grid, stress_net_demand_mw)
    dr = grid["dr_active"].to_numpy(dtype=bool)
    gap = load - load0
    for name, mask in (("stress", stress | dr), ("dr", dr)):
        events = runs(mask)
        cut = float(np.maximum(0.0, -gap[mask]).sum() * dt)
        reb, excess = 0.0, []
        for _, _, idx in _post_windows(events, T, W, mask):
            reb += float(np.maximum(0.0, gap[idx]).sum() * dt)
            if idx.size:
                excess.append(float(gap[idx].max()))
        if name == "stress":
            out["stress_curtailed_mwh"] = cut
            out["stress_rebound_mwh"] = reb
            out["stress_payback_share"] = reb / cut if cut > 0 else NAN
            out["rebound_excess_mw"] = max(excess) if excess else NAN
        else:
            out["dr_payback_vs_fifo"] = reb / cut if cut > 0 else NAN
    return out


# ------------------------------------------------------------------ no-DC counterfactual


def no_dc_clearing(params, st, t0: int, lengths) -> list[pd.DataFrame]:
    """Re-clear the grid of every env of ``st`` **without the DCs**, along the same exogenous
    inputs (``st.demand_mw``, ``solar_mw``, ``wind_mw``, already extended by settlement), from
    absolute step 0 (its own warm-up) to ``t0 + max(lengths)``; returns, per env, the rows
    ``t0 .. t0 + lengths[b] - 1`` (the record's steps) with every clearing output."""
    from gridshift.envs.grid import copper_plate
    from gridshift.envs.grid.commitment import commit_schedule

    lengths = np.asarray(lengths, dtype=np.int64)
    end = int(t0 + lengths.max(initial=0))
    if st.demand_mw.shape[1] < end:
        raise ValueError(f"no_dc_clearing needs exogenous inputs up to step {end}: the state has {st.demand_mw.shape[1]}")
    nb = st.batch_size
    sc = params.scenario
    zero = np.zeros((nb, params.n_agents))
    d, s, w = st.demand_mw, st.solar_mw, st.wind_mw
    gas = st.gas_price
    # Without the DCs the operator commits for the exogenous load alone (same rule, same forecast)
    online = None
    if sc.unit_commitment:
        online = commit_schedule(params.grid, d[:, :end], s[:, :end] + w[:, :end], sc.steps_per_day, dc_load_mw=0.0,
                                 gas_price=None if gas is None else gas[:, :end])

    def at(a, t):
        return None if a is None else np.ascontiguousarray(a[:, t])

    prev = params.backend.initial_dispatch(d[:, 0], s[:, 0] + w[:, 0], zero, online=at(online, 0), gas_price=at(gas, 0))
    rows = []
    for t in range(end):
        res = params.backend.clear_step(np.ascontiguousarray(prev), np.ascontiguousarray(d[:, t]),
                                        np.ascontiguousarray(s[:, t] + w[:, t]), zero, online=at(online, t),
                                        gas_price=at(gas, t))
        prev = res.dispatch_mw
        if t >= t0:
            rows.append(res.packed.copy())
    packed = np.stack(rows) if rows else np.zeros((0, len(copper_plate._OUT_FIELDS), nb))
    cols = list(copper_plate._OUT_FIELDS)
    return [pd.DataFrame(packed[:int(lengths[b]), :, b], columns=cols) for b in range(nb)]


def consequential(grid: pd.DataFrame, no_dc: pd.DataFrame | None) -> dict[str, float]:
    """Emissions and system cost with minus without the DCs over the whole record (horizon +
    settlement): ``carbon_consequential_t`` and ``dc_system_cost_usd`` (NaN without ``no_dc``)."""
    if no_dc is None:
        return {"carbon_consequential_t": NAN, "dc_system_cost_usd": NAN}
    if len(no_dc) != len(grid):
        raise ValueError(f"no-DC counterfactual has {len(no_dc)} rows for a record of {len(grid)}")
    return {
        "carbon_consequential_t": float(_col(grid, "emissions_t_co2").sum() - _col(no_dc, "emissions_t_co2").sum()),
        "dc_system_cost_usd": float(_col(grid, "system_cost_usd").sum() - _col(no_dc, "system_cost_usd").sum()),
    }


def stress_threshold_mw(params, st, horizon_steps: int, quantile: float = STRESS_QUANTILE) -> float:
    """The fixed stress threshold of a scenario: the ``quantile`` of the no-DC net demand
    (demand - solar - wind) pooled over the horizons of the envs of ``st`` (a reset state)."""
    w = params.scenario.warmup_steps
    sl = slice(w, w + int(horizon_steps))
    net = st.demand_mw[:, sl] - st.solar_mw[:, sl] - st.wind_mw[:, sl]
    return float(np.quantile(net.reshape(-1), quantile))


def load_loss_metrics(grid: pd.DataFrame, sc, fifo_grid: pd.DataFrame | None = None,
                      after_steps: int = 8) -> dict[str, float]:
    """Metrics of a forced drop-and-return event (``Scenario.load_loss_*``, horizon rows): with
    ``a`` the drop step, ``r0`` the first return step and ``r1`` the last (``r1 = r0`` when every
    DC returns together) and the window ``r0 .. r1 + after_steps``:

    * ``event_drop_mw``: mean DC load over the 4 steps before ``a`` minus the load at ``a``;
    * ``event_return_step_mw``: the largest one-step rise of the DC load in the window;
    * ``event_price_max_usd_per_mwh`` and ``event_reserve_min_mw`` in the window, beside
      ``event_price_before_usd_per_mwh`` (mean over the 4 steps before ``a``);
    * ``event_backlog_peak_mwh``: the most queued flexible work from ``a`` to the window's end
      (needs the cascade runner's ``backlog_mwh`` column);
    * ``event_excess_mwh``: energy of ``max(0, L - L_fifo)`` in the window, when FIFO's record of
      the same seed is given (the policies' rebound on top of the forced return).
    NaN for everything when the scenario has no event or it falls outside the record."""
    keys = ("event_drop_mw", "event_return_step_mw", "event_price_max_usd_per_mwh", "event_reserve_min_mw",
            "event_price_before_usd_per_mwh", "event_backlog_peak_mwh", "event_excess_mwh")
    out = dict.fromkeys(keys, NAN)
    if sc.load_loss_at_h < 0:
        return out
    dt = sc.step_hours
    a = int(round(sc.load_loss_at_h / dt))
    r0 = a + max(1, int(round(sc.load_loss_duration_h / dt)))
    r1 = r0 + int(round(sc.load_loss_return_window_h / dt))
    T = len(grid)
    if a < 1 or r1 >= T:
        return out
    load = _col(grid, "dc_load_total_mw")
    w = slice(r0, min(T, r1 + after_steps + 1))
    out["event_drop_mw"] = float(load[max(0, a - 4):a].mean() - load[a])
    out["event_return_step_mw"] = float(np.diff(load[r0 - 1:w.stop]).max())
    out["event_price_max_usd_per_mwh"] = float(_col(grid, "price_usd_per_mwh")[w].max())
    out["event_reserve_min_mw"] = float(_col(grid, "reserve_mw")[w].min())
    out["event_price_before_usd_per_mwh"] = float(_col(grid, "price_usd_per_mwh")[max(0, a - 4):a].mean())
    if "backlog_mwh" in grid:
        out["event_backlog_peak_mwh"] = float(_col(grid, "backlog_mwh")[a:w.stop].max())
    if fifo_grid is not None and len(fifo_grid) == T:
        out["event_excess_mwh"] = float(np.maximum(0.0, load[w] - _col(fifo_grid, "dc_load_total_mw")[w]).sum() * dt)
    return out
