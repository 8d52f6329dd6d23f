"""Real-data grid scenarios: exogenous profiles from EIA-930 for one balancing authority (BA)
and year, and the BA-to-region mapping.

Profiles (:func:`build_real_grid`). From EIA-930 (``grid/eia930_demand_2022_2023.csv`` for
demand, ``grid/eia930_fuelmix_<year>/`` for net generation by fuel), hourly UTC:

* ``demand_mw`` (cleaned EIA-930 demand), ``solar_mw``, ``wind_mw``, ``hydro_mw``,
  ``nuclear_mw``, ``thermal_mw`` (gas + coal + oil + other, each also kept as ``gas_mw``,
  ``coal_mw``, ``oil_mw``, ``other_mw``), ``net_imports_mw`` = demand - total net
  generation, and the EIA-derived production-based average intensity
  ``avg_ci_eia_g_per_kwh``.
* ``residual_demand_mw`` = demand - hydro - nuclear - other - net imports (= the real gas +
  coal + oil + solar + wind generation): the load that the dispatchable fleet and the
  renewables serve. Hydro, nuclear, EIA's "other" and interchange are taken as given (their
  real hourly values): gridshift's fleet has no time-varying bounds, and the copper plate has
  no neighbours. EIA-930's "other" is a catch-all (biomass, waste, geothermal where not
  reported apart and, in 2022, battery discharge: California's "other" is 0 in 45 % of the
  hours and averages 1.3 GW at 19:00-20:00 local); its plants run as price takers or, for
  batteries, on a schedule the model does not have, so it is an input like hydro, not a fleet
  the merit order dispatches
  (:data:`gridshift.data.region_fleet.DISPATCHED_GROUPS`).

The BA's fleet (:mod:`gridshift.data.region_fleet`: the region's powersimdata plants
narrowed to the BA, ``calibrated_fleet``) and its gas prices (:mod:`gridshift.data.gas_prices`:
daily Henry Hub plus the fitted basis) are built in their own modules, on these profiles.

Region mapping (approximate: BA footprints do not follow state lines): ERCO = the Texas
interconnect; CISO = California; PJM = NJ, PA, DE, MD, VA, WV, Ohio and Chicago-North
zones; NYIS = New York; MISO = its main states' zones; SOCO = Alabama and Georgia;
AZPS = Arizona; BPAT = Washington and Oregon.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridshift.data.csvio import DataFormatError
from gridshift.data.gas_prices import daily_gas_price
from gridshift.data.loaders.grid import EIA_FUELMIX_BAS, load_eia930_demand, load_eia930_fuelmix
from gridshift.data.loaders.timeseries import TimeSeriesData, check_step, regularize
from gridshift.data.paths import DataNotFoundError


@dataclass(frozen=True)
class BARegion:
    """A BA's powersimdata region, local time zone, and matching comparison series."""

    tz: str
    states: tuple[str, ...] = ()
    zones: tuple[int, ...] = ()
    interconnects: tuple[str, ...] = ()
    em_zone: str = ""
    """Electricity Maps zone id (consumption-based CI)."""
    price_zone: str = ""
    """``grid/prices/`` zone (see :data:`gridshift.data.loaders.grid.PRICE_ZONES`)."""


BA_REGIONS: dict[str, BARegion] = {
    "ERCO": BARegion("America/Chicago", interconnects=("Texas",), em_zone="US-TEX-ERCO", price_zone="US-TEX-ERCO"),
    "CISO": BARegion("America/Los_Angeles", states=("California",), em_zone="US-CAL-CISO", price_zone="US-CAL-CISO"),
    "PJM": BARegion("America/New_York", zones=(9, 10, 11, 12, 13, 14, 15, 28, 29, 30, 34), em_zone="US-MIDA-PJM",
                    price_zone="US-MIDA-PJM"),
    "NYIS": BARegion("America/New_York", states=("New York",), em_zone="US-NY-NYIS", price_zone="US-NY-NYIS"),
    "MISO": BARegion("America/Chicago", zones=(25, 31, 32, 33, 35, 36, 37, 38, 39, 40, 42, 43, 51), em_zone="US-MIDW-MISO"),
    "SOCO": BARegion("America/New_York", states=("Alabama", "Georgia"), em_zone="US-SE-SOCO"),
    "AZPS": BARegion("America/Phoenix", states=("Arizona",)),
    "BPAT": BARegion("America/Los_Angeles", states=("Washington", "Oregon"), em_zone="US-NW-BPAT"),
}

#: Profile columns of :class:`RealGrid` (MW unless named otherwise).
PROFILE_COLUMNS = ("demand_mw", "solar_mw", "wind_mw", "hydro_mw", "nuclear_mw", "thermal_mw", "net_imports_mw",
                   "residual_demand_mw", "avg_ci_eia_g_per_kwh", "gas_mw", "coal_mw", "oil_mw", "other_mw")


