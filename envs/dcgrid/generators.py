"""The simulator's input seams: what draws an episode's exogenous grid inputs and its jobs.

The core (:mod:`.core`) holds one :class:`ExogenousGenerator` and one :class:`WorkloadGenerator`
in its params and calls them at reset, in that order, with the episode's generator; it never
branches on where the inputs come from. Implementations:

* exogenous: :class:`gridshift.data.exogenous.SyntheticExogenous` (typical-day profiles with
  AR(1) noise) and :class:`gridshift.data.exogenous.RealExogenous` (a window of a real EIA-930
  year);
* workload: :class:`gridshift.envs.dcgrid.workload.SyntheticWorkload` (Poisson arrivals on the
  DCs' local clocks) and :class:`gridshift.data.traces_workload.TraceWorkload` (a real trace
  replayed).

:func:`gridshift.builder.make_params` is the one place that picks them from a scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from gridshift.envs.dcgrid.workload import JobTable


@dataclass(frozen=True, eq=False)
class ExogenousWindow:
    """The exogenous inputs of ``B`` episodes over ``T`` steps (MW), with each episode's month
    (1-12) and grid-local weekday of step 0 (0 = Monday)."""

    demand_mw: np.ndarray  # [B, T] non-DC demand
    solar_mw: np.ndarray  # [B, T] available solar
    wind_mw: np.ndarray  # [B, T] available wind
    month: np.ndarray  # [B]
    start_dow: np.ndarray  # [B]
    gas_price_usd_per_mmbtu: np.ndarray | None = None  # [B, T] delivered gas price, None = the fleet's own


@runtime_checkable
class ExogenousGenerator(Protocol):
    """Draws the exogenous inputs of a batch of episodes from ``rng``."""

    def sample(self, rng: np.random.Generator, batch: int, n_steps: int) -> ExogenousWindow: ...


@runtime_checkable
class WorkloadGenerator(Protocol):
    """Draws every job of a batch of episodes (warm-up included) from ``rng``: the job table
    is the ledger (:mod:`.workload`)."""

    def sample(self, rng: np.random.Generator, batch: int, start_dow: np.ndarray, total_steps: int) -> JobTable: ...
