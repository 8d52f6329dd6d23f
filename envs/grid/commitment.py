"""Day-ahead unit commitment: which units are online each step (DESIGN §3, issue #14).

:func:`commit_schedule` decides, once per simulated day and for the whole episode at reset,
which slow units are online, against the day-ahead forecast of load: the exogenous non-DC
demand plus the *expected* DC load, minus the renewable forecast (an operator commits
without knowing how the DCs will respond). Real-time dispatch
(:func:`gridshift.envs.grid.copper_plate.clear_arrays` with ``online``) then dispatches only
the committed units, plus the ``fast_start`` units, within their ramp limits.

Method: a **priority list** with minimum up/down times, computed by a compiled kernel
(:func:`_priority_list`). A mixed-integer programme (:func:`commit_milp`, HiGHS through
``scipy.optimize.milp``) is kept as the exact reference. Why the heuristic is the default:
the environment commits at every reset for every env of the batch (64-256 envs x 4-5 days x
45-1,900 units); HiGHS takes seconds per env and day on the 45-unit default fleet
(``gridshift.eval.calibrate`` and ``tests/test_commitment.py`` compare the two), the list
takes microseconds, and its cost is within a few per cent of the MILP's on the test cases.

Priority list, per env (commitment periods of one hour, or one step if steps are longer):

1. Requirement of period ``p``: committed capacity ``>= NL_p + R`` *and* committed
   ramp-limited headroom ``sum_g min(cap_g, ramp_g x step) >= R`` (the reserve the
   real-time ORDC counts is what units can deliver within one step), with ``NL_p`` the
   largest forecast net load ``max(demand + dc - renewables, 0)`` over the period's steps and
   ``R`` the reserve
   (default ``min_contingency + mu + 3 sigma`` of the market's ORDC: the reserve at which the
   scarcity adder is 0.13 % of VOLL, about $7/MWh at $5,000; with the default fractions
   10.75 % of peak, close to the ~9 % of peak that ERCOT procures as regulation, responsive
   and non-spinning reserves).
2. Units are ranked by their full-load average cost ``(a cap^2 + b_offer cap + c) / cap``
   (the classic priority-list order; offers include carbon when it is in dispatch, and the
   day's gas price when given), per env and day. Start-up costs do not enter the ranking
   (amortising them over a fixed run length misranks baseload units that run for days);
   they enter through the keep-on rule of step 3. The *static need* of period ``p`` is the shortest prefix of the ranking whose
   capacity and headroom cover the requirement.
3. Chronologically: units inside their minimum up time stay on, units inside their minimum
   down time stay off; walking the ranking, the others are committed until the capacity and
   headroom met so far (committed units, locked-on units and fast-start units alike) cover
   the requirement. A unit that is on but no
   longer needed is kept on if the static need calls for it again within
   ``max(min_down, startup_cost / no_load_cost)`` hours (it could not restart in time, or a
   restart would cost more than idling), unless that would push committed minimum output
   above the period's lowest demand; the lookahead never exceeds 24 h (the day-ahead
   forecast's horizon).
4. ``fast_start`` units are not committed: they are available in every step.

The schedule is exactly what a day-by-day process would produce: each day's decisions use
the state at the end of the previous day and at most 24 h of forecast.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from gridshift.envs.grid.types import GridParams

#: Default reserve requirement in ORDC sigmas above ``min_contingency + mu`` (see module docstring).
RESERVE_SIGMAS = 3.0


def default_reserve_mw(grid: GridParams) -> float:
    """``min_contingency + mu + 3 sigma`` of the market's ORDC (MW)."""
    m = grid.market
    return float(m.min_contingency_mw + m.ordc_mu_mw + RESERVE_SIGMAS * m.ordc_sigma_mw)


def periods(steps_per_day: int) -> tuple[int, float]:
    """Steps per commitment period and the period length in hours: one hour (or one step
    when a step is an hour or longer). ``steps_per_day`` must divide into or be a multiple
    of 24."""
    spd = int(steps_per_day)
    if spd != steps_per_day or spd < 1:
        raise ValueError(f"steps_per_day={steps_per_day!r} is invalid: allowed a positive integer")
    if spd >= 24:
        if spd % 24:
            raise ValueError(f"steps_per_day={spd} is invalid: allowed a multiple of 24, or a divisor of 24")
        return spd // 24, 1.0
    if 24 % spd:
        raise ValueError(f"steps_per_day={spd} is invalid: allowed a multiple of 24, or a divisor of 24")
    return 1, 24.0 / spd