def parse_grid_data(spec: str) -> tuple[str, int]:
    """``"ERCO:2022"`` -> ``("ERCO", 2022)``, checking the BA."""
    parts = str(spec).split(":")
    if len(parts) != 2 or not parts[1].isdigit():
        raise ValueError(f"grid_data={spec!r} is invalid: allowed 'BA:YEAR' such as 'ERCO:2022'")
    ba, year = parts[0].upper(), int(parts[1])
    check_ba(ba)
    return ba, year


def check_ba(ba: str) -> BARegion:
    if ba not in BA_REGIONS:
        raise ValueError(f"ba={ba!r} is invalid: allowed one of {sorted(BA_REGIONS)}")
    return BA_REGIONS[ba]


@dataclass(frozen=True, eq=False)
class RealGrid:
    """Hourly real profiles of one BA and year (:data:`PROFILE_COLUMNS`, UTC index)."""

    ba: str
    year: int
    data: TimeSeriesData
    region: BARegion

    @property
    def frame(self) -> pd.DataFrame:
        return self.data.frame

    def window(self, start=None, end=None, step_minutes: float = 60.0) -> pd.DataFrame:
        """Profiles over ``[start, end)`` (UTC) at ``step_minutes`` (linear interpolation of
        hourly means placed mid-hour when finer, means when coarser)."""
        d = self.data.between(start, end) if (start is not None or end is not None) else self.data
        return d.resample(step_minutes).frame


#: Hours whose total net generation is this far (relative) from its centred 25-h rolling
#: median are reporting errors (e.g. PJM 2022 has hours with nuclear at 0 and thermal at
#: 21 MW); they are set to NaN and interpolated like gaps.
SPIKE_REL_TOL = 0.4


def _spikes(total: pd.Series) -> np.ndarray:
    med = total.rolling(25, center=True, min_periods=5).median()
    return ((total - med).abs() > SPIKE_REL_TOL * med.abs()).to_numpy()


@functools.lru_cache(maxsize=16)
def build_real_grid(ba: str, year: int = 2022, *, max_gap_hours: int = 48) -> RealGrid:
    """EIA-930 profiles of ``ba`` in ``year`` (see the module docstring).

    Reporting spikes (see :data:`SPIKE_REL_TOL`) are removed first. Gaps up to ``max_gap_hours`` (PJM's 22-h outage of the fuel-mix file around the March
    2022 DST change) are interpolated; longer gaps remain NaN and are listed in
    ``RealGrid.data.gaps``. Missing files raise ``DataNotFoundError`` ("data not found at
    ..., see README"); an unknown BA or year raises ``ValueError`` naming the allowed values.
    """
    region = check_ba(ba)
    if ba not in EIA_FUELMIX_BAS:
        raise ValueError(f"ba={ba!r} has no EIA-930 fuel-mix file: allowed one of {list(EIA_FUELMIX_BAS)}")
    if year not in (2022, 2023):
        raise ValueError(f"year={year!r} is invalid: allowed 2022 (fuel mix and demand) or 2023 (demand only; "
                         "fetch the 2023 fuel mix with `gridshift data fetch`)")
    try:
        mix = load_eia930_fuelmix(ba, year).frame
    except DataFormatError:
        raise  # a malformed file (or a missing one) is reported as such, not as "not found"
    except ValueError:  # a year without a packaged fuel-mix file
        from gridshift.data.paths import data_root

        root = data_root(required=True)
        raise DataNotFoundError(f"data not found at {root}/grid/eia930_fuelmix_{year}/{ba}_{year}_fuelmix_avgCI.csv; "
                                "see README, 'Real data' (or run `gridshift data fetch`)") from None
    dem = load_eia930_demand(ba).frame
    s, e = pd.Timestamp(f"{year}-01-01", tz="UTC"), pd.Timestamp(f"{year + 1}-01-01", tz="UTC")
    mix, dem = mix.loc[s:e - pd.Timedelta(1, "h")].copy(), dem.loc[s:e - pd.Timedelta(1, "h")]
    mix[_spikes(mix.sum(axis=1, min_count=1))] = np.nan
    f = pd.DataFrame(index=pd.date_range(s, e, freq="1h", inclusive="left"))
    f["demand_mw"] = dem["demand_mw"]
    f["solar_mw"] = mix["solar_mw"].clip(lower=0.0)  # EIA-930 reports small negative night solar
    f["wind_mw"] = mix["wind_mw"].clip(lower=0.0)
    f["hydro_mw"] = mix["hydro_mw"]
    f["nuclear_mw"] = mix["nuclear_mw"]
    f["thermal_mw"] = mix[["gas_mw", "coal_mw", "oil_mw", "other_mw"]].sum(axis=1, min_count=4)
    total = mix[["wind_mw", "solar_mw", "hydro_mw", "oil_mw", "gas_mw", "coal_mw", "nuclear_mw", "other_mw"]].sum(
        axis=1, min_count=8)
    f["net_imports_mw"] = f["demand_mw"] - total
    f["residual_demand_mw"] = (f["demand_mw"] - f["hydro_mw"] - f["nuclear_mw"] - mix["other_mw"]
                               - f["net_imports_mw"])
    f["avg_ci_eia_g_per_kwh"] = mix["avg_ci_g_per_kwh"]
    for c in ("gas_mw", "coal_mw", "oil_mw", "other_mw"):
        f[c] = mix[c]
    f, _, gaps = regularize(f, 60, max_gap_steps=max_gap_hours)
    return RealGrid(ba, year, TimeSeriesData(f, 60.0, f"EIA-930 {ba} {year}", gaps), region)


