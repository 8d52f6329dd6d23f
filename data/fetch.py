"""``gridshift data fetch``: download EIA-930 load and fuel mix and ISO prices with the
`gridstatus <https://github.com/gridstatus/gridstatus>`_ library into a local cache laid
out like the shared data directory, so every loader reads it unchanged
(``GRIDSHIFT_DATA=<cache>``).

gridstatus is an optional dependency (``pip install gridshift[fetch]``), imported lazily;
no ISO API client is written here. EIA data needs a free EIA API key
(``EIA_API_KEY``), as gridstatus requires.

Conversions (pure functions, tested on frames in gridstatus's output shape):

* :func:`eia_fuel_mix_to_fuelmix` - ``EIA.get_dataset("electricity/rto/fuel-type-data")``
  (``Interval Start`` tz-aware UTC, one column per EIA fuel type, MW) -> the fuel-mix CSV
  (``timestamp, WND, SUN, WAT, OIL, NG, COL, NUC, OTH, avg_CI``). ``avg_CI`` is computed with
  :data:`EIA_CI_FACTORS_G_PER_KWH`, the IPCC 2014 median lifecycle factors used by the
  SustainDC files are not reproduced exactly: this is documented as an approximation.
* :func:`eia_region_to_demand` - ``"electricity/rto/region-data"`` (``Interval Start``,
  ``Respondent``, ``Load``) -> ``date_time_utc, <BA>_raw_MW, <BA>_cleaned_MW`` (raw copied
  to cleaned: the Ruggles cleaning is not re-run).
* :func:`iso_prices_to_csv` - an ISO ``get_lmp`` / ``get_spp`` frame (``Interval Start``,
  ``Location``, ``LMP`` or ``SPP``) for one location -> ``Datetime, Price (USD/MWh)``, naive
  UTC, hourly mean.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: gridstatus EIA fuel type -> EIA-930 code of the fuel-mix file.
EIA_TYPE_CODES: dict[str, str] = {
    "Wind": "WND", "Solar": "SUN", "Hydro": "WAT", "Petroleum": "OIL", "Natural Gas": "NG", "Coal": "COL",
    "Nuclear": "NUC", "Other": "OTH", "Geothermal": "OTH", "Pumped Storage": "WAT", "Battery Storage": "OTH",
    "Solar With Integrated Battery Storage": "SUN", "Wind With Integrated Battery Storage": "WND",
    "Other Energy Storage": "OTH", "Unknown Energy Storage": "OTH",
}
#: Direct-emission factors (gCO2/kWh) for ``avg_CI`` of fetched files: EIA CO2 coefficients
#: times EIA Electric Power Annual average heat rates (gas 53.07 kg/MMBtu x 7.6, coal 95.5 x
#: 10.0, oil 73.16 x 11.0); other fuels 0.
EIA_CI_FACTORS_G_PER_KWH: dict[str, float] = {"NG": 403.3, "COL": 955.0, "OIL": 804.8}

#: gridstatus ISO class and price location per BA (hub / node the shared price files use).
ISO_PRICE_SOURCES: dict[str, tuple[str, str, str]] = {
    "ERCO": ("Ercot", "get_spp", "HB_HUBAVG"),
    "CISO": ("CAISO", "get_lmp", "TH_NP15_GEN-APND"),
    "PJM": ("PJM", "get_lmp", "DOMINION"),
    "NYIS": ("NYISO", "get_lmp", "CAPITL"),
}
PRICE_ZONE_OF_BA = {"ERCO": "US-TEX-ERCO", "CISO": "US-CAL-CISO", "PJM": "US-MIDA-PJM", "NYIS": "US-NY-NYIS"}


def _need(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing} in the gridstatus frame, found {list(df.columns)}")


def eia_fuel_mix_to_fuelmix(df: pd.DataFrame) -> pd.DataFrame:
    """gridstatus EIA fuel-type frame (one respondent) -> the fuel-mix CSV layout."""
    _need(df, ["Interval Start"], "eia fuel mix")
    t = pd.to_datetime(df["Interval Start"], utc=True)
    out = pd.DataFrame({"timestamp": t.dt.strftime("%Y-%m-%d %H:%M:%S+00:00")})
    for code in ("WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH"):
        cols = [c for c, k in EIA_TYPE_CODES.items() if k == code and c in df.columns]
        out[code] = df[cols].fillna(0.0).sum(axis=1).to_numpy() if cols else 0.0
    gen = out[["WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH"]].clip(lower=0).sum(axis=1)
    em = sum(out[k].clip(lower=0) * v for k, v in EIA_CI_FACTORS_G_PER_KWH.items())
    out["avg_CI"] = (em / gen.where(gen > 0)).to_numpy()
    return out


def eia_region_to_demand(df: pd.DataFrame, ba: str) -> pd.DataFrame:
    """gridstatus EIA region-data frame -> ``date_time_utc, <BA>_raw_MW, <BA>_cleaned_MW``."""
    _need(df, ["Interval Start", "Load"], "eia region data")
    if "Respondent" in df.columns:
        df = df[df["Respondent"] == ba]
    t = pd.to_datetime(df["Interval Start"], utc=True).dt.tz_localize(None)
    load = df["Load"].astype(float).to_numpy()
    return pd.DataFrame({"date_time_utc": t.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(), f"{ba}_raw_MW": load,
                         f"{ba}_cleaned_MW": load})


def iso_prices_to_csv(df: pd.DataFrame, location: str | None = None) -> pd.DataFrame:
    """gridstatus LMP/SPP frame -> ``Datetime, Price (USD/MWh)`` (naive UTC, hourly mean)."""
    col = "LMP" if "LMP" in df.columns else "SPP"
    _need(df, ["Interval Start", col], "iso prices")
    if location is not None and "Location" in df.columns:
        df = df[df["Location"] == location]
        if df.empty:
            raise ValueError(f"location={location!r} is invalid: not in the gridstatus frame")
    s = pd.Series(df[col].astype(float).to_numpy(), index=pd.to_datetime(df["Interval Start"], utc=True))
    h = s.resample("1h").mean().dropna()
    return pd.DataFrame({"Datetime": h.index.tz_localize(None).strftime("%Y-%m-%d %H:%M:%S"),
                         "Price (USD/MWh)": h.to_numpy()})


def fetch(ba: str, year: int, cache: str | Path, *, what=("load", "fuelmix", "prices")) -> list[Path]:
    """Download ``what`` for ``ba``/``year`` into ``cache`` (the shared-data layout)."""
    from gridshift.data.scenario_builder import check_ba

    check_ba(ba)
    try:
        import gridstatus
    except ImportError:
        raise SystemExit("gridshift data fetch needs gridstatus: pip install 'gridshift[fetch]'") from None
    cache = Path(cache)
    start, end = f"{year}-01-01", f"{year + 1}-01-01"
    written = []
    if "load" in what or "fuelmix" in what:
        eia = gridstatus.EIA()
        if "fuelmix" in what:
            df = eia.get_dataset("electricity/rto/fuel-type-data", start, end, facets={"respondent": [ba]})
            p = cache / "grid" / f"eia930_fuelmix_{year}" / f"{ba}_{year}_fuelmix_avgCI.csv"
            p.parent.mkdir(parents=True, exist_ok=True)
            eia_fuel_mix_to_fuelmix(df).to_csv(p, index=False)
            written.append(p)
        if "load" in what:
            df = eia.get_dataset("electricity/rto/region-data", start, end, facets={"respondent": [ba]})
            p = cache / "grid" / "eia930_demand_2022_2023.csv"
            new = eia_region_to_demand(df, ba)
            if p.is_file():
                old = pd.read_csv(p)
                new = old.drop(columns=[c for c in new.columns if c != "date_time_utc" and c in old.columns]).merge(
                    new, on="date_time_utc", how="outer")
            p.parent.mkdir(parents=True, exist_ok=True)
            new.to_csv(p, index=False)
            written.append(p)
    if "prices" in what and ba in ISO_PRICE_SOURCES:
        cls, meth, loc = ISO_PRICE_SOURCES[ba]
        iso = getattr(gridstatus, cls)()
        kw = {"market": "DAY_AHEAD_HOURLY"}
        if meth == "get_lmp":
            kw["locations"] = [loc]
        df = getattr(iso, meth)(start, end=end, **kw)
        p = cache / "grid" / "prices" / f"{PRICE_ZONE_OF_BA[ba]}_electricity_prices_{year}.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        iso_prices_to_csv(df, loc).to_csv(p, index=False)
        written.append(p)
    return written
