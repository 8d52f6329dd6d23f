"""The network backend's result type and its system-level accounting (:mod:`.network`).

:class:`NetworkClearingResult` is a :class:`~gridshift.envs.grid.types.ClearingResult` (same
``[B]`` system fields, same ``packed`` row order, so code written for the copper plate reads
it unchanged) with the network's per-bus and per-line fields added.

System-level conventions (documented choices where a network has no single answer):

* ``system_lambda_usd_per_mwh``: the **load-weighted average** of the energy LMPs
  ``sum_k load_k pi_k / sum_k load_k`` (loads include the DCs), clamped to
  ``[floor, VOLL]`` like the copper plate's lambda; with no binding line every ``pi_k`` is the
  copper plate's lambda.
* Scarcity: the copper plate's ORDC on the *system* reserve ``H = sum_g (hi_g - p_g)``
  (deliverability of reserve across lines is not modelled), ``adder = (VOLL - lambda) LOLP(H)``
  added uniformly to every bus; each LMP is then clamped to ``[floor, VOLL]`` (the market's
  offer floor and price cap). ``price_usd_per_mwh`` is the load-weighted average of those
  LMPs and ``scarcity_adder_usd_per_mwh = price - lambda``, as on the copper plate.
* ``marginal_ci_g_per_kwh``: the load-weighted average LMCI, i.e. ``d(emissions)/d(load)``
  for an increment spread like the load.
* Fuel cost, emissions, start-up costs, renewable fraction and average CI: the copper plate's
  formulas (:func:`gridshift.envs.grid.copper_plate.clear_arrays`) on the network dispatch.
* ``congestion_rent_usd``: the merchandising surplus over the step,
  ``dt * sum_k pi_k (withdrawal_k - injection_k)`` on the energy LMPs (unserved load counts as
  an injection, spill as a withdrawal), which equals ``dt * sum_l |eta_l| F_l`` at an optimum
  (tested); 0 when no line binds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc

from gridshift.envs.grid.copper_plate import _OUT_FIELDS
from gridshift.envs.grid.types import ClearingResult, GridParams

#: ``solve_path`` codes: how each row was solved.
PATH_FAST, PATH_REUSE, PATH_SEEDED, PATH_LP, PATH_FALLBACK = 0, 1, 2, 3, 4
PATH_NAMES = ("fast", "reuse", "seeded", "lp", "fallback")


@dataclass(frozen=True, eq=False, kw_only=True)
class NetworkClearingResult(ClearingResult):
    """A :class:`ClearingResult` plus the network's fields (module docstring for conventions)."""

    lmp_usd_per_mwh: np.ndarray
    """[B, n_bus] locational marginal price incl. the uniform scarcity adder, in [floor, VOLL]."""
    energy_lmp_usd_per_mwh: np.ndarray
    """[B, n_bus] the OPF's bus duals ``pi`` before the adder and the clamp."""
    lmci_g_per_kwh: np.ndarray
    """[B, n_bus] locational marginal carbon intensity d(emissions)/d(load at the bus)."""
    flow_mw: np.ndarray
    """[B, n_line] flow from ``line_from`` to ``line_to``."""
    binding: np.ndarray
    """[B, n_line] bool: the line is at its limit."""
    line_shadow_usd_per_mwh: np.ndarray
    """[B, n_line] ``eta_l``: > 0 at ``+F``, < 0 at ``-F``, 0 when not binding."""
    congestion_rent_usd: np.ndarray
    """[B] merchandising surplus over the step (module docstring)."""
    bus_load_mw: np.ndarray
    """[B, n_bus] exogenous + DC load at each bus."""
    bus_unserved_mw: np.ndarray
    """[B, n_bus] load shed at each bus."""
    solve_path: np.ndarray
    """[B] int8: 0 fast path (copper plate feasible), 1 previous active set, 2 active set seeded by the
    copper plate's dispatch, 3 LP + active set, 4 LP fallback (see :mod:`.network`)."""

    def row(self, i: int) -> dict[str, float]:
        """Scalars of batch element ``i`` (the ``[B]`` fields only)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("step_hours", "packed") or not isinstance(v, np.ndarray) or v.ndim != 1:
                continue
            out[f.name] = float(v[i])
        return out


def row_costs(params: GridParams, nb: int, gas_price: np.ndarray | None):
    """``(a, b_offer, b_fuel, c)`` each ``[B, G]`` for this step, with gas units' fuel cost rescaled
    by ``gas_price / fuel_price`` exactly as the copper-plate kernel does (``b_offer = b_fuel +
    carbon adder``); without a gas price, the fleet's own (broadcast, read-only)."""
    f = params.fleet
    a0, bf0, c0 = f.cost_a_usd_per_mw2h, f.cost_b_usd_per_mwh, f.cost_c_usd_per_h
    bo0 = params.offer_b_cached()
    g = f.n_units
    if gas_price is None:
        return tuple(np.broadcast_to(x, (nb, g)) for x in (a0, bo0, bf0, c0))
    _, _, inv_fp, vom, carb = params.uc_arrays()
    gas = inv_fp > 0.0
    fac = np.asarray(gas_price, dtype=np.float64)[:, None] * inv_fp[None, :]
    a = np.where(gas, a0 * fac, a0)
    bf = np.where(gas, (bf0 - vom) * fac + vom, bf0)
    bo = np.where(gas, bf + carb, bo0)
    c = np.where(gas, c0 * fac, c0)
    return a, bo, bf, c


