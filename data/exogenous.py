"""Exogenous generators of the simulator (:class:`~gridshift.envs.dcgrid.generators.ExogenousGenerator`):
the non-DC demand and the renewable availability of each episode.

* :class:`SyntheticExogenous`: the packaged typical-day profiles (EIA-930 ERCO 2022,
  :mod:`gridshift.data.profiles`) with seeded AR(1) noise, sized by the scenario
  (:func:`gridshift.data.synthetic.exogenous_days`);
* :class:`RealExogenous`: one window of a real BA-year per episode (``Scenario.grid_data``,
  :mod:`gridshift.data.scenario_builder`), starting at local midnight of a day drawn from the
  seed; the profiles are read once per process (cached).
"""

from __future__ import annotations

import numpy as np

from gridshift.data.synthetic import SyntheticSystem, exogenous_days
from gridshift.envs.dcgrid.generators import ExogenousWindow
from gridshift.envs.dcgrid.scenario import Scenario


class SyntheticExogenous:
    """Typical-day profiles: the month from ``Scenario.month`` (0 = drawn per episode), the
    weekday of step 0 drawn per episode, then the AR(1) noise."""

    def __init__(self, sc: Scenario):
        self.system = SyntheticSystem(sc.peak_demand_mw, sc.wind_capacity_mw, sc.solar_capacity_mw)
        self.month, self.noise, self.step_minutes = sc.month, sc.exogenous_noise, sc.step_minutes

    def sample(self, rng: np.random.Generator, batch: int, n_steps: int) -> ExogenousWindow:
        month = np.full(batch, self.month) if self.month else rng.integers(1, 13, batch)
        start_dow = rng.integers(0, 7, batch)
        ex = exogenous_days(self.system, month, start_dow, n_steps, self.step_minutes, rng=rng, noise_scale=self.noise)
        return ExogenousWindow(ex["demand_mw"], ex["solar_mw"], ex["wind_mw"], month, start_dow)


class RealExogenous:
    """A window of the real ``grid_data`` year per episode (see ``Scenario.grid_data``): residual
    demand scaled so that its annual peak is ``peak_demand_mw``, solar and wind so that their
    annual maxima are ``solar_capacity_mw`` / ``wind_capacity_mw``."""

    def __init__(self, sc: Scenario):
        from gridshift.data.scenario_builder import build_real_grid, parse_grid_data, peaks

        self.grid = build_real_grid(*parse_grid_data(sc.grid_data))
        pk = peaks(self.grid)
        self.scale = (sc.peak_demand_mw / pk["residual_demand_mw"], sc.solar_capacity_mw / max(pk["solar_mw"], 1e-9),
                      sc.wind_capacity_mw / max(pk["wind_mw"], 1e-9))
        self.month, self.step_minutes, self.utc_offset_h = sc.month, sc.step_minutes, sc.grid_utc_offset_h
        self.gas_basis = None
        if sc.gas_price_daily:
            from gridshift.data.scenario_builder import GAS_BASIS_USD_PER_MMBTU

            self.gas_basis = GAS_BASIS_USD_PER_MMBTU[self.grid.ba]

    def sample(self, rng: np.random.Generator, batch: int, n_steps: int) -> ExogenousWindow:
        from gridshift.data.scenario_builder import real_exogenous_window

        ex = real_exogenous_window(self.grid, rng, batch, n_steps, self.step_minutes, month=self.month,
                                   utc_offset_h=self.utc_offset_h, scale=self.scale,
                                   gas_basis_usd_per_mmbtu=self.gas_basis)
        return ExogenousWindow(ex["demand_mw"], ex["solar_mw"], ex["wind_mw"], ex["month"], ex["start_dow"],
                               ex.get("gas_price_usd_per_mmbtu"))