def real_exogenous_window(grid: RealGrid, rng: np.random.Generator, batch: int, n_steps: int, step_minutes: float,
                          *, month: int = 0, utc_offset_h: float = 0.0, scale: tuple[float, float, float] = (1, 1, 1),
                          gas_basis_usd_per_mmbtu: float | None = None) -> dict[str, np.ndarray]:
    """Sample one window of the real year per episode (the env's exogenous inputs).

    Each batch row starts at local midnight (``utc_offset_h``) of a day drawn uniformly from
    ``month`` (1-12; 0 = any day) such that ``n_steps`` fit inside the year. Returns
    ``demand_mw`` (the residual demand, see the module docstring), ``solar_mw``, ``wind_mw``
    (``[batch, n_steps]``, each times its ``scale`` factor), and ``month`` / ``start_dow``
    (local, 0 = Monday) of each start, ``[batch]``. With ``gas_basis_usd_per_mmbtu`` (e.g.
    ``GAS_BASIS_USD_PER_MMBTU[ba]``), also ``gas_price_usd_per_mmbtu`` ``[batch, n_steps]``:
    :func:`daily_gas_price` of each step's local day.
    """
    check_step(60.0, step_minutes)
    f = grid.frame[["residual_demand_mw", "solar_mw", "wind_mw"]]
    if f.isna().to_numpy().any():
        f = f.interpolate(limit_direction="both")
    hours = n_steps * step_minutes / 60.0
    off = pd.Timedelta(hours=utc_offset_h)
    days = pd.date_range(f"{grid.year}-01-01", f"{grid.year}-12-31", freq="D")
    first = f.index[0].tz_localize(None)
    last = f.index[-1].tz_localize(None) + pd.Timedelta(hours=1)
    starts_utc = days - off
    ok = (starts_utc >= first) & (starts_utc + pd.Timedelta(hours=hours) <= last)
    if month:
        ok &= days.month == month
    cand = np.flatnonzero(ok)
    if cand.size == 0:
        raise ValueError(f"n_steps={n_steps} x {step_minutes:g} min ({hours:g} h) does not fit in {grid.ba} {grid.year}"
                         f"{f' month {month}' if month else ''}: allowed windows up to the data's length")
    pick = cand[rng.integers(0, cand.size, batch)]
    src = f.to_numpy(np.float64)
    x_src = (np.arange(len(f)) + 0.5)  # hourly means placed mid-hour (hours since the first)
    out = {k: np.empty((batch, n_steps)) for k in ("demand_mw", "solar_mw", "wind_mw")}
    t_rel = (np.arange(n_steps) + 0.5) * step_minutes / 60.0
    for b, d in enumerate(pick):
        h0 = (starts_utc[d] - first) / pd.Timedelta(hours=1)
        x = h0 + t_rel
        for j, k in enumerate(("demand_mw", "solar_mw", "wind_mw")):
            out[k][b] = np.interp(x, x_src, src[:, j]) * scale[j]
    if gas_basis_usd_per_mmbtu is not None:
        t_steps = (np.asarray(starts_utc[pick], dtype="datetime64[ns]")[:, None]
                   + (np.arange(n_steps) * step_minutes * 60e9).astype("timedelta64[ns]")[None, :])
        out["gas_price_usd_per_mmbtu"] = daily_gas_price(t_steps, basis_usd_per_mmbtu=gas_basis_usd_per_mmbtu,
                                                         utc_offset_h=utc_offset_h)
    out["month"] = np.asarray(days[pick].month, np.int64)
    out["start_dow"] = np.asarray(days[pick].day_of_week, np.int64)
    return out


def peaks(grid: RealGrid) -> dict[str, float]:
    """Annual maxima (MW) of the residual demand, solar and wind: the scale bases used when
    a scenario with ``grid_data`` sets ``peak_demand_mw`` / ``solar_capacity_mw`` /
    ``wind_capacity_mw``."""
    f = grid.frame
    return {"residual_demand_mw": float(f["residual_demand_mw"].max()), "solar_mw": float(f["solar_mw"].max()),
            "wind_mw": float(f["wind_mw"].max())}
