"""The compiled per-row clearing of :mod:`gridshift.envs.grid.copper_plate` (Numba).

:func:`_clear_rows` clears each row (one grid) of a batch exactly as the
:mod:`~gridshift.envs.grid.copper_plate` docstring describes; :func:`_clear_rows_parallel`
does it over contiguous chunks of rows, one thread per chunk. Both are called only through
:func:`gridshift.envs.grid.copper_plate.clear_arrays`, which prepares their arguments.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Absolute tolerance (MW) when locating the target on the supply curve.
_TOL_MW = 1e-7
#: Relative tolerance when deciding that a linear unit's offer equals lambda.
_TOL_PRICE = 1e-9


@numba.njit(cache=True, nogil=True)
def _clear_rows(prev, demand, avail, dc, cap, pmin, ramp_step, a0, b_offer0, b_fuel0, c_fuel0, e,
                dt, voll, floor, mu, sigma, carbon_price, p_out, out,
                has_online, online, fast, startup, x_min, has_gas, gas_price, gas_inv_fp, vom,
                carb):  # pragma: no cover - compiled
    nb, g = prev.shape
    lo = np.empty(g)
    hi = np.empty(g)
    s = np.empty(g)
    if has_gas:  # per-row costs: scratch copies (the inputs are shared by every call)
        a = a0.copy()
        b_offer = b_offer0.copy()
        b_fuel = b_fuel0.copy()
        c_fuel = c_fuel0.copy()
    else:
        a = a0
        b_offer = b_offer0
        b_fuel = b_fuel0
        c_fuel = c_fuel0
    nq = 0
    for j in range(g):
        if a[j] > 0.0:
            s[j] = 0.5 / a[j]
            nq += 1
        else:
            s[j] = 0.0
    ne = 2 * nq + (g - nq) + 1  # + the renewables' zero-offer step
    ev_v = np.empty(ne)
    ev_ds = np.empty(ne)
    ev_unit = np.empty(ne, dtype=np.int64)
    inv_sqrt2 = 1.0 / math.sqrt(2.0)
    for r in range(nb):
        if has_gas:  # this row's gas price rescales the fuel part of gas units' costs
            for j in range(g):
                if gas_inv_fp[j] > 0.0:
                    f = gas_price[r] * gas_inv_fp[j]
                    a[j] = a0[j] * f
                    b_fuel[j] = (b_fuel0[j] - vom[j]) * f + vom[j]
                    b_offer[j] = b_fuel[j] + carb[j]
                    c_fuel[j] = c_fuel0[j] * f
                    if a[j] > 0.0:
                        s[j] = 0.5 / a[j]
        sum_lo = 0.0
        sum_hi = 0.0
        for j in range(g):
            pv = prev[r, j]
            rs = ramp_step[j]
            if fast[j]:
                l_ = 0.0 if pv <= max(pmin[j], rs) else pv - rs
                h_ = min(cap[j], max(pv + rs, pmin[j]))
            elif has_online and not online[r, j]:
                l_ = 0.0 if pv <= max(pmin[j], rs) + _TOL_MW else pv - rs
                h_ = l_
            else:
                l_ = max(pmin[j], pv - rs)
                h_ = min(cap[j], pv + rs)
            if h_ < l_:
                h_ = l_
            lo[j] = l_
            hi[j] = h_
            sum_lo += l_
            sum_hi += h_
        q = demand[r] + dc[r]
        av = max(avail[r], 0.0)
        overgen = max(sum_lo - q, 0.0)
        unserved = max(q - sum_hi - av, 0.0)
        target = min(max(q, sum_lo), sum_hi + av)

        # Breakpoints of the aggregate supply curve S(lambda).
        k = 0
        for j in range(g):
            if s[j] > 0.0:
                ev_v[k] = b_offer[j] + 2.0 * a[j] * lo[j]
                ev_ds[k] = s[j]
                ev_unit[k] = -1
                k += 1
                ev_v[k] = b_offer[j] + 2.0 * a[j] * hi[j]
                ev_ds[k] = -s[j]
                ev_unit[k] = -1
                k += 1
            else:
                ev_v[k] = b_offer[j]
                ev_ds[k] = 0.0
                ev_unit[k] = j
                k += 1
        ev_v[k] = 0.0
        ev_ds[k] = 0.0
        ev_unit[k] = g  # renewables
        order = np.argsort(ev_v)
        supply = sum_lo
        slope = 0.0
        v_prev = ev_v[order[0]]
        lam = ev_v[order[ne - 1]]
        for i in range(ne):
            o = order[i]
            v = ev_v[o]
            at_v = supply + slope * (v - v_prev)
            if at_v >= target - _TOL_MW:
                lam = v_prev + (target - supply) / slope if slope > 0.0 else v
                break
            supply = at_v
            u = ev_unit[o]
            if u >= 0:
                supply += (hi[u] - lo[u]) if u < g else av
                if supply >= target - _TOL_MW:
                    lam = v
                    break
            slope += ev_ds[o]
            v_prev = v

        # Dispatch at lambda; linear units offering exactly lambda share the residual.
        eps = _TOL_PRICE * max(1.0, abs(lam))
        tot = 0.0
        room = 0.0
        for j in range(g):
            if s[j] > 0.0:
                pj = min(max((lam - b_offer[j]) * s[j], lo[j]), hi[j])
            elif b_offer[j] < lam - eps:
                pj = hi[j]
            else:
                pj = lo[j]
                if abs(b_offer[j] - lam) <= eps:
                    room += hi[j] - lo[j]
            p_out[r, j] = pj
            tot += pj
        # Renewables: full below lambda, off above it, and first to take the residual at a
        # zero price (must-take ahead of zero-offer thermal units).
        if lam > eps:
            used = av
        elif lam < -eps:
            used = 0.0
        else:
            used = min(max(target - tot, 0.0), av)
        curtail = av - used
        resid = target - tot - used
        if room > 0.0:
            share = resid / room
            for j in range(g):
                if s[j] == 0.0 and abs(b_offer[j] - lam) <= eps:
                    p_out[r, j] += (hi[j] - lo[j]) * share

        # Marginal carbon intensity: linear units at lambda absorb the increment; otherwise
        # quadratic units strictly inside their bounds, weighted by dp/dlambda; otherwise
        # (lambda on a breakpoint, or load shed) the most expensive loaded unit, or the
        # cheapest unit with headroom when nothing is loaded above its minimum.
        w_lin = 0.0
        e_lin = 0.0
        w_q = 0.0
        e_q = 0.0
        best_loaded = -1
        mc_loaded = -np.inf
        best_room = -1
        mc_room = np.inf
        thermal = 0.0
        emis_rate = 0.0
        fuel_rate = 0.0
        start_cost = 0.0
        for j in range(g):
            pj = p_out[r, j]
            span = hi[j] - lo[j]
            tol = 1e-9 * max(1.0, span)
            mc = 2.0 * a[j] * pj + b_offer[j]
            if s[j] == 0.0:
                if span > tol and abs(b_offer[j] - lam) <= eps:
                    w_lin += span
                    e_lin += span * e[j]
            elif pj > lo[j] + tol and pj < hi[j] - tol:
                w_q += s[j]
                e_q += s[j] * e[j]
            if pj > lo[j] + tol and mc > mc_loaded:
                mc_loaded = mc
                best_loaded = j
            if span > tol and mc < mc_room:
                mc_room = mc
                best_room = j
            thermal += pj
            emis_rate += e[j] * pj
            fuel_rate += a[j] * pj * pj + b_fuel[j] * pj
            if pj > 0.0:
                fuel_rate += c_fuel[j]
                if has_online and prev[r, j] <= 0.0:
                    start_cost += startup[j]
        if w_lin > 0.0:
            marg = e_lin / w_lin
        elif w_q > 0.0:
            marg = e_q / w_q
        elif best_loaded >= 0:
            marg = e[best_loaded]
        elif best_room >= 0:
            marg = e[best_room]
        else:
            marg = 0.0

        # Reported energy price: renewables are marginal while curtailed (zero offer); the
        # floor on over-generation; VOLL when load is shed.
        if curtail > _TOL_MW and lam >= -eps:
            lam = 0.0
            marg = 0.0
        if overgen > _TOL_MW:
            lam = floor
            marg = 0.0
        if unserved > _TOL_MW:
            lam = voll
        lam = min(max(lam, floor), voll)
        reserve = max(sum_hi - thermal, 0.0)
        if x_min > 0.0 and reserve <= x_min:
            lolp = 1.0  # at or below the minimum contingency level: VOLL
        else:
            lolp = 0.5 * math.erfc((reserve - x_min - mu) / sigma * inv_sqrt2)  # 1 - Phi(z)
        price = min(lam + max(voll - lam, 0.0) * lolp, voll)
        gen = thermal + used
        emissions = emis_rate * dt
        fuel_cost = fuel_rate * dt + start_cost

        out[0, r] = q
        out[1, r] = thermal
        out[2, r] = av
        out[3, r] = used
        out[4, r] = curtail
        out[5, r] = unserved
        out[6, r] = overgen
        out[7, r] = reserve
        out[8, r] = lam
        out[9, r] = price - lam
        out[10, r] = price
        out[11, r] = 1000.0 * emis_rate / gen if gen > 0.0 else 0.0
        out[12, r] = 1000.0 * marg
        out[13, r] = used / gen if gen > 0.0 else 0.0
        out[14, r] = emissions
        out[15, r] = fuel_cost
        out[16, r] = fuel_cost + voll * unserved * dt + carbon_price * emissions


@numba.njit(cache=True, nogil=True, parallel=True)
def _clear_rows_parallel(prev, demand, avail, dc, cap, pmin, ramp_step, a, b_offer, b_fuel, c_fuel, e,
                         dt, voll, floor, mu, sigma, carbon_price, p_out, out,
                         has_online, online, fast, startup, x_min, has_gas, gas_price, gas_inv_fp, vom, carb,
                         nchunks):  # pragma: no cover - compiled
    """:func:`_clear_rows` over contiguous chunks of rows in parallel (rows are independent)."""
    nb = prev.shape[0]
    for c in numba.prange(nchunks):
        lo = c * nb // nchunks
        hi = (c + 1) * nb // nchunks
        on = online[lo:hi] if has_online else online
        gp = gas_price[lo:hi] if has_gas else gas_price
        _clear_rows(prev[lo:hi], demand[lo:hi], avail[lo:hi], dc[lo:hi], cap, pmin, ramp_step, a, b_offer, b_fuel,
                    c_fuel, e, dt, voll, floor, mu, sigma, carbon_price, p_out[lo:hi], out[:, lo:hi],
                    has_online, on, fast, startup, x_min, has_gas, gp, gas_inv_fp, vom, carb)
