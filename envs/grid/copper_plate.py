"""Copper-plate market clearing, vectorised over a leading batch axis (DESIGN §3).

One system price for the whole grid. :func:`clear` is a pure function of
``(params, state, exogenous, dc_load_mw)``: no globals, no I/O, no randomness.

Clearing of one step, with ``dt`` the step in hours and all arrays batched ``[B]`` / ``[B, G]``:

1. ``Q = D + L``: exogenous non-DC demand plus the DC facility load.
2. Unit bounds from the previous dispatch (ramp limits make the grid path-dependent)::

       lo_g = max(min_output_g, p_prev_g - ramp_g * dt)
       hi_g = min(capacity_g,   p_prev_g + ramp_g * dt)

   With a unit commitment (``online``, see :func:`clear_arrays`), decommitted units ramp
   down and disconnect, starting units synchronise at their minimum output, and fast-start
   units are always available with their minimum output relaxed to 0.

3. Renewables (zero cost, zero emissions) are one more merit-order step with a zero offer,
   ``[0, A]``: in practice they run right after the fleet's minimum output,
   ``used = clip(Q - sum(lo), 0, A)``, and the rest of the availability ``A`` is
   **curtailed**. A thermal unit offering below zero is dispatched before them (so the price
   never falls when load rises), and at a zero price renewables take the residual before
   zero-offer thermal units. If ``sum(lo) > Q`` even with every renewable curtailed, the
   surplus is **over-generation** (spilled) and the price is the floor. If
   ``Q > sum(hi) + A`` the excess is **unserved** and priced at VOLL.
4. Economic dispatch (TSCO eq. 1): the equal incremental cost ``lambda`` with
   ``p_g = clip((lambda - b_g) / (2 a_g), lo_g, hi_g)`` and ``sum(p_g) + used = Q``. Linear
   units (``a_g = 0``) are merit-order steps: full at ``b_g < lambda``, at ``lo_g`` above, and
   units with ``b_g == lambda`` share the residual pro rata to their headroom.
   The solution is exact, not iterative: the aggregate supply curve ``S(lambda)`` is
   piecewise linear with breakpoints ``b_g + 2 a_g lo_g``, ``b_g + 2 a_g hi_g`` (quadratic
   units) and jumps at ``b_g`` (linear units). Sorting the breakpoints of each row and a
   walk along them locate ``T`` on the curve in ``O(G log G)`` per row.
5. Scarcity (ERCOT ORDC): reserve headroom ``H = sum_g (hi_g - p_g)`` and
   ``adder = (VOLL - lambda) * LOLP(H - X)``, ``LOLP(x) = 1 - Phi((x - mu) / sigma)``, with
   ``X`` the minimum contingency level (``LOLP = 1`` at or below it);
   ``price = min(lambda + adder, VOLL)``.
6. Carbon: average intensity ``sum(e_g p_g) / generation`` and marginal intensity, the
   emission factor of the unit(s) that would serve one more MW (see
   :func:`_marginal_ci`), both in gCO2/kWh (= kgCO2/MWh = 1000 tCO2/MWh).
7. System cost over the step = fuel cost (with start-ups under a commitment) + VOLL x
   unserved MWh + carbon price x tCO2.

Offers are fuel cost (at the row's gas price when ``gas_price`` is given), plus carbon price
x emission factor when ``MarketParams.carbon_in_dispatch`` is on: then the clearing price is
the marginal *social* cost at the margin; off, it is the marginal fuel cost while the system
cost still counts carbon (a market without a carbon price).

The per-row work is a Numba kernel (:func:`~gridshift.envs.grid.copper_plate_kernel._clear_rows`,
in :mod:`~gridshift.envs.grid.copper_plate_kernel`): the clearing runs inside every
environment step, and a compiled loop over rows does it in about a microsecond per row,
where the equivalent NumPy formulation over ``[B, G]`` arrays spends most of its time
allocating temporaries (measured 5-8x slower at batch 4096 on the 2-core CI machine).
"""

from __future__ import annotations

import numba
import numpy as np

from gridshift.envs.grid.copper_plate_kernel import _clear_rows, _clear_rows_parallel
from gridshift.envs.grid.types import ClearingResult, Exogenous, GridParams, GridState


