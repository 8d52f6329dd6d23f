"""Real-data grid scenarios: exogenous profiles from EIA-930 and a regional fleet from
powersimdata, for one balancing authority (BA) and year.

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
  the merit order dispatches (:data:`DISPATCHED_GROUPS`).

Fleet (:func:`region_fleet`): the powersimdata plants of the BA's region
(:data:`BA_REGIONS`: an interconnect, states or load zones of the TAMU network),
the fuel groups the merit order dispatches only (:data:`DISPATCHED_GROUPS`: gas, coal,
oil; see :mod:`gridshift.data.powersimdata`). Fuel cost: gas units pay the Henry Hub spot price
(mean over the window, or over the year) times ``gas_price_scale`` plus the regional basis
``gas_basis_usd_per_mmbtu``; coal and oil keep the table's ``GenFuelCost`` times
``coal_price_scale`` / 1. ``pmin_scale`` scales the table's minimum outputs: 0 (the default)
without unit commitment (every unit online could not go below its minimum), 1 with it.

The real-data scenarios run :func:`calibrated_fleet`: that fleet narrowed to the BA's own
January-June output (:func:`footprint_capacity`), with the basis and coal-to-gas index that
``gridshift calibrate`` fits (:data:`GAS_BASIS_USD_PER_MMBTU`, :data:`COAL_GAS_INDEX`).

Daily gas (:func:`daily_gas_price`): the EIA daily Henry Hub spot price of each step's local
day (weekends and holidays interpolated between trading days, as the loader returns them)
plus the BA's basis
(:data:`GAS_BASIS_USD_PER_MMBTU`), the delivered-price series that
``clear_arrays(..., gas_price=...)`` and ``commit_schedule(..., gas_price=...)`` take.

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
from gridshift.data.loaders.grid import (
    EIA_FUELMIX_BAS,
    load_eia930_demand,
    load_eia930_fuelmix,
    load_henry_hub,
)
from gridshift.data.loaders.timeseries import TimeSeriesData, check_range, check_step, regularize
from gridshift.data.paths import DataNotFoundError
from gridshift.envs.grid.types import FleetParams


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


@functools.lru_cache(maxsize=4)
def _plants():
    from gridshift.data.powersimdata import read_plant_table

    return read_plant_table()


#: Regional gas basis ($/MMBtu) added to the daily Henry Hub price for each BA's gas units.
#: Fitted by ``gridshift calibrate --ba BA --year 2022`` on the fit half (Jan-Jun 2022: jointly
#: with the ORDC spread, the basis that zeroes the mean price bias; see
#: :mod:`gridshift.eval.calibrate`) for the BAs with a price series; 0 (Henry Hub itself) for
#: the others, whose price cannot be checked. A fitted basis also absorbs the model's own
#: price bias (it is an *effective* basis). For comparison, EIA reports the 2022 average cost
#: of gas delivered to US power plants at $7.51/Mcf (about $7.3/MMBtu) against a Henry Hub
#: average of $6.45/MMBtu: a national basis of about +$0.8/MMBtu (EIA, "Natural gas
#: explained: data and statistics"); the New York and California fits (+7) carry those
#: markets' winter gas spikes, which Henry Hub does not. PJM's (-2.7) is near the search's
#: lower bound (-3): its fit chose a wide ORDC (sigma 0.10 of peak, the highest fit-half price
#: r within the std band), whose scarcity adders the basis then offsets. ERCOT's (+2.4) is
#: well above the Texas hubs' 2022 spread to Henry Hub: it offsets a narrower ORDC (0.08).
GAS_BASIS_USD_PER_MMBTU: dict[str, float] = {
    "ERCO": 2.449, "CISO": 6.668, "PJM": -2.707, "NYIS": 7.02, "MISO": 0.0, "SOCO": 0.0, "AZPS": 0.0, "BPAT": 0.0,
}
#: Coal's fuel price as a multiple of the delivered gas price (:func:`index_coal_to_gas`),
#: fitted by ``gridshift calibrate --ba BA --year 2022`` on the fit half so that the simulated
#: coal share of generation matches EIA-930's; absent where the footprint has no coal.
COAL_GAS_INDEX: dict[str, float] = {"ERCO": 0.674, "CISO": 0.533, "PJM": 0.553, "MISO": 0.583, "SOCO": 0.563,
                                     "AZPS": 0.674}
#: Days after the Henry Hub file's last trading day (2022-12-13) for which its last price is
#: carried forward (the rest of December 2022); later dates fail.
HH_CARRY_DAYS = 31


def hh_last_day() -> pd.Timestamp:
    """The last trading day of the Henry Hub file (naive date): after it, :func:`daily_gas_price`
    carries that price forward (:data:`HH_CARRY_DAYS`), so a model fed with it has no real gas
    price there."""
    hh = load_henry_hub().frame["gas_price_usd_per_mmbtu"].dropna()
    return hh.index.tz_convert(None).normalize().max()


@functools.lru_cache(maxsize=1)
def _hh_daily() -> pd.Series:
    """Henry Hub price per calendar day (naive dates), carried forward after the last one."""
    hh = load_henry_hub().frame["gas_price_usd_per_mmbtu"].dropna()
    days = hh.index.tz_convert(None).normalize()
    s = pd.Series(hh.to_numpy(), index=days).groupby(level=0).last().sort_index()
    full = pd.date_range(s.index[0], s.index[-1] + pd.Timedelta(days=HH_CARRY_DAYS), freq="D")
    return s.reindex(full).ffill()


def daily_gas_price(times, *, basis_usd_per_mmbtu: float = 0.0, utc_offset_h: float = 0.0) -> np.ndarray:
    """Delivered gas price ($/MMBtu) at each of ``times`` (UTC timestamps, any shape): the
    Henry Hub price of the local day (``utc_offset_h``) plus ``basis_usd_per_mmbtu``. Days
    outside the file (1997-01-07 .. 2022-12-13, plus :data:`HH_CARRY_DAYS`) fail naming the
    range."""
    s = _hh_daily()
    t = pd.DatetimeIndex(np.asarray(times).ravel())
    if t.tz is not None:
        t = t.tz_convert(None)
    day = (t + pd.Timedelta(hours=utc_offset_h)).normalize()
    lo, hi = s.index[0], s.index[-1]
    bad = (day < lo) | (day > hi)
    if bad.any():
        raise ValueError(f"date {day[bad][0].date()} is out of range for Henry Hub daily prices: allowed "
                         f"{lo.date()} .. {hi.date()}")
    v = s.reindex(day).to_numpy() + float(basis_usd_per_mmbtu)
    if not np.isfinite(v).all() or (v <= 0).any():
        raise ValueError(f"basis_usd_per_mmbtu={basis_usd_per_mmbtu!r} is invalid: the delivered price must stay > 0")
    return v.reshape(np.shape(times))


def henry_hub_price(start, end) -> float:
    """Mean Henry Hub spot price ($/MMBtu) over trading days in ``[start, end)`` (UTC dates).
    Out-of-range dates fail naming the available range (1997-01-07 .. 2022-12-13)."""
    hh = load_henry_hub()
    s, e = check_range(hh.frame.index, start, end, what="Henry Hub daily prices")
    v = hh.frame["gas_price_usd_per_mmbtu"].loc[s:e - pd.Timedelta(1, "ns")].dropna()
    if v.empty:
        raise ValueError(f"start={start!r} end={end!r}: no Henry Hub trading day in range")
    return float(v.mean())


#: EIA-930 fuel groups of the fleet's units (``other`` holds geothermal and biomass, as EIA's "other").
FUEL_GROUP: dict[str, str] = {"coal": "coal", "gas": "gas", "oil": "oil", "other": "other", "geothermal": "other",
                              "biomass": "other"}
#: The fuel groups the merit order dispatches. EIA's "other" (geothermal, biomass, batteries)
#: is a real profile instead (module docstring): the fleet keeps none of its units.
DISPATCHED_GROUPS: tuple[str, ...] = ("coal", "gas", "oil")
#: Footprint margins (:func:`footprint_capacity`): capacity over the observed maximum output.
#: Coal and oil: 15 %, the planning reserve margin of NERC's reference levels (the
#: maximum of half a year's hourly output is near the fleet's available capacity). Gas: 50 %,
#: because gas also serves the summer peak, which a January-June window does not contain
#: (EIA-930 2022: the July-December thermal peak is 4-38 % above January-June's in these BAs;
#: this allowance was chosen knowing the annual peaks, so it is the one footprint choice not
#: made on the fit half alone).
FOOTPRINT_MARGIN: dict[str, float] = {"coal": 0.15, "oil": 0.15, "gas": 0.5}


def footprint_capacity(ba: str, start, end, year: int = 2022) -> dict[str, float]:
    """The BA's dispatchable capacity by fuel group (MW), sized to its own EIA-930 output:
    ``(1 + FOOTPRINT_MARGIN[f]) x`` the maximum hourly generation of fuel group ``f`` over
    ``[start, end)`` (UTC). The powersimdata regions are states or load zones, not the BA's
    footprint (Arizona's fleet is ~5x APS's observed output, Washington + Oregon ~6x BPA's,
    MISO's zones ~1.6x MISO's), so :func:`region_fleet` with ``footprint=`` rescales each fuel
    group's units to these totals and drops a group the BA did not run (New York's and
    California's coal, retired before 2022)."""
    g = build_real_grid(ba, year).window(start, end, 60.0)
    if len(g) == 0:
        raise ValueError(f"start={start!r} end={end!r}: empty window for the {ba} footprint")
    return {f: float((1.0 + m) * np.nan_to_num(g[f"{f}_mw"].max(), nan=0.0)) for f, m in FOOTPRINT_MARGIN.items()}


