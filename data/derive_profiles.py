"""Derive the typical-day profile table from EIA-930 hourly data (demand, solar, wind, ...).

Rebuild the packaged ERCOT table (from the repository root's parent, where ``shared/data``
lives next to the repository)::

    python -m gridshift.data.derive_profiles --shared-data ../shared/data --ba ERCO --year 2022 \\
        --out data/profiles/erco_2022_typical_day.csv

Inputs (see ``shared/data/README.md`` for their provenance):

* ``grid/eia930_fuelmix_2022/<BA>_2022_fuelmix_avgCI.csv``: hourly net generation by fuel
  (MW), columns ``timestamp`` (UTC), ``WND, SUN, WAT, OIL, NG, COL, NUC, OTH``.
* ``grid/eia930_demand_2022_2023.csv``: hourly demand (MW), ``date_time_utc`` and
  ``<BA>_cleaned_MW`` (Ruggles et al. cleaned EIA-930 demand).

Method:

1. Both files carry EIA-930 *hour-ending* UTC stamps (checked on ERCO: solar output is
   centred on 19:00 UTC = 13:00 CST only if each stamp closes its hour; the demand file lines
   up with total generation at zero lag). Each stamp is shifted back 1 h to the start of its
   hour and converted to the BA's local clock (ERCO: ``America/Chicago``, DST included).
   ``hour`` h in the table is thus the local clock hour [h, h+1).
2. The two files are inner-joined on the UTC stamp and the rows whose *local* date lies in
   ``--year`` are kept.
3. Rows with a NaN (or negative demand) in a variable are dropped for that variable only;
   the counts are reported. Every (month, daytype, hour) cell must keep at least 2 samples.
4. Per-unit bases: ``demand_pu = demand / annual peak demand``, ``solar_pu = solar / annual
   max solar``, ``wind_pu = wind / annual max wind``; hydro and nuclear use the annual peak
   demand as base (so they read as shares of the peak load).
5. Grouped by month (1-12) x daytype (``weekday`` = Mon-Fri, ``weekend`` = Sat-Sun; public
   holidays are not treated specially) x hour (0-23): mean and sample std (ddof=1) of
   demand/solar/wind, mean of hydro and nuclear; rounded to 4 decimals.

The normalising peaks go into the CSV header (``#`` comment lines) and into
``PROVENANCE.md``, which this script writes next to the output (``--provenance``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import read_csv

#: Local time zone of each balancing authority in the EIA-930 fuel-mix files.
BA_TIMEZONE: dict[str, str] = {
    "ERCO": "America/Chicago",
    "MISO": "America/Chicago",
    "SOCO": "America/Chicago",
    "CISO": "America/Los_Angeles",
    "BPAT": "America/Los_Angeles",
    "PJM": "America/New_York",
    "NYIS": "America/New_York",
    "AZPS": "America/Phoenix",
}

OUTPUT_COLUMNS: tuple[str, ...] = (
    "month",
    "daytype",
    "hour",
    "demand_pu_mean",
    "demand_pu_std",
    "solar_pu_mean",
    "solar_pu_std",
    "wind_pu_mean",
    "wind_pu_std",
    "hydro_pu_mean",
    "nuclear_pu_mean",
)

DAYTYPES: tuple[str, ...] = ("weekday", "weekend")
_DECIMALS = 4
_MIN_SAMPLES = 2


def source_paths(shared_data: str | Path, ba: str, year: int) -> tuple[Path, Path]:
    """The fuel-mix and demand files for ``ba`` and ``year`` under ``shared_data``."""
    d = Path(shared_data)
    return (
        d / "grid" / f"eia930_fuelmix_{year}" / f"{ba}_{year}_fuelmix_avgCI.csv",
        d / "grid" / "eia930_demand_2022_2023.csv",
    )


def _read_hourly(path: Path, time_col: str, cols: list[str]) -> pd.DataFrame:
    """``time_col`` parsed to UTC (``t_utc``, one row per hour) and ``cols`` as finite MW
    (empty cells are NaN), read and checked by :func:`gridshift.data.csvio.read_csv`."""
    t = read_csv(path, [time_col, *cols], what="an EIA-930 hourly CSV (see shared/data/README.md)")
    utc = t.times(time_col, "utc")
    dup = np.flatnonzero(utc.duplicated())
    if dup.size:
        i = int(dup[0])
        raise t.error(time_col, i, t[time_col].iloc[i], "one row per hour", "is a duplicate timestamp")
    out = pd.DataFrame({c: t.numbers(c, -1e6, 1e6, missing_ok=True) for c in cols})
    out["t_utc"] = utc
    return out


def load_hourly(
    shared_data: str | Path, ba: str = "ERCO", year: int = 2022, tz: str | None = None
) -> pd.DataFrame:
    """Hourly local-time frame with columns ``demand_mw, solar_mw, wind_mw, hydro_mw, nuclear_mw``.

    The index is the local hour-beginning time (tz-aware); only rows whose local year is
    ``year`` are kept. NaNs are kept here (handled per variable in :func:`typical_day`).
    """
    fuel_path, demand_path = source_paths(shared_data, ba, year)
    tz = tz or BA_TIMEZONE.get(ba)
    if tz is None:
        raise ValueError(f"ba={ba!r}: no default time zone, pass tz= (known: {sorted(BA_TIMEZONE)})")
    dcol = f"{ba}_cleaned_MW"
    fm = _read_hourly(fuel_path, "timestamp", ["SUN", "WND", "WAT", "NUC"])
    dm = _read_hourly(demand_path, "date_time_utc", [dcol])
    df = fm.merge(dm, on="t_utc", how="inner")
    # EIA-930 stamps close their hour: the hour [t-1h, t) is reported at t.
    t_local = (df["t_utc"] - pd.Timedelta(hours=1)).dt.tz_convert(tz)
    out = pd.DataFrame(
        {
            "demand_mw": df[dcol].to_numpy(dtype=float),
            "solar_mw": df["SUN"].to_numpy(dtype=float),
            "wind_mw": df["WND"].to_numpy(dtype=float),
            "hydro_mw": df["WAT"].to_numpy(dtype=float),
            "nuclear_mw": df["NUC"].to_numpy(dtype=float),
        },
        index=pd.DatetimeIndex(t_local, name="time_local"),
    )
    out = out[out.index.year == year]
    if out.empty:
        raise ValueError(f"no hourly rows in local year {year} for {ba}")
    return out


def typical_day(hourly: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float | int | str]]:
    """Typical-day table (576 rows) and metadata (normalising peaks, sample counts)."""
    h = hourly.copy()
    # Negative reported solar/wind/hydro (auxiliary load at night) is clipped to 0; negative
    # or zero demand is a data error and dropped.
    h.loc[h["demand_mw"] <= 0.0, "demand_mw"] = np.nan
    n_nan = {c: int(h[c].isna().sum()) for c in h.columns}
    n_neg = {c: int((h[c] < 0).sum()) for c in ("solar_mw", "wind_mw", "hydro_mw", "nuclear_mw")}
    for c in n_neg:
        h[c] = h[c].clip(lower=0.0)
    peak_demand = float(h["demand_mw"].max())
    max_solar = float(h["solar_mw"].max())
    max_wind = float(h["wind_mw"].max())
    for name, v in (("demand", peak_demand), ("solar", max_solar), ("wind", max_wind)):
        if not np.isfinite(v) or v <= 0.0:
            raise ValueError(f"annual max of {name} is {v}, cannot normalise")
    pu = pd.DataFrame(
        {
            "demand_pu": h["demand_mw"] / peak_demand,
            "solar_pu": h["solar_mw"] / max_solar,
            "wind_pu": h["wind_mw"] / max_wind,
            "hydro_pu": h["hydro_mw"] / peak_demand,
            "nuclear_pu": h["nuclear_mw"] / peak_demand,
        },
        index=h.index,
    )
    idx = h.index
    pu["month"] = idx.month
    pu["daytype"] = np.where(idx.day_of_week >= 5, "weekend", "weekday")
    pu["hour"] = idx.hour
    g = pu.groupby(["month", "daytype", "hour"])
    counts = g[["demand_pu", "solar_pu", "wind_pu", "hydro_pu", "nuclear_pu"]].count()
    full = pd.MultiIndex.from_product(
        [range(1, 13), DAYTYPES, range(24)], names=["month", "daytype", "hour"]
    )
    counts = counts.reindex(full, fill_value=0)
    if (counts < _MIN_SAMPLES).to_numpy().any():
        bad = counts[(counts < _MIN_SAMPLES).any(axis=1)].index[0]
        raise ValueError(f"cell (month, daytype, hour)={bad} has fewer than {_MIN_SAMPLES} samples")
    mean = g.mean().reindex(full)
    std = g.std(ddof=1).reindex(full)
    table = pd.DataFrame(
        {
            "demand_pu_mean": mean["demand_pu"],
            "demand_pu_std": std["demand_pu"],
            "solar_pu_mean": mean["solar_pu"],
            "solar_pu_std": std["solar_pu"],
            "wind_pu_mean": mean["wind_pu"],
            "wind_pu_std": std["wind_pu"],
            "hydro_pu_mean": mean["hydro_pu"],
            "nuclear_pu_mean": mean["nuclear_pu"],
        }
    ).round(_DECIMALS)
    table = table.reset_index()[list(OUTPUT_COLUMNS)]
    meta: dict[str, float | int | str] = {
        "peak_demand_mw": peak_demand,
        "peak_demand_time_local": str(h["demand_mw"].idxmax()),
        "max_solar_mw": max_solar,
        "max_wind_mw": max_wind,
        "hydro_nuclear_base_mw": peak_demand,
        "n_hours": len(h),
        "first_hour_local": str(idx.min()),
        "last_hour_local": str(idx.max()),
        "min_samples_per_cell": int(counts.to_numpy().min()),
        **{f"n_nan_{c}": v for c, v in n_nan.items()},
        **{f"n_negative_clipped_{c}": v for c, v in n_neg.items()},
    }
    return table, meta


def residual_timescales_h(hourly: pd.DataFrame, lag_h: int = 6) -> dict[str, float]:
    """AR(1) e-folding time (hours) of the standardised residual of demand, solar and wind.

    The residual ``z = (x - cell mean) / cell std`` (cell = month x daytype x hour) is what
    :meth:`gridshift.data.profiles.ProfileTable.series` models as AR(1) noise; its
    autocorrelation ``r`` at ``lag_h`` hours gives ``tau = -lag_h / ln r``. Solar uses daylight
    hours only (cell mean above 1 % of the annual max). ``lag_h = 6`` fits the within-day
    decay (the lag-1 correlation is inflated by hour-to-hour smoothness).
    """
    idx = hourly.index
    keys = [idx.month, idx.day_of_week >= 5, idx.hour]
    out: dict[str, float] = {}
    for v in ("demand", "solar", "wind"):
        x = hourly[f"{v}_mw"]
        g = x.groupby(keys)
        mean, std = g.transform("mean"), g.transform("std")
        z = (x - mean) / std.where(std > 0)
        if v == "solar":
            z = z.where(mean > 0.01 * x.max())
        r = float(z.autocorr(lag_h))
        out[v] = float(-lag_h / np.log(r)) if 0.0 < r < 1.0 else float("nan")
    return out


def derive(shared_data: str | Path, ba: str = "ERCO", year: int = 2022, tz: str | None = None):
    """Load the raw files; return ``(table, meta)`` (``meta`` includes ``ba``, ``year``, ``tz``)."""
    tz = tz or BA_TIMEZONE.get(ba)
    hourly = load_hourly(shared_data, ba, year, tz)
    table, meta = typical_day(hourly)
    taus = residual_timescales_h(hourly)
    meta = {
        "ba": ba,
        "year": year,
        "tz": str(tz),
        **meta,
        **{f"tau_{k}_h": v for k, v in taus.items()},
    }
    return table, meta


def _header_lines(meta: dict) -> list[str]:
    return [
        f"gridshift typical-day profile: EIA-930 {meta['ba']} {meta['year']}, "
        f"local time {meta['tz']}",
        "rebuild: python -m gridshift.data.derive_profiles --shared-data ../shared/data "
        f"--ba {meta['ba']} --year {meta['year']} --out <this file>  (see PROVENANCE.md)",
        "row = local clock hour [hour, hour+1) (hour-beginning); "
        "daytype weekday=Mon-Fri, weekend=Sat-Sun",
        f"peak_demand_mw: {meta['peak_demand_mw']:.0f}",
        f"max_solar_mw: {meta['max_solar_mw']:.0f}",
        f"max_wind_mw: {meta['max_wind_mw']:.0f}",
        f"hydro_nuclear_base_mw: {meta['hydro_nuclear_base_mw']:.0f}",
        f"tz: {meta['tz']}",
        f"year: {meta['year']}",
        f"tau_demand_h: {meta['tau_demand_h']:.1f}",
        f"tau_solar_h: {meta['tau_solar_h']:.1f}",
        f"tau_wind_h: {meta['tau_wind_h']:.1f}",
        "demand_pu = demand/peak_demand_mw; solar_pu = solar/max_solar_mw; wind_pu = wind/max_wind_mw; "
        "hydro_pu, nuclear_pu = MW/peak_demand_mw; std = sample std (ddof=1) across days, same pu",
        "tau_*_h: AR(1) e-folding time of the standardised hourly residual (x - cell mean)/cell std, "
        "fitted at a 6 h lag; used by gridshift.data.profiles as noise correlation time",
    ]


def write_table(table: pd.DataFrame, meta: dict, out: str | Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        for line in _header_lines(meta):
            fh.write(f"# {line}\n")
        table.to_csv(fh, index=False, lineterminator="\n", float_format=f"%.{_DECIMALS}f")
    return out


def write_provenance(meta: dict, out_csv: Path, path: str | Path, argv: list[str]) -> Path:
    ba, year = meta["ba"], meta["year"]
    text = f"""# Provenance of `{out_csv.name}`