def initial_state(params: GridParams, exogenous: Exogenous, dc_load_mw=0.0, online=None,
                  gas_price=None) -> GridState:
    """A consistent starting dispatch: the clearing of the first step without ramp limits
    (with ``online`` ``[B, G]``: of the committed units only)."""
    fleet = params.fleet
    nb = np.atleast_1d(np.asarray(exogenous.demand_mw, dtype=np.float64)).shape[0]
    prev = np.broadcast_to(fleet.min_output_mw, (nb, fleet.n_units))
    res = _clear(params, prev, exogenous, dc_load_mw, ramp=False, online=online, gas_price=gas_price)
    return GridState(dispatch_mw=res.dispatch_mw)


def clear(
    params: GridParams,
    state: GridState,
    exogenous: Exogenous,
    dc_load_mw: np.ndarray | float = 0.0,
    online: np.ndarray | None = None,
    gas_price: np.ndarray | float | None = None,
) -> tuple[GridState, ClearingResult]:
    """Clear one step for a batch of ``B`` grids.

    Args:
        params: the fleet and market rules (shared by the whole batch).
        state: the previous step's dispatch, ``[B, G]`` MW.
        exogenous: non-DC demand and renewable availability, each ``[B]`` MW.
        dc_load_mw: aggregate DC facility load (``sum_i PUE_i P_i``), ``[B]`` MW or a scalar.
        online: ``[B, G]`` (or ``[G]``) bool commitment of this step, or ``None`` (every unit
            online, no commitment); see :func:`clear_arrays`.
        gas_price: delivered gas price ($/MMBtu) of this step, ``[B]`` or a scalar, or
            ``None`` (the fleet's own prices); see :func:`clear_arrays`.

    Returns:
        ``(next_state, result)``; ``next_state.dispatch_mw`` is ``result.dispatch_mw``.
    """
    res = _clear(params, state.dispatch_mw, exogenous, dc_load_mw, ramp=True, online=online, gas_price=gas_price)
    return GridState(dispatch_mw=res.dispatch_mw), res


_OUT_FIELDS = (
    "total_demand_mw",
    "thermal_mw",
    "renewable_available_mw",
    "renewable_used_mw",
    "curtailment_mw",
    "unserved_mw",
    "overgeneration_mw",
    "reserve_mw",
    "system_lambda_usd_per_mwh",
    "scarcity_adder_usd_per_mwh",
    "price_usd_per_mwh",
    "avg_ci_g_per_kwh",
    "marginal_ci_g_per_kwh",
    "renewable_fraction",
    "emissions_t_co2",
    "fuel_cost_usd",
    "system_cost_usd",
)


def _clear(params: GridParams, prev_mw, exogenous: Exogenous, dc_load_mw, *, ramp: bool, online=None,
           gas_price=None) -> ClearingResult:
    fleet = params.fleet
    prev = np.ascontiguousarray(prev_mw, dtype=np.float64)
    if prev.ndim != 2 or prev.shape[1] != fleet.n_units:
        raise ValueError(f"state.dispatch_mw has shape {prev.shape}; expected [B, {fleet.n_units}]")
    nb = prev.shape[0]

    def _col(x, name):
        a = np.asarray(x, dtype=np.float64)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, nb)):
            raise ValueError(f"{name} has shape {a.shape}; expected a scalar or [{nb}]")
        return np.ascontiguousarray(np.broadcast_to(a, (nb,)))

    demand = _col(exogenous.demand_mw, "exogenous.demand_mw")
    avail = _col(np.asarray(exogenous.solar_mw) + np.asarray(exogenous.wind_mw), "exogenous renewables")
    dc = _col(dc_load_mw, "dc_load_mw")
    if online is not None:
        on = np.asarray(online)
        if on.dtype != np.bool_:
            raise ValueError(f"online has dtype {on.dtype}; expected bool")
        if on.shape not in ((fleet.n_units,), (nb, fleet.n_units)):
            raise ValueError(f"online has shape {on.shape}; expected [{nb}, {fleet.n_units}] or [{fleet.n_units}]")
        online = np.broadcast_to(on, (nb, fleet.n_units))
    if gas_price is not None:
        gas_price = _col(gas_price, "gas_price")
        bad = ~(np.isfinite(gas_price) & (gas_price > 0))
        if bad.any():
            raise ValueError(f"gas_price[{int(np.flatnonzero(bad)[0])}]={gas_price[bad][0]!r} is invalid: allowed a "
                             "finite price > 0 ($/MMBtu)")
    return clear_arrays(params, prev, demand, avail, dc, online, ramp=ramp, gas_price=gas_price)


_NO_ONLINE = np.ones((1, 1), dtype=np.bool_)
_NO_GAS = np.ones(1)