def region_fleet(ba: str, *, start=None, end=None, year: int = 2022, gas_price_scale: float = 1.0,
                 coal_price_scale: float = 1.0, pmin_scale: float = 0.0, in_service_only: bool = True,
                 gas_basis_usd_per_mmbtu: float = 0.0, cost_model: str = "table",
                 footprint: dict[str, float] | None = None) -> FleetParams:
    """The dispatchable powersimdata fleet of ``ba``'s region, gas priced at Henry Hub.

    The gas price is the Henry Hub mean over ``[start, end)`` (default: the whole ``year``;
    the file ends 2022-12-13, so a December window uses the days available) times
    ``gas_price_scale`` plus ``gas_basis_usd_per_mmbtu``; it is recorded in the fleet
    (``fuel_price_usd_per_mmbtu``), so a daily price passed to the clearing rescales it.
    ``pmin_scale``: 0 without unit commitment, 1 with it (module docstring). ``cost_model``:
    see :func:`gridshift.data.powersimdata.fleet_from_plants`. ``in_service_only``
    (default): keep only the TAMU case's ``status == 1`` plants. This drops retired units
    (PJM-region coal 58 -> 41 GW, closer to PJM's ~40 GW of 2022) but also ~4 GW of ERCOT
    coal that still ran in 2022 (14.5 -> 10.6 GW); one rule for all BAs, not tuned per BA.
    ``footprint`` (e.g. :func:`footprint_capacity`): MW per fuel group (:data:`FUEL_GROUP`);
    a group whose region capacity exceeds its footprint is scaled down to it
    (:meth:`FleetParams.scaled`: capacity, minimum output, ramp, start cost), a group at 0 is
    dropped, any other group is kept as it is: the footprint only narrows the region's fleet,
    it never invents capacity the table does not have (ERCOT's retired-in-the-table coal).
    Units outside :data:`DISPATCHED_GROUPS` (geothermal, biomass, other) are left out: EIA's
    "other" output is an input of :func:`build_real_grid`.
    """
    from gridshift.data.powersimdata import fleet_from_plants, select_plants

    region = check_ba(ba)
    for name, v in (("gas_price_scale", gas_price_scale), ("coal_price_scale", coal_price_scale)):
        if not (np.isfinite(v) and 0.05 <= v <= 20):
            raise ValueError(f"{name}={v!r} is invalid: allowed 0.05 <= value <= 20")
    s = pd.Timestamp(start) if start is not None else pd.Timestamp(f"{year}-01-01")
    e = pd.Timestamp(end) if end is not None else pd.Timestamp(f"{year + 1}-01-01")
    hh_end = min(e.tz_localize(None) if e.tzinfo else e, pd.Timestamp("2022-12-14"))
    hh_start = s.tz_localize(None) if s.tzinfo else s
    if hh_start >= hh_end:  # a window just after the file's last day (late December 2022): its last month
        if hh_start - hh_end > pd.Timedelta(days=31):
            raise ValueError(f"start={start!r} is out of range for Henry Hub daily prices: allowed dates within "
                             "[1997-01-07, 2022-12-13] (or up to a month after)")
        hh_start = hh_end - pd.Timedelta(days=31)
    gas = henry_hub_price(hh_start, hh_end) * gas_price_scale + float(gas_basis_usd_per_mmbtu)
    if not (np.isfinite(gas) and gas > 0):
        raise ValueError(f"gas_basis_usd_per_mmbtu={gas_basis_usd_per_mmbtu!r} is invalid: the delivered gas price "
                         f"({gas:.2f} $/MMBtu) must stay > 0")
    df = _plants()
    if in_service_only:
        df = df[df["status"] == 1]
    sel = select_plants(df.assign(status=1), states=region.states, zones=region.zones,
                        interconnects=region.interconnects)
    from gridshift.data.powersimdata import TYPE_FUEL

    sel = sel[sel["type"].map(lambda t: FUEL_GROUP.get(TYPE_FUEL.get(t) or "", "")).isin(DISPATCHED_GROUPS)]
    if footprint is not None:
        bad = {k: v for k, v in footprint.items() if k not in FOOTPRINT_MARGIN or not (np.isfinite(v) and v >= 0)}
        if bad:
            k, v = next(iter(bad.items()))
            raise ValueError(f"footprint[{k!r}]={v!r} is invalid: allowed keys {sorted(FOOTPRINT_MARGIN)} with "
                             "finite MW >= 0")
        group = sel["type"].map(lambda t: FUEL_GROUP.get(TYPE_FUEL.get(t) or "", ""))
        sel = sel[~group.isin([k for k, v in footprint.items() if v <= 0.0])]
    fleet = fleet_from_plants(sel, fuel_price_usd_per_mmbtu={"gas": gas},
                              fuel_price_scale={"coal": coal_price_scale},
                              pmin_scale=pmin_scale, name_prefix=ba.lower(), cost_model=cost_model)
    if footprint is not None:
        grp = np.array([FUEL_GROUP.get(f, "") for f in fleet.fuel])
        scale = np.ones(fleet.n_units)
        for k, target in footprint.items():
            units = grp == k
            have = float(fleet.capacity_mw[units].sum())
            if 0.0 < target < have:
                scale[units] = target / have
        fleet = fleet.scaled(scale)
    return fleet