Typical-day profile of the {ba} balancing authority, {year}: per month (1-12) x daytype
(weekday / weekend) x local hour (0-23), mean and std of demand, solar and wind, and mean
hydro and nuclear output, in per unit. 576 rows. Loaded by `gridshift.data.profiles`.

## Source files

Read from the project's shared data folder (`../shared/data`, not part of this repository;
only this derived table is committed):

* `grid/eia930_fuelmix_{year}/{ba}_{year}_fuelmix_avgCI.csv` - hourly net generation by fuel
  (MW; columns `SUN`, `WND`, `WAT`, `NUC` used), timestamps UTC, 8760 rows.
  From HewlettPackard/dc-rl@a92b4755aca560e34a98d14028dda629eb968482:
  `data/CarbonIntensity/{ba}_NG_&_avgCI.csv` (MIT repository); underlying data EIA-930 / EBA
  bulk data, US public domain.
* `grid/eia930_demand_2022_2023.csv` - hourly demand (MW; column `{ba}_cleaned_MW`), UTC.
  From truggles/EIA_Cleaned_Hourly_Electricity_Demand_Data@b80145df5f92aba56c52ed45281831b93543fb3b
  (`data/release_2025_Jan_include_subregions/`), CC-BY-4.0; Ruggles et al., Zenodo
  10.5281/zenodo.3517196 (EIA-930 demand with anomalies screened and imputed).

