"""The grid market: typed params/state (:mod:`.types`), the copper-plate clearing
(:mod:`.copper_plate`) and the network DC-OPF (:mod:`.network`) behind one backend interface
(:mod:`.backend`), and the day-ahead unit commitment (:mod:`.commitment`). The network names
are imported on first use (they load HiGHS)."""

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

_NETWORK = {"BusExogenous": "network", "NetworkBackend": "network", "NetworkOptions": "network",
            "NetworkParams": "network_params", "NetworkClearingResult": "network_result"}


def __getattr__(name):
    if name in _NETWORK:
        import importlib

        return getattr(importlib.import_module(f"gridshift.envs.grid.{_NETWORK[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BusExogenous",
    "NetworkBackend",
    "NetworkClearingResult",
    "NetworkOptions",
    "NetworkParams",
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