def _as_bt(x, nb: int, nt: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        a = np.full((nb, nt), float(a))
    elif a.ndim == 1 and a.shape[0] == nb and nb != nt:
        a = np.repeat(a[:, None], nt, axis=1)
    elif a.ndim == 1 and a.shape[0] == nt:
        a = np.broadcast_to(a, (nb, nt))
    if a.shape != (nb, nt):
        raise ValueError(f"{name} has shape {np.shape(x)}; expected a scalar, [B], [T] or [B, T] with B={nb}, T={nt}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} has non-finite values: allowed finite MW (or $/MMBtu)")
    return np.ascontiguousarray(a)


def unit_costs(grid: GridParams, gas_price: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cost coefficients ``a, b_offer, c`` of every unit, ``[..., G]``, at the given gas
    prices (``None``: the fleet's own), as the real-time kernel computes them."""
    f = grid.fleet
    fast, startup, inv_fp, vom, carb = grid.uc_arrays()
    a, b, c = f.cost_a_usd_per_mw2h, f.cost_b_usd_per_mwh, f.cost_c_usd_per_h
    if gas_price is None:
        return a, b + carb, c
    k = np.where(inv_fp > 0, np.asarray(gas_price)[..., None] * inv_fp, 1.0)
    return a * k, (b - vom) * k + vom + carb, c * k


def priority_keys(grid: GridParams, gas_price: np.ndarray | None = None) -> np.ndarray:
    """Full-load average cost ($/MWh) used to rank units, ``[..., G]`` (module docstring)."""
    f = grid.fleet
    a, b, c = unit_costs(grid, gas_price)
    cap = np.maximum(f.capacity_mw, 1e-9)
    return a * cap + b + c / cap


def commit_schedule(grid: GridParams, demand_mw, renewable_mw, steps_per_day: int, *, dc_load_mw=0.0,
                    gas_price=None, reserve_mw: float | None = None) -> np.ndarray:
    """Day-ahead commitment for a batch of episodes (module docstring).

    Args:
        grid: fleet (with its unit-commitment data) and market (step length, ORDC).
        demand_mw: day-ahead forecast of the exogenous non-DC demand, ``[B, T]`` (or ``[T]``).
        renewable_mw: day-ahead forecast of solar + wind availability, same shape.
        steps_per_day: steps per simulated day (``24 * 60 / step_minutes``); step 0 is the
            start of a day.
        dc_load_mw: expected DC facility load (not the DCs' response): scalar, ``[B]``,
            ``[T]`` or ``[B, T]``.
        gas_price: delivered gas price ($/MMBtu) per step, as passed to ``clear_arrays``
            (scalar, ``[B]``, ``[T]`` or ``[B, T]``), or ``None``; it changes the ranking.
        reserve_mw: reserve above forecast net load (default :func:`default_reserve_mw`).

    Returns:
        ``online``, bool ``[B, T, G]``: committed units (``fast_start`` units always true).
    """
    fleet = grid.fleet
    d = np.asarray(demand_mw, dtype=np.float64)
    squeeze = d.ndim == 1
    d2 = d[None, :] if squeeze else d
    if d2.ndim != 2 or d2.shape[1] < 1:
        raise ValueError(f"demand_mw has shape {d.shape}; expected [B, T] or [T]")
    nb, nt = d2.shape
    d2 = _as_bt(d2, nb, nt, "demand_mw")
    ren = _as_bt(renewable_mw if not squeeze else np.asarray(renewable_mw)[None, :] if np.ndim(renewable_mw) == 1
                 else renewable_mw, nb, nt, "renewable_mw")
    dc = _as_bt(dc_load_mw, nb, nt, "dc_load_mw")
    spp, period_h = periods(steps_per_day)
    if abs(steps_per_day * grid.market.step_minutes - 1440.0) > 1e-6:
        raise ValueError(f"steps_per_day={steps_per_day} is invalid: allowed 1440 / step_minutes = "
                         f"{1440.0 / grid.market.step_minutes:g} (the market's step is {grid.market.step_minutes:g} min)")
    ppd = max(1, int(round(24.0 / period_h)))  # periods per day
    npd = -(-nt // spp)
    pad = npd * spp - nt
    net = np.maximum(d2 + dc - ren, 0.0)
    tot = d2 + dc
    if pad:
        net = np.concatenate([net, np.repeat(net[:, -1:], pad, axis=1)], axis=1)
        tot = np.concatenate([tot, np.repeat(tot[:, -1:], pad, axis=1)], axis=1)
    nl = net.reshape(nb, npd, spp).max(axis=2)
    dmin = tot.reshape(nb, npd, spp).min(axis=2)
    r = default_reserve_mw(grid) if reserve_mw is None else float(reserve_mw)
    if not (math.isfinite(r) and r >= 0):
        raise ValueError(f"reserve_mw={reserve_mw!r} is invalid: allowed a finite value >= 0")
    n_days = -(-npd // ppd)
    if gas_price is None:
        keys = np.broadcast_to(priority_keys(grid), (nb, n_days, fleet.n_units))
    else:
        gp = _as_bt(gas_price if not (squeeze and np.ndim(gas_price) == 1) else np.asarray(gas_price)[None, :],
                    nb, nt, "gas_price")
        if (gp <= 0).any():
            raise ValueError("gas_price has values <= 0: allowed a price > 0 ($/MMBtu)")
        day_of_step = np.arange(nt) // (spp * ppd)
        gday = np.stack([gp[:, day_of_step == k].mean(axis=1) for k in range(n_days)], axis=1)
        keys = priority_keys(grid, gday)
    order = np.ascontiguousarray(np.argsort(keys, axis=2, kind="stable"), dtype=np.int64)
    up_p = np.ceil(fleet.min_up_h / period_h - 1e-9).astype(np.int64)
    down_p = np.ceil(fleet.min_down_h / period_h - 1e-9).astype(np.int64)
    _, startup, _, _, _ = grid.uc_arrays()
    with np.errstate(divide="ignore", invalid="ignore"):
        be_h = np.where(fleet.cost_c_usd_per_h > 0, startup / np.maximum(fleet.cost_c_usd_per_h, 1e-12),
                        np.where(startup > 0, 24.0, 0.0))
    keep_p = np.minimum(np.maximum(down_p, np.ceil(np.minimum(be_h, 24.0) / period_h - 1e-9).astype(np.int64)),
                        ppd)
    spin = np.minimum(fleet.capacity_mw, grid.ramp_step_mw())
    on_p = np.empty((nb, npd, fleet.n_units), dtype=np.bool_)
    _priority_list(np.ascontiguousarray(nl), r, np.ascontiguousarray(dmin), order, ppd, fleet.capacity_mw, spin,
                   fleet.min_output_mw, fleet.fast_start, up_p, down_p, keep_p, on_p)
    out = np.repeat(on_p, spp, axis=1)[:, :nt]
    return out[0] if squeeze else out


@numba.njit(cache=True, nogil=True)
def _priority_list(nl, res, dmin, order, ppd, cap, spin, pmin, fast, up_p, down_p, keep_p, on_out):  # pragma: no cover - compiled
    nb, npd = nl.shape
    g = cap.shape[0]
    need_m = np.empty(npd, dtype=np.int64)  # static need: prefix length per period
    rank_all = np.empty((order.shape[1], g), dtype=np.int64)
    on = np.zeros(g, dtype=np.bool_)
    new_on = np.zeros(g, dtype=np.bool_)
    locked = np.zeros(g, dtype=np.bool_)
    t_in = np.empty(g, dtype=np.int64)
    big = 1 << 40
    for b in range(nb):
        for day in range(order.shape[1]):
            for k in range(g):
                rank_all[day, order[b, day, k]] = k
        for p in range(npd):
            day = p // ppd
            cum = 0.0
            cspin = 0.0
            req = nl[b, p] + res
            m = g
            for k in range(g):
                cum += cap[order[b, day, k]]
                cspin += spin[order[b, day, k]]
                if cum >= req and cspin >= res:
                    m = k + 1
                    break
            need_m[p] = m
        for j in range(g):
            on[j] = False
            t_in[j] = big
        for p in range(npd):
            day = p // ppd
            cum = 0.0
            cspin = 0.0
            req = nl[b, p] + res
            for j in range(g):
                locked[j] = False
                new_on[j] = False
                if not fast[j] and on[j] and t_in[j] < up_p[j]:
                    locked[j] = True
                    new_on[j] = True
            for k in range(g):
                j = order[b, day, k]
                short = cum < req or cspin < res
                if fast[j]:
                    if short:
                        cum += cap[j]
                        cspin += spin[j]
                    continue
                if locked[j]:
                    cum += cap[j]
                    cspin += spin[j]
                    continue
                if not on[j] and t_in[j] < down_p[j]:
                    continue  # inside its minimum down time
                if short:
                    new_on[j] = True
                    cum += cap[j]
                    cspin += spin[j]
            # Units on, free, not selected: keep them if needed again soon and there is room.
            min_out = 0.0
            for j in range(g):
                if new_on[j]:
                    min_out += pmin[j]
            for k in range(g):
                j = order[b, day, k]
                if fast[j] or new_on[j] or not on[j]:
                    continue
                kp = keep_p[j]
                again = False
                for q in range(p + 1, min(p + kp, npd - 1) + 1):
                    if rank_all[q // ppd, j] < need_m[q]:
                        again = True
                        break
                if again and min_out + pmin[j] <= dmin[b, p]:
                    new_on[j] = True
                    min_out += pmin[j]
            for j in range(g):
                if fast[j]:
                    on_out[b, p, j] = True
                    continue
                if new_on[j] == on[j]:
                    if t_in[j] < big:
                        t_in[j] += 1
                else:
                    on[j] = new_on[j]
                    t_in[j] = 1
                on_out[b, p, j] = on[j]


def runs_respect_min_times(online: np.ndarray, grid: GridParams, steps_per_day: int) -> tuple[bool, str]:
    """Check a ``[T, G]`` schedule against minimum up/down times (runs touching either end
    of the horizon are exempt). Returns ``(ok, first violation)``."""
    spp, period_h = periods(steps_per_day)
    step_h = period_h / spp
    f = grid.fleet
    on = np.asarray(online, dtype=bool)
    for j in range(f.n_units):
        if f.fast_start[j]:
            continue
        x = on[:, j].astype(np.int8)
        edges = np.flatnonzero(np.diff(x)) + 1
        bounds = np.concatenate([[0], edges, [len(x)]])
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            if s == 0 or e == len(x):
                continue
            need = f.min_up_h[j] if x[s] else f.min_down_h[j]
            if (e - s) * step_h + 1e-9 < need:
                return False, f"unit {f.name[j]} {'on' if x[s] else 'off'} for {(e - s) * step_h:g} h at step {s} < {need:g} h"
    return True, ""


def schedule_cost(grid: GridParams, online: np.ndarray | None, demand_mw, renewable_mw, *, dc_load_mw=0.0,
                  gas_price=None) -> dict[str, float]:
    """Evaluate a ``[T, G]`` schedule by real-time dispatch (ramp limits, this module's
    commitment rules) over one episode: total fuel (incl. no-load and start-up) cost,
    unserved energy, starts and mean price. ``online=None``: no commitment (every unit on)."""
    from gridshift.envs.grid import copper_plate

    d = np.asarray(demand_mw, dtype=np.float64)
    nt = d.shape[0]
    ren = np.broadcast_to(np.asarray(renewable_mw, dtype=np.float64), (nt,))
    dc = np.broadcast_to(np.asarray(dc_load_mw, dtype=np.float64), (nt,))
    gp = None if gas_price is None else np.broadcast_to(np.asarray(gas_price, dtype=np.float64), (nt,))
    on = None if online is None else np.ascontiguousarray(online, dtype=np.bool_)
    from gridshift.envs.grid.types import Exogenous

    st = copper_plate.initial_state(grid, Exogenous(d[:1], ren[:1], np.zeros(1)), dc[:1],
                                    online=None if on is None else on[:1], gas_price=None if gp is None else gp[:1])
    prev = st.dispatch_mw
    fuel = unserved = price = 0.0
    starts = 0
    for t in range(nt):
        res = copper_plate.clear_arrays(grid, prev, d[t:t + 1].copy(), ren[t:t + 1].copy(), dc[t:t + 1].copy(),
                                        None if on is None else on[t:t + 1],
                                        gas_price=None if gp is None else gp[t:t + 1].copy())
        starts += int(((prev[0] <= 0) & (res.dispatch_mw[0] > 0)).sum())
        prev = res.dispatch_mw
        fuel += float(res.fuel_cost_usd[0])
        unserved += float(res.unserved_mwh[0])
        price += float(res.price_usd_per_mwh[0])
    voll = grid.market.voll_usd_per_mwh
    return {"fuel_cost_usd": fuel, "unserved_mwh": unserved, "cost_usd": fuel + voll * unserved, "starts": starts,
            "mean_price_usd_per_mwh": price / nt}