def assemble(params: GridParams, *, gen_map, p, prev, hi, online, costs, bus_load, bus_avail, ren_used, unserved, spill,
             price, lmci) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """System fields of network solutions (module docstring), all arrays batched ``[n, ...]``:
    ``(packed [17, n]`` in the copper plate's row order, ``lmp [n, n_bus]``, ``congestion rent [n])``.
    ``gen_map`` is the ``[G, n_bus]`` unit-to-bus 0/1 matrix."""
    m = params.market
    dt = m.step_hours
    a, _, bf, c = costs
    fleet = params.fleet
    load_tot = bus_load.sum(axis=1)
    w = np.where(load_tot[:, None] > 0, bus_load, 1.0)
    w = w / w.sum(axis=1, keepdims=True)
    lam = np.clip((w * price).sum(axis=1), m.floor_price_usd_per_mwh, m.voll_usd_per_mwh)
    thermal = p.sum(axis=1)
    reserve = np.maximum(hi.sum(axis=1) - thermal, 0.0)
    x_min = m.min_contingency_mw
    lolp = 0.5 * erfc((reserve - x_min - m.ordc_mu_mw) / (m.ordc_sigma_mw * math.sqrt(2.0)))  # 1 - Phi(z)
    if x_min > 0.0:
        lolp = np.where(reserve <= x_min, 1.0, lolp)
    adder = np.maximum(m.voll_usd_per_mwh - lam, 0.0) * lolp
    lmp = np.clip(price + adder[:, None], m.floor_price_usd_per_mwh, m.voll_usd_per_mwh)
    sys_price = (w * lmp).sum(axis=1)
    used = ren_used.sum(axis=1)
    avail = bus_avail.sum(axis=1)
    gen = thermal + used
    emis_rate = p @ fleet.emission_t_co2_per_mwh
    fuel_rate = (a * p * p + bf * p + np.where(p > 0.0, c, 0.0)).sum(axis=1)
    start = np.zeros_like(thermal)
    if online is not None:
        start = np.where((p > 0.0) & (prev <= 0.0), fleet.startup_cost_usd, 0.0).sum(axis=1)
    emissions = emis_rate * dt
    fuel_cost = fuel_rate * dt + start
    uns = unserved.sum(axis=1)
    safe = np.where(gen > 0, gen, 1.0)
    inj = ren_used + unserved - spill + p @ gen_map
    rent = dt * (price * (bus_load - inj)).sum(axis=1)
    fields = {
        "total_demand_mw": load_tot,
        "thermal_mw": thermal,
        "renewable_available_mw": avail,
        "renewable_used_mw": used,
        "curtailment_mw": np.maximum(avail - used, 0.0),
        "unserved_mw": uns,
        "overgeneration_mw": spill.sum(axis=1),
        "reserve_mw": reserve,
        "system_lambda_usd_per_mwh": lam,
        "scarcity_adder_usd_per_mwh": sys_price - lam,
        "price_usd_per_mwh": sys_price,
        "avg_ci_g_per_kwh": np.where(gen > 0, 1000.0 * emis_rate / safe, 0.0),
        "marginal_ci_g_per_kwh": 1000.0 * (w * lmci).sum(axis=1),
        "renewable_fraction": np.where(gen > 0, used / safe, 0.0),
        "emissions_t_co2": emissions,
        "fuel_cost_usd": fuel_cost,
        "system_cost_usd": fuel_cost + m.voll_usd_per_mwh * uns * dt + m.carbon_price_usd_per_t * emissions,
    }
    return np.stack([fields[k] for k in _OUT_FIELDS]), lmp, rent
