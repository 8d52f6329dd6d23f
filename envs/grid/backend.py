"""The grid backend interface (DESIGN §3) and the copper-plate backend.

A backend binds a grid's static params and exposes pure calls; the environment owns the
state. The environment core talks to the grid only through this interface
(:attr:`gridshift.envs.dcgrid.core.CoreParams.backend`), so a network backend (buses, line
limits, locational prices) replaces the copper plate without touching the core.

Two levels:

* ``initial_state`` / ``clear``: the documented, checked API on :class:`Exogenous` inputs with
  the DCs' aggregate load (one system), for users and tests;
* ``initial_dispatch`` / ``clear_step`` / ``day_ahead`` / ``dc_price``: the hot path the core
  calls every step with contiguous arrays and **per-DC** loads ``[B, N]`` (a network backend
  places each DC at its bus; the copper plate sums them). ``dc_price`` is the price each DC
  pays and observes, ``[B, N]``: the system price on a copper plate, the LMP of the DC's bus
  on a network; ``dc_marginal_ci`` likewise the marginal carbon intensity (the LMCI).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.types import ClearingResult, Exogenous, GridParams, GridState


@runtime_checkable
class GridBackend(Protocol):
    """``clear(state, exogenous, dc_load_mw) -> (next_state, result)`` for a batch of grids,
    plus the core's per-DC hot path (see the module docstring)."""

    params: GridParams

    def initial_state(self, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0) -> GridState: ...

    def clear(
        self, state: GridState, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0
    ) -> tuple[GridState, ClearingResult]: ...

    def initial_dispatch(self, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                         online: np.ndarray | None = None, gas_price: np.ndarray | None = None,
                         solar: np.ndarray | None = None) -> np.ndarray: ...

    def clear_step(self, prev: np.ndarray, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                   online: np.ndarray | None = None, gas_price: np.ndarray | None = None, *,
                   solar: np.ndarray | None = None) -> ClearingResult: ...

    def day_ahead(self, demand: np.ndarray, solar: np.ndarray, wind: np.ndarray, dc_load_mw: float,
                  online: np.ndarray | None = None, gas_price: np.ndarray | None = None) -> ClearingResult: ...

    def dc_price(self, result: ClearingResult, n_dcs: int) -> np.ndarray: ...

    def dc_marginal_ci(self, result: ClearingResult, n_dcs: int) -> np.ndarray: ...


class CopperPlateBackend:
    """One system price for the whole grid, vectorised over the batch axis."""

    def __init__(self, params: GridParams):
        self.params = params

    def initial_state(self, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0) -> GridState:
        return copper_plate.initial_state(self.params, exogenous, dc_load_mw)

    def clear(
        self, state: GridState, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0
    ) -> tuple[GridState, ClearingResult]:
        return copper_plate.clear(self.params, state, exogenous, dc_load_mw)

    # ------------------------------------------------------------ the core's hot path
    def initial_dispatch(self, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                         online: np.ndarray | None = None, gas_price: np.ndarray | None = None,
                         solar: np.ndarray | None = None) -> np.ndarray:
        """``[B, G]`` starting dispatch for per-DC loads ``[B, N]`` (no ramp limits; committed
        units only when ``online [B, G]`` is given; ``solar`` only matters on a network)."""
        del solar
        ex = Exogenous(demand, avail, np.zeros_like(avail))
        return copper_plate.initial_state(self.params, ex, np.asarray(dc_load_mw).sum(axis=-1), **_kw(online, gas_price)
                                          ).dispatch_mw

    def clear_step(self, prev: np.ndarray, demand: np.ndarray, avail: np.ndarray, dc_load_mw: np.ndarray,
                   online: np.ndarray | None = None, gas_price: np.ndarray | None = None, *,
                   solar: np.ndarray | None = None) -> ClearingResult:
        """One step for ``B`` grids: ``prev [B, G]``, ``demand``/``avail [B]``, DC loads ``[B, N]``.
        ``solar`` (the solar part of ``avail``) only matters on a network, where solar and wind
        sit at different buses."""
        del solar
        return copper_plate.clear_arrays(self.params, prev, demand, avail, dc_load_mw.sum(axis=1), **_kw(online, gas_price))

    def day_ahead(self, demand: np.ndarray, solar: np.ndarray, wind: np.ndarray, dc_load_mw: float,
                  online: np.ndarray | None = None, gas_price: np.ndarray | None = None) -> ClearingResult:
        """Clearing without ramp limits of a flat series of steps (day-ahead signals); with a
        commitment ``online [rows, G]``, of the committed units."""
        return copper_plate.clear_unconstrained(self.params, Exogenous(demand, solar, wind), dc_load_mw,
                                                **_kw(online, gas_price))

    def dc_price(self, result: ClearingResult, n_dcs: int) -> np.ndarray:
        """The price each DC pays, ``[B, N]``: the system price (a read-only broadcast)."""
        p = result.price_usd_per_mwh
        return np.broadcast_to(p[:, None], (p.shape[0], n_dcs))

    def dc_marginal_ci(self, result: ClearingResult, n_dcs: int) -> np.ndarray:
        """The marginal carbon intensity each DC's load meets, ``[B, N]`` gCO2/kWh: the system's."""
        c = result.marginal_ci_g_per_kwh
        return np.broadcast_to(c[:, None], (c.shape[0], n_dcs))


def _kw(online, gas_price) -> dict:
    """Only the keywords that are set, so a backend without commitment support is called as before."""
    kw = {}
    if online is not None:
        kw["online"] = online
    if gas_price is not None:
        kw["gas_price"] = gas_price
    return kw
