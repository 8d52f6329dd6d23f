"""The grid market: typed params/state (:mod:`.types`), the copper-plate clearing
(:mod:`.copper_plate`) behind a small backend interface (:mod:`.backend`), and the day-ahead
unit commitment (:mod:`.commitment`)."""

from gridshift.envs.grid.backend import CopperPlateBackend, GridBackend
from gridshift.envs.grid.commitment import commit_schedule
from gridshift.envs.grid.copper_plate import clear, initial_state
from gridshift.envs.grid.types import (
    FUELS,
    ClearingResult,
    Exogenous,
    FleetParams,
    GridParams,
    GridState,
    MarketParams,
    ParamError,
)

__all__ = [
    "FUELS",
    "ClearingResult",
    "CopperPlateBackend",
    "Exogenous",
    "FleetParams",
    "GridBackend",
    "GridParams",
    "GridState",
    "MarketParams",
    "ParamError",
    "clear",
    "commit_schedule",
    "initial_state",
]
