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
            from gridshift.data.gas_prices import GAS_BASIS_USD_PER_MMBTU

            self.gas_basis = GAS_BASIS_USD_PER_MMBTU[self.grid.ba]

    def sample(self, rng: np.random.Generator, batch: int, n_steps: int) -> ExogenousWindow:
        from gridshift.data.scenario_builder import real_exogenous_window

        ex = real_exogenous_window(self.grid, rng, batch, n_steps, self.step_minutes, month=self.month,
                                   utc_offset_h=self.utc_offset_h, scale=self.scale,
                                   gas_basis_usd_per_mmbtu=self.gas_basis)
        return ExogenousWindow(ex["demand_mw"], ex["solar_mw"], ex["wind_mw"], ex["month"], ex["start_dow"],
                               ex.get("gas_price_usd_per_mmbtu"))


class RtsExogenous:
    """RTS-GMLC's own 2020 profiles (:func:`gridshift.data.network_cases.rts_bus_exogenous`): the
    three areas' load summed over the system, and the per-plant solar and wind summed, each
    scaled so that its maximum over the year is the scenario's ``peak_demand_mw`` /
    ``solar_capacity_mw`` / ``wind_capacity_mw``. Each episode replays a window starting at
    midnight of a day drawn from the seed (within ``month`` when set), interpolated to the step
    (hourly values placed mid-hour). The network backend spreads the load over the buses by the
    case's load shares and solar and wind by their own shares."""

    def __init__(self, sc: Scenario, case):
        from gridshift.data.network_cases import rts_bus_exogenous

        index, demand, solar, wind = rts_bus_exogenous(case)
        tot = np.stack([demand.sum(axis=1), solar.sum(axis=1), wind.sum(axis=1)], axis=1)  # [T, 3] hourly
        peak = np.maximum(tot.max(axis=0), 1e-9)
        self.hourly = tot * (np.array([sc.peak_demand_mw, sc.solar_capacity_mw, sc.wind_capacity_mw]) / peak)
        self.days = index.normalize().unique()
        self.first = index[0]
        self.month, self.step_minutes = sc.month, sc.step_minutes

    def sample(self, rng: np.random.Generator, batch: int, n_steps: int) -> ExogenousWindow:
        hours = n_steps * self.step_minutes / 60.0
        n_hours = self.hourly.shape[0]
        offs = np.array([(d - self.first.normalize()).days * 24.0 for d in self.days])
        ok = offs + hours <= n_hours
        if self.month:
            ok &= np.array([d.month == self.month for d in self.days])
        cand = np.flatnonzero(ok)
        if cand.size == 0:
            raise ValueError(f"n_steps={n_steps} x {self.step_minutes:g} min ({hours:g} h) does not fit in the RTS-GMLC "
                             f"year{f' month {self.month}' if self.month else ''}: allowed windows up to its length")
        pick = cand[rng.integers(0, cand.size, batch)]
        x_src = np.arange(n_hours) + 0.5
        t_rel = (np.arange(n_steps) + 0.5) * self.step_minutes / 60.0
        out = np.empty((3, batch, n_steps))
        for b, d in enumerate(pick):
            x = offs[d] + t_rel
            for j in range(3):
                out[j, b] = np.interp(x, x_src, self.hourly[:, j])
        month = np.array([self.days[d].month for d in pick], np.int64)
        dow = np.array([self.days[d].day_of_week for d in pick], np.int64)
        return ExogenousWindow(out[0], out[1], out[2], month, dow)