## Rebuild

From the repository root (with `../shared/data` present):

```
python -m gridshift.data.derive_profiles --shared-data ../shared/data --ba {ba} --year {year} --out data/profiles/{out_csv.name}
```

The test `tests/test_profiles.py::test_rederive_matches_committed_table` re-derives the
table from the raw files and compares it with the committed one (tolerance 1e-3).
Command used for this file: `{" ".join(argv)}`.

## Normalising peaks (MW)

| quantity | base (MW) | note |
|---|---|---|
| demand (`demand_pu`) | {meta["peak_demand_mw"]:.0f} | annual peak hourly demand, at {meta["peak_demand_time_local"]} local |
| solar (`solar_pu`) | {meta["max_solar_mw"]:.0f} | annual max hourly solar output (not installed capacity) |
| wind (`wind_pu`) | {meta["max_wind_mw"]:.0f} | annual max hourly wind output (not installed capacity) |
| hydro, nuclear (`hydro_pu`, `nuclear_pu`) | {meta["hydro_nuclear_base_mw"]:.0f} | the annual peak demand, so they read as a share of the peak load |

`*_std` columns are sample standard deviations (ddof=1) across the days of the cell, in the
same per-unit base as the mean. Values rounded to 4 decimals.

## Noise correlation times (CSV header `tau_*_h`)