def index_coal_to_gas(fleet: FleetParams, k: float) -> FleetParams:
    """``fleet`` with its coal units' fuel priced at ``k`` times the gas units' fuel price
    (and following the daily gas price as they do: ``gas_indexed``).

    Why: in 2022 coal plants ran well below what their delivered coal cost implied (rail
    and stockpile limits made operators conserve coal, pricing it at its opportunity cost),
    and their output followed load (EIA-930 2022 fit half: hourly correlation of coal output
    with thermal load 0.85 in MISO, 0.78 in SOCO). At its table price (about a third of the gas
    price per MMBtu) coal is flat base load; at a fixed higher price the whole coal block
    switches with each day's gas price. Indexed to gas, coal units keep their place among
    the gas units whatever the gas price, and the ones in the shoulder of the stack follow
    load. Each coal unit keeps its heat rate (``b`` / its table fuel price) and emission
    factor; ``a``, ``c`` and the start cost's fuel part scale with the fuel price."""
    if not (np.isfinite(k) and 0.05 <= k <= 5.0):
        raise ValueError(f"coal_gas_index={k!r} is invalid: allowed 0.05 <= value <= 5")
    fuel = np.array(fleet.fuel)
    coal, gas = fuel == "coal", fleet.gas_units() & (fuel == "gas")
    if not coal.any():
        return fleet
    if not gas.any():
        raise ValueError("index_coal_to_gas: the fleet has no gas unit with a known fuel price to index coal to")
    if (fleet.fuel_price_usd_per_mmbtu[coal] <= 0).any():
        raise ValueError("index_coal_to_gas: a coal unit has no recorded fuel price (fuel_price_usd_per_mmbtu = 0)")
    gas_ref = float(fleet.fuel_price_usd_per_mmbtu[gas].mean())
    r = np.where(coal, k * gas_ref / np.where(coal, fleet.fuel_price_usd_per_mmbtu, 1.0), 1.0)
    vom = fleet.vom_usd_per_mwh
    return fleet.replace(cost_a_usd_per_mw2h=fleet.cost_a_usd_per_mw2h * r,
                         cost_b_usd_per_mwh=vom + (fleet.cost_b_usd_per_mwh - vom) * r,
                         cost_c_usd_per_h=fleet.cost_c_usd_per_h * r, startup_cost_usd=fleet.startup_cost_usd * r,
                         fuel_price_usd_per_mmbtu=np.where(coal, gas_ref, fleet.fuel_price_usd_per_mmbtu),
                         gas_indexed=fleet.gas_indexed | coal)


def calibrated_fleet(ba: str, year: int = 2022, **kw) -> FleetParams:
    """The fleet ``gridshift calibrate`` validates, as the real-data scenarios run it: the
    region's fleet narrowed to the BA's January-June footprint (:func:`footprint_capacity`),
    gas at Henry Hub plus the fitted :data:`GAS_BASIS_USD_PER_MMBTU`, and coal indexed to gas
    at the fitted :data:`COAL_GAS_INDEX` (:func:`index_coal_to_gas`). ``kw`` go to
    :func:`region_fleet` (and may override the basis)."""
    check_ba(ba)
    kw = {"gas_basis_usd_per_mmbtu": GAS_BASIS_USD_PER_MMBTU[ba]} | kw
    fleet = region_fleet(ba, year=year, footprint=footprint_capacity(ba, f"{year}-01-01", f"{year}-07-01", year),
                         **kw)
    if ba in COAL_GAS_INDEX:
        fleet = index_coal_to_gas(fleet, COAL_GAS_INDEX[ba])
    return fleet


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
