"""The grid backend interface (DESIGN §3) and the copper-plate backend.

A backend binds a grid's static params and exposes two pure calls; the environment owns
the state. A network backend (zones, line limits, LMPs) will implement the same protocol.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.types import ClearingResult, Exogenous, GridParams, GridState


@runtime_checkable
class GridBackend(Protocol):
    """``clear(state, exogenous, dc_load_mw) -> (next_state, result)`` for a batch of grids."""

    params: GridParams

    def initial_state(self, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0) -> GridState: ...

    def clear(
        self, state: GridState, exogenous: Exogenous, dc_load_mw: np.ndarray | float = 0.0
    ) -> tuple[GridState, ClearingResult]: ...


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