AR(1) e-folding times of the standardised residual `(x - cell mean) / cell std`, from its
autocorrelation at a 6 h lag (`derive_profiles.residual_timescales_h`): demand
{meta["tau_demand_h"]:.1f} h, solar {meta["tau_solar_h"]:.1f} h (daylight hours only), wind {meta["tau_wind_h"]:.1f} h.
`ProfileTable.series` uses them as the correlation time of its AR(1) noise.

## Time handling

* Both source files use EIA-930 hour-ending UTC stamps: the value stamped `t` covers
  `[t-1h, t)`. (Checked on ERCO: the solar curve is centred on 19:00 UTC = 13:00 CST only with
  the hour-ending reading; demand lines up with total generation at zero lag.)
* Each stamp is shifted back 1 h (hour-beginning) and converted to `{meta["tz"]}` with DST,
  so `hour` = local clock hour `[hour, hour+1)`. Spring-forward days have 23 hours,
  fall-back days 25 (the repeated hour counts twice in its cell).
* Rows are kept when their local date is in {year}: {meta["first_hour_local"]} to
  {meta["last_hour_local"]} ({meta["n_hours"]} hours; the fuel-mix file ends at
  {year}-12-31 23:00 UTC, so the last local evening of the year is missing).
* `weekday` = Monday-Friday, `weekend` = Saturday-Sunday; public holidays are counted as
  their calendar day type.
