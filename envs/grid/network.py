"""Network grid backend: DC optimal power flow with locational prices and carbon (DESIGN §3).

:class:`NetworkBackend` implements the :class:`~gridshift.envs.grid.backend.GridBackend`
protocol on a transmission network (:class:`~gridshift.envs.grid.network_params.NetworkParams`:
buses, lines with limits, a PTDF). It clears the same market as the copper plate
(:mod:`.copper_plate`): the same fleet and cost model (``a p^2 + b p + c``, offers with the
carbon adder when ``carbon_in_dispatch``), the same ramp-limited unit bounds (and commitment /
fast-start rules when ``online`` is given), renewables at zero cost, VOLL-priced unserved
energy and floor-priced over-generation, the ORDC scarcity adder. What the network adds:

* loads, renewables and units sit at buses; the exogenous load is spread by
  ``load_share`` (or given per bus, :class:`BusExogenous`), renewables by their shares, each DC
  at its bus (``dc_bus``); unserved energy is a slack at every bus (VOLL), over-generation a
  spill at every generator bus (cost ``-floor``, so its price is the floor);
* lossless DC power flow, ``|PTDF (injection - load)| <= F`` per line;
* per bus the LMP (the dual of the bus's balance), the LMCI, and per line the flow, the
  binding flag and the shadow price; the congestion rent per row.

**Exact quadratic costs.** Each row's OPF is a convex QP, solved exactly (not
piecewise-linearised) in up to five stages (``solve_path`` in the result, counts in
:attr:`NetworkBackend.stats`):

0. *fast path* (vectorised over the batch): the copper plate's dispatch
   (:func:`~gridshift.envs.grid.copper_plate.clear_arrays`) with renewables, unserved load and
   spill spread pro rata over their buses. If its flows are within every limit it is optimal
   for the OPF too (it is optimal for the relaxation without lines): no line binds and every
   LMP equals the system price.
1. *previous active set*: the binding lines and marginal resources of this row's last solve
   seed the exact active-set iteration of :mod:`.network_kkt`; a fixed point satisfies every
   KKT condition of the QP, so it is the optimum, found without an LP.
2. *copper-plate seed*: the same iteration from the copper plate's statuses with its
   overloaded lines put at their limits.
3. *LP + active set*: the HiGHS LP with piecewise-linear costs (:mod:`.network_opf`; one
   warm-started model per batch row, built once, only bounds and right-hand sides change)
   finds the active set, then the same exact iteration.
4. *fallback*: if that does not settle either, the LP's own solution (chord costs, the LP's
   duals as LMPs; error bounded by ``a_g cap_g / segments`` in price) is returned.

Stages 1-4 run row by row. A row whose optimum binds no line is the
copper plate's optimum, and keeps the copper plate's marginal CI at every bus (with its
conventions at degenerate points, e.g. when the price sits exactly on a unit's bound); rows
with a binding line get the LMCI of :mod:`.network_kkt`. Results do not depend on which
stage answered, except for ties between equal offers (the split between units offering the
same price at the same bus is pro rata, the copper plate's rule; between buses it is
whatever the solver finds).

DC loads: give the backend ``dc_bus`` (one bus per DC) and pass loads ``[B, N]`` per DC, as the
core's hot path does; without ``dc_bus`` the documented API takes DC loads per bus ``[B, n_bus]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.copper_plate import _OUT_FIELDS
from gridshift.envs.grid.network_opf import DEFAULT_SEGMENTS
from gridshift.envs.grid.network_params import NetworkParams
from gridshift.envs.grid.network_result import (
    PATH_NAMES,
    NetworkClearingResult,
    assemble,
    row_costs,
)
from gridshift.envs.grid.network_rows import RowSolver
from gridshift.envs.grid.types import Exogenous, GridParams, GridState, ParamError

#: Demand used to read the units' upper bounds off the copper plate (see :meth:`NetworkBackend.unit_bounds`).
_BIG_MW = 1e12
#: Relative slack on line limits when accepting the copper plate's dispatch (fast path).
_FAST_TOL = 1e-7


@numba.njit(cache=True, nogil=True)
def _spread_flows(p, gen_bus, ren, uns, f_spill, load, ptdf, spill, flow):  # pragma: no cover - compiled
    """Spill (``f_spill`` of each bus's thermal output) and line flows of the copper plate's
    dispatch spread over the buses. A loop rather than two matrix products: NumPy's BLAS
    threads for ``[B, n] @ [n, m]`` at B = 64 cost 5-10x more than the work on a busy 2-core
    machine (measured)."""
    nb, nbus = load.shape
    inj = np.empty(nbus)
    for r in range(nb):
        for k in range(nbus):
            spill[r, k] = 0.0
        for g in range(p.shape[1]):
            spill[r, gen_bus[g]] += p[r, g]
        for k in range(nbus):
            gk = spill[r, k]
            spill[r, k] = gk * f_spill[r]
            inj[k] = gk - spill[r, k] + ren[r, k] + uns[r, k] - load[r, k]
        for ln in range(ptdf.shape[0]):
            acc = 0.0
            for k in range(nbus):
                acc += ptdf[ln, k] * inj[k]
            flow[r, ln] = acc


@dataclass(frozen=True, eq=False)
class BusExogenous:
    """Exogenous inputs given per bus, each ``[B, n_bus]`` MW (instead of system totals spread by shares)."""

    demand_mw: np.ndarray
    solar_mw: np.ndarray
    wind_mw: np.ndarray

    def __post_init__(self) -> None:
        shape = None
        for k in ("demand_mw", "solar_mw", "wind_mw"):
            a = np.asarray(getattr(self, k), dtype=np.float64)
            if a.ndim == 1:
                a = a[None, :]
            if a.ndim != 2 or (shape is not None and a.shape != shape):
                raise ParamError(f"BusExogenous.{k} has shape {a.shape}: allowed [B, n_bus], the same for all three")
            bad = ~np.isfinite(a) | (a < 0)
            if bad.any():
                i = tuple(int(v) for v in np.argwhere(bad)[0])
                raise ParamError(f"BusExogenous.{k}[{i}]={a[i]!r} is invalid: allowed a finite value >= 0 (MW)")
            shape = a.shape
            object.__setattr__(self, k, a)

    def totals(self) -> Exogenous:
        return Exogenous(self.demand_mw.sum(axis=1), self.solar_mw.sum(axis=1), self.wind_mw.sum(axis=1))


@dataclass(frozen=True)
class NetworkOptions:
    """Solver settings of :class:`NetworkBackend` (none changes the optimum, only how it is found)."""

    fast_path: bool = True
    """Accept the copper plate's dispatch when its flows are within every limit."""
    reuse_active_set: bool = True
    """Before the LP, try each row's previous active set, then the one of the copper plate's
    dispatch (``False``: always the LP)."""
    segments: int = DEFAULT_SEGMENTS
    """Linear segments per quadratic unit in the LP (finds the active set; fallback answer)."""

    def __post_init__(self) -> None:
        if not (isinstance(self.segments, int) and 1 <= self.segments <= 100):
            raise ParamError(f"NetworkOptions.segments={self.segments!r} is invalid: allowed an integer in [1, 100]")


class NetworkBackend:
    """DC-OPF market clearing on a network, vectorised over a batch (module docstring).

    Args:
        params: fleet and market rules, shared with the copper plate.
        network: buses and lines; ``network.gen_bus`` places the fleet's units (same order).
        dc_bus: bus (index or id) of each DC, for loads given per DC ``[B, N]``.
        options: solver settings.
    """

    def __init__(self, params: GridParams, network: NetworkParams, *, dc_bus: Sequence[int | str] | None = None,
                 options: NetworkOptions | None = None):
        if network.n_units != params.fleet.n_units:
            raise ParamError(f"network.gen_bus has {network.n_units} units: allowed {params.fleet.n_units} (one bus "
                             "per unit of params.fleet, same order)")
        self.params, self.network = params, network
        self.options = options or NetworkOptions()
        self.dc_bus = None if dc_bus is None else np.array(
            [network.bus_index(b) if isinstance(b, str) else self._bus_idx(int(b)) for b in dc_bus], np.int64)
        self.rows = RowSolver(params, network, self.options)

    def _bus_idx(self, b: int) -> int:
        if not 0 <= b < self.network.n_bus:
            raise ParamError(f"dc_bus={b!r} is invalid: allowed a bus index in [0, {self.network.n_bus}) or a bus id")
        return b

    @property
    def stats(self) -> dict:
        """Rows solved per path (``fast``, ``reuse``, ``seeded``, ``lp``, ``fallback``), rows with a
        binding line, seconds in HiGHS (``lp_s``) and in the active-set kernel (``kkt_s``), simplex
        iterations; since the last :meth:`reset_stats`."""
        return self.rows.stats

    def reset_stats(self) -> None:
        self.rows.reset_stats()

    def warm_up(self) -> None:
        """Compile (or load from Numba's cache) the kernels and run HiGHS once, so that the first
        congested step of a timed run does not pay for it. Results are not affected."""
        net = self.network
        self.rows.warm_up()
        z = np.zeros((1, net.n_bus))
        lo = np.asarray(self.params.fleet.min_output_mw, dtype=np.float64)[None]
        _spread_flows(lo, net.gen_bus, z, z, np.zeros(1), z, net.ptdf, z.copy(), np.zeros((1, net.n_line)))

    # ------------------------------------------------------------------ documented API
    def initial_state(self, exogenous: Exogenous | BusExogenous, dc_load_mw=0.0, online=None,
                      gas_price=None) -> GridState:
        """A starting dispatch: the OPF of the first step without ramp limits."""
        nb = self._rows(exogenous)
        prev = np.ascontiguousarray(np.broadcast_to(self.params.fleet.min_output_mw, (nb, self.params.fleet.n_units)))
        res = self._clear_checked(prev, exogenous, dc_load_mw, online, gas_price, ramp=False)
        return GridState(dispatch_mw=res.dispatch_mw)

    def clear(self, state: GridState, exogenous: Exogenous | BusExogenous, dc_load_mw=0.0, online=None,
              gas_price=None) -> tuple[GridState, NetworkClearingResult]:
        """Clear one step for ``B`` grids. ``exogenous``: system totals ``[B]`` (spread by the
        network's shares) or :class:`BusExogenous`; ``dc_load_mw``: ``[B, N]`` per DC when the
        backend has ``dc_bus``, else ``[B, n_bus]`` per bus (a scalar: the same everywhere)."""
        prev = np.ascontiguousarray(state.dispatch_mw, dtype=np.float64)
        if prev.ndim != 2 or prev.shape[1] != self.params.fleet.n_units:
            raise ParamError(f"state.dispatch_mw has shape {prev.shape}: allowed [B, {self.params.fleet.n_units}]")
        res = self._clear_checked(prev, exogenous, dc_load_mw, online, gas_price, ramp=True)
        return GridState(dispatch_mw=res.dispatch_mw), res

    def _rows(self, exogenous) -> int:
        return int(np.atleast_1d(np.asarray(exogenous.demand_mw)).shape[0])

    def _clear_checked(self, prev, exogenous, dc_load_mw, online, gas_price, *, ramp):
        nb = prev.shape[0]
        net = self.network
        if isinstance(exogenous, BusExogenous):
            if exogenous.demand_mw.shape != (nb, net.n_bus):
                raise ParamError(f"exogenous.demand_mw has shape {exogenous.demand_mw.shape}: allowed "
                                 f"[{nb}, {net.n_bus}] (B rows, one column per bus)")
            bus_demand = exogenous.demand_mw
            bus_avail = exogenous.solar_mw + exogenous.wind_mw
        else:
            cols = {}
            for k in ("demand_mw", "solar_mw", "wind_mw"):
                a = np.broadcast_to(np.atleast_1d(np.asarray(getattr(exogenous, k), dtype=np.float64)), (nb,))
                bad = ~np.isfinite(a) | (a < 0)
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise ParamError(f"exogenous.{k}[{i}]={a[i]!r} is invalid: allowed a finite value >= 0 (MW)")
                cols[k] = a
            bus_demand = cols["demand_mw"][:, None] * net.load_share
            bus_avail = self._spread_renewables(cols["solar_mw"], cols["wind_mw"])
        bus_dc = self.dc_per_bus(dc_load_mw, nb, checked=True)
        if online is not None:
            online = np.broadcast_to(np.asarray(online, dtype=np.bool_), prev.shape)
        if gas_price is not None:
            gas_price = np.ascontiguousarray(np.broadcast_to(np.asarray(gas_price, dtype=np.float64), (nb,)))
            if not (np.isfinite(gas_price) & (gas_price > 0)).all():
                raise ParamError(f"gas_price={gas_price!r} is invalid: allowed finite prices > 0 ($/MMBtu)")
        return self.clear_bus_arrays(prev, np.ascontiguousarray(bus_demand), np.ascontiguousarray(bus_avail), bus_dc,
                                     online, gas_price, ramp=ramp)

    def _spread_renewables(self, solar: np.ndarray, wind: np.ndarray) -> np.ndarray:
        net = self.network
        s_share = net.solar_share if net.solar_share.sum() > 0 else net.renewable_share
        w_share = net.wind_share if net.wind_share.sum() > 0 else net.renewable_share
        return solar[:, None] * s_share + wind[:, None] * w_share

    def dc_per_bus(self, dc_load_mw, nb: int, *, checked: bool = False) -> np.ndarray:
        """DC loads ``[nb, n_bus]`` per bus from loads per DC ``[nb, N]`` (with ``dc_bus``) or per
        bus; a scalar or a 1-D row is broadcast. ``checked``: finite and >= 0 or ``ParamError``."""
        nbus = self.network.n_bus
        per_dc = self.dc_bus is not None
        width = self.dc_bus.size if per_dc else nbus
        a = np.asarray(dc_load_mw, dtype=np.float64)
        if a.ndim == 0:
            a = np.full((nb, width), float(a))
        elif a.ndim == 1 and a.shape[0] == width:
            a = np.broadcast_to(a, (nb, width))
        if a.shape != (nb, width):
            what = (f"[{nb}, {width}] (one column per DC of dc_bus), [{width}] or a scalar" if per_dc else
                    f"[{nb}, {width}] (per bus; give the backend dc_bus for loads per DC), [n_bus] or a scalar")
            raise ParamError(f"dc_load_mw has shape {a.shape}: allowed {what}")
        if per_dc:
            out = np.zeros((nb, nbus))
            np.add.at(out.T, self.dc_bus, a.T)
        else:
            out = np.array(a, dtype=np.float64)
        if checked:
            bad = ~np.isfinite(out) | (out < 0)
            if bad.any():
                raise ParamError(f"dc_load_mw contains {out[bad][0]!r}: allowed finite loads >= 0 (MW)")
        return out

    # ------------------------------------------------------------------ the core's hot path
    def initial_dispatch(self, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                         online: np.ndarray | None = None, gas_price: np.ndarray | None = None,
                         solar: np.ndarray | None = None) -> np.ndarray:
        """``[B, G]`` starting dispatch for per-DC loads ``[B, N]`` (no ramp limits)."""
        nb = demand.shape[0]
        prev = np.ascontiguousarray(np.broadcast_to(self.params.fleet.min_output_mw, (nb, self.params.fleet.n_units)))
        return self.clear_step(prev, demand, avail, dc_load_mw, online, gas_price, ramp=False, solar=solar).dispatch_mw

    def clear_step(self, prev: np.ndarray, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                   online: np.ndarray | None = None, gas_price: np.ndarray | None = None, *, ramp: bool = True,
                   solar: np.ndarray | None = None) -> NetworkClearingResult:
        """One step: ``prev [B, G]``, ``demand``/``avail [B]`` system totals, DC loads ``[B, N]``.
        ``avail`` is spread by ``renewable_share``, or by the solar and wind shares when
        ``solar`` (the solar part of ``avail``) is given."""
        net = self.network
        bus_demand = demand[:, None] * net.load_share
        if solar is None:
            bus_avail = avail[:, None] * net.renewable_share
        else:
            bus_avail = self._spread_renewables(solar, np.maximum(avail - solar, 0.0))
        return self.clear_bus_arrays(prev, bus_demand, bus_avail, self.dc_per_bus(dc_load_mw, prev.shape[0]),
                                     online, gas_price, ramp=ramp)

    def day_ahead(self, demand: np.ndarray, solar: np.ndarray, wind: np.ndarray, dc_load_mw: float,
                  online: np.ndarray | None = None, gas_price: np.ndarray | None = None) -> NetworkClearingResult:
        """OPF without ramp limits of a flat series of steps (day-ahead signals). The expected DC
        load is split equally among the DCs (by ``load_share`` without ``dc_bus``)."""
        demand = np.atleast_1d(np.asarray(demand, dtype=np.float64))
        nb = demand.shape[0]
        net = self.network
        if self.dc_bus is not None:
            dc = self.dc_per_bus(np.full(self.dc_bus.size, float(dc_load_mw) / self.dc_bus.size), nb)
        else:
            dc = np.broadcast_to(float(dc_load_mw) * net.load_share, (nb, net.n_bus))
        prev = np.ascontiguousarray(np.broadcast_to(self.params.fleet.min_output_mw, (nb, self.params.fleet.n_units)))
        bus_avail = self._spread_renewables(np.broadcast_to(solar, (nb,)), np.broadcast_to(wind, (nb,)))
        return self.clear_bus_arrays(prev, demand[:, None] * net.load_share, bus_avail, dc, online, gas_price,
                                     ramp=False, pool="da")

    def dc_price(self, result: NetworkClearingResult, n_dcs: int) -> np.ndarray:
        """The price each DC pays, ``[B, N]``: the LMP of its bus."""
        return result.lmp_usd_per_mwh[:, self._dc_cols(n_dcs)]

    def dc_marginal_ci(self, result: NetworkClearingResult, n_dcs: int) -> np.ndarray:
        """The marginal carbon intensity each DC sees, ``[B, N]``: the LMCI of its bus (gCO2/kWh)."""
        return result.lmci_g_per_kwh[:, self._dc_cols(n_dcs)]

    def _dc_cols(self, n_dcs: int) -> np.ndarray:
        if self.dc_bus is None or self.dc_bus.size != n_dcs:
            have = None if self.dc_bus is None else self.dc_bus.size
            raise ParamError(f"n_dcs={n_dcs!r} is invalid: the backend places {have} DCs (dc_bus)")
        return self.dc_bus

    # ------------------------------------------------------------------ the clearing
    def unit_bounds(self, prev: np.ndarray, online=None, *, ramp: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, hi)`` ``[B, G]`` unit bounds of this step, read off the copper plate itself (its
        dispatch at zero load is ``lo``, at unbounded load ``hi``), so both backends share one
        rule for ramp limits, commitment and fast-start units."""
        nb = prev.shape[0]
        z = np.zeros(nb)
        lo = copper_plate.clear_arrays(self.params, prev, z, z, z, online, ramp=ramp).dispatch_mw
        hi = copper_plate.clear_arrays(self.params, prev, np.full(nb, _BIG_MW), z, z, online, ramp=ramp).dispatch_mw
        return lo, np.maximum(hi, lo)

    def clear_bus_arrays(self, prev: np.ndarray, bus_demand: np.ndarray, bus_avail: np.ndarray, bus_dc: np.ndarray,
                         online: np.ndarray | None = None, gas_price: np.ndarray | None = None, *, ramp: bool = True,
                         pool: str = "rt") -> NetworkClearingResult:
        """The clearing on per-bus arrays ``[B, n_bus]`` (no input checks): every API ends here.
        ``pool`` names the warm-start pool (``"rt"``: one LP per batch row; ``"da"``: one LP for
        a series, each step seeded by the previous one)."""
        params, net = self.params, self.network
        nb, nbus = prev.shape[0], net.n_bus
        bus_load = bus_demand + bus_dc
        avail_tot = bus_avail.sum(axis=1)
        load_tot = bus_load.sum(axis=1)
        cp = copper_plate.clear_arrays(params, prev, np.ascontiguousarray(bus_demand.sum(axis=1)),
                                       np.ascontiguousarray(avail_tot), np.ascontiguousarray(bus_dc.sum(axis=1)),
                                       online, ramp=ramp, gas_price=gas_price)
        # Stage 0: the copper plate's dispatch, with renewables, unserved load and spill spread
        # pro rata over their buses (spill happens only with every unit at its lower bound).
        p = cp.dispatch_mw
        ren = bus_avail * np.divide(cp.renewable_used_mw, avail_tot, out=np.zeros(nb), where=avail_tot > 0)[:, None]
        uns = bus_load * np.divide(cp.unserved_mw, load_tot, out=np.zeros(nb), where=load_tot > 0)[:, None]
        thermal = cp.thermal_mw
        f_spill = np.divide(cp.overgeneration_mw, thermal, out=np.zeros(nb), where=thermal > 0)
        spill = np.empty((nb, nbus))
        flow = np.empty((nb, net.n_line))
        _spread_flows(p, net.gen_bus, ren, uns, f_spill, bus_load, net.ptdf, spill, flow)
        lim = net.line_limit_mw
        if self.options.fast_path:
            ok = (np.abs(flow) <= lim * (1 + _FAST_TOL) + _FAST_TOL).all(axis=1)
        else:
            ok = np.zeros(nb, bool)
        price = np.repeat(cp.system_lambda_usd_per_mwh[:, None], nbus, axis=1)
        lmp = np.repeat(cp.price_usd_per_mwh[:, None], nbus, axis=1)
        lmci = np.repeat(cp.marginal_ci_g_per_kwh[:, None] / 1000.0, nbus, axis=1)
        eta = np.zeros((nb, net.n_line))
        path = np.zeros(nb, np.int8)
        packed, rent = cp.packed, np.zeros(nb)
        nf = np.flatnonzero(~ok)
        if nf.size:
            p, packed = p.copy(), packed.copy()
            on = None if online is None else np.asarray(online)[nf]
            lo, hi = self.unit_bounds(np.ascontiguousarray(prev[nf]), on, ramp=ramp)
            costs = row_costs(params, nf.size, None if gas_price is None else gas_price[nf])
            for k, r in enumerate(nf):
                cp_point = (p[r], ren[r], uns[r], spill[r], flow[r])
                sol = self.rows.solve((pool, int(r)) if pool == "rt" else (pool, 0), lo[k], hi[k],
                                      [c[k] for c in costs], bus_load[r], bus_avail[r], cp_point)
                p[r], ren[r], uns[r], spill[r], price[r], eta[r], lmci_r, flow[r], path[r] = sol
                if (eta[r] != 0.0).any():  # else the copper plate's optimum: keep its marginal CI (tie rules)
                    lmci[r] = lmci_r
            packed[:, nf], lmp[nf], rent[nf] = assemble(
                params, gen_map=self.rows.gen_map, p=p[nf], prev=prev[nf], hi=hi, online=on, costs=costs,
                bus_load=bus_load[nf], bus_avail=bus_avail[nf], ren_used=ren[nf], unserved=uns[nf], spill=spill[nf],
                price=price[nf], lmci=lmci[nf])
        binding = np.abs(flow) >= lim * (1 - 1e-6)
        st = self.stats
        st["rows"] += nb
        for k, name in enumerate(PATH_NAMES):
            st[name] += int((path == k).sum())
        st["binding_rows"] += int(binding.any(axis=1).sum())
        return NetworkClearingResult(
            dispatch_mw=p, step_hours=params.market.step_hours, packed=packed,
            **{k: packed[i] for i, k in enumerate(_OUT_FIELDS)},
            lmp_usd_per_mwh=lmp, energy_lmp_usd_per_mwh=price, lmci_g_per_kwh=1000.0 * lmci, flow_mw=flow,
            binding=binding, line_shadow_usd_per_mwh=eta, congestion_rent_usd=rent, bus_load_mw=bus_load,
            bus_unserved_mw=uns, solve_path=path)