def clear_arrays(params: GridParams, prev: np.ndarray, demand: np.ndarray, avail: np.ndarray, dc: np.ndarray,
                 online: np.ndarray | None = None, *, ramp: bool = True,
                 gas_price: np.ndarray | None = None) -> ClearingResult:
    """:func:`clear` without input checks, for callers that already hold contiguous float64
    arrays (``prev [B, G]``, ``demand``/``avail``/``dc [B]``): the environment core.

    ``online`` (``[B, G]`` bool, any strides, or ``None``): the unit commitment of this step
    (:func:`gridshift.envs.grid.commitment.commit_schedule`). ``None`` keeps every unit online
    at or above ``min_output_mw`` (no commitment). Otherwise, with ``r`` the unit's ramp over
    one step and ``p`` its previous output:

    * a committed unit has bounds ``[max(pmin, p - r), min(cap, max(p + r, pmin))]``: a unit
      starting from 0 synchronises at its minimum output and can reach ``max(pmin, r)``
      within the step (its start-up capability);
    * a decommitted unit whose output is above its shut-down capability ``max(pmin, r)``
      follows its ramp down (``p - r``, forced output) and disconnects (0) once below it;
    * a ``fast_start`` unit is available every step whatever ``online`` says, with bounds
      ``[0 or p - r, min(cap, max(p + r, pmin))]``: its minimum output is relaxed to 0 (it
      starts or stops within a step; with or without ``online``, and for ``pmin = 0`` these
      are the bounds of any unit);
    * every start (output from 0 to > 0) adds the unit's ``startup_cost_usd`` to the step's
      fuel and system cost.

    ``gas_price`` (``[B]`` $/MMBtu or ``None``): the delivered gas price of each row; gas
    units with a known ``fuel_price_usd_per_mmbtu`` have their fuel cost (``a``, ``b - vom``,
    ``c``) rescaled by ``gas_price / fuel_price`` (offers and fuel cost alike).
    """
    fleet, market = params.fleet, params.market
    nb = prev.shape[0]
    ramp_step = params.ramp_step_mw() if ramp else np.full(fleet.n_units, np.inf)
    p = np.empty((nb, fleet.n_units))
    out = np.empty((len(_OUT_FIELDS), nb))
    uc = params.uc_arrays()
    has_online = online is not None
    on = np.ascontiguousarray(online, dtype=np.bool_) if has_online else _NO_ONLINE
    has_gas = gas_price is not None
    gp = np.ascontiguousarray(gas_price, dtype=np.float64) if has_gas else _NO_GAS
    ka, kbo, kbf, kc = params.kernel_costs()
    args = (
        prev, demand, avail, dc,
        fleet.capacity_mw, fleet.min_output_mw, ramp_step,
        ka, kbo, kbf, kc, fleet.emission_t_co2_per_mwh,
        market.step_hours, market.voll_usd_per_mwh, market.floor_price_usd_per_mwh,
        market.ordc_mu_mw, market.ordc_sigma_mw, market.carbon_price_usd_per_t,
        p, out,
        has_online, on, uc[0], uc[1], market.min_contingency_mw, has_gas, gp, uc[2], uc[3], uc[4],
    )
    if nb >= PARALLEL_MIN_ROWS:
        _clear_rows_parallel(*args, min(nb, 4 * numba.get_num_threads()))
    else:
        _clear_rows(*args)
    return ClearingResult(
        dispatch_mw=p,
        step_hours=market.step_hours,
        packed=out,
        **{name: out[i] for i, name in enumerate(_OUT_FIELDS)},
    )


def clear_unconstrained(params: GridParams, exogenous: Exogenous, dc_load_mw=0.0, online=None,
                        gas_price=None) -> ClearingResult:
    """Clearing with no ramp limits (bounds ``[min_output, capacity]``, or ``[0, 0]`` for
    units that ``online`` ``[B, G]`` leaves out): the day-ahead view.

    Used for day-ahead signals and forecasts, which an operator computes without the path
    of real-time dispatch (and, in gridshift, without the DCs' response). Rows are
    independent, so a ``[B, T]`` horizon can be cleared as ``B * T`` rows (with ``online``
    reshaped to ``[B * T, G]``).
    """
    fleet = params.fleet
    nb = np.atleast_1d(np.asarray(exogenous.demand_mw, dtype=np.float64)).shape[0]
    prev = np.broadcast_to(fleet.min_output_mw, (nb, fleet.n_units))
    return _clear(params, prev, exogenous, dc_load_mw, ramp=False, online=online, gas_price=gas_price)


#: Batches with at least this many rows are cleared in chunks, one thread per core.
PARALLEL_MIN_ROWS = 64