* `gridshift.data.profiles` places each row at the middle of its hour (`hour + 0.5`) when
  interpolating.

## Gaps and NaN

* The two files are inner-joined on the UTC stamp; both are gap-free hourly series for {ba}
  {year} (no missing stamps).
* NaN counts in the joined {year} data: demand {meta["n_nan_demand_mw"]}, solar {meta["n_nan_solar_mw"]}, wind {meta["n_nan_wind_mw"]},
  hydro {meta["n_nan_hydro_mw"]}, nuclear {meta["n_nan_nuclear_mw"]}. A NaN (or non-positive demand) drops that hour
  for that variable only; nothing is interpolated.
* Negative solar/wind/hydro/nuclear values (station load) are clipped to 0 before averaging:
  solar {meta["n_negative_clipped_solar_mw"]}, wind {meta["n_negative_clipped_wind_mw"]}, hydro {meta["n_negative_clipped_hydro_mw"]}, nuclear {meta["n_negative_clipped_nuclear_mw"]} hours.
* Every cell averages at least {meta["min_samples_per_cell"]} hourly values (a month has 8-10 weekend days; the
  spring-forward Sunday has no 02:00 hour and the year's last evening is cut off).

## Derived

{_dt.date.today().isoformat()} by `gridshift/data/derive_profiles.py`.
"""
    p = Path(path)
    p.write_text(text, encoding="utf-8")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        prog="python -m gridshift.data.derive_profiles", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--shared-data", required=True, help="path to shared/data")
    ap.add_argument("--ba", default="ERCO", help="EIA-930 balancing authority code (default ERCO)")
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--tz", default=None, help="local time zone (default: by BA)")
    ap.add_argument("--out", required=True, help="output CSV path")
    ap.add_argument(
        "--provenance", default=None, help="PROVENANCE.md path (default: next to --out; '-' = skip)"
    )
    args = ap.parse_args(argv)
    table, meta = derive(args.shared_data, args.ba, args.year, args.tz)
    out = write_table(table, meta, args.out)
    if args.provenance != "-":
        prov = Path(args.provenance) if args.provenance else out.parent / "PROVENANCE.md"
        write_provenance(meta, out, prov, ["python -m gridshift.data.derive_profiles", *argv])
        print(f"wrote {prov}")
    print(
        f"wrote {out} ({len(table)} rows); peaks: demand {meta['peak_demand_mw']:.0f} MW, "
        f"solar {meta['max_solar_mw']:.0f} MW, wind {meta['max_wind_mw']:.0f} MW"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
