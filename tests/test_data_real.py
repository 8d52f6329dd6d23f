"""Every grid loader on the real files in ../shared/data (skipped when absent)."""

from __future__ import annotations

import pandas as pd
import pytest

from gridshift.data import loaders as L
from gridshift.data.powersimdata import load_powersimdata_fleet

pytestmark = pytest.mark.shared_data


def test_every_grid_file_loads(shared_data):
    for f in sorted((shared_data / "grid").rglob("*")):
        if f.is_dir():
            continue
        kw = {"ba": "ERCO"} if f.name.startswith("eia930_demand") else {}
        d = L.load_grid_file(f, **kw)
        assert str(d.frame.index.tz) == "UTC" and d.frame.index.is_monotonic_increasing, f
        assert len(d.frame) > 100 and d.step_minutes in (5, 15, 30, 60, 1440), f


def test_known_values_and_conventions(shared_data):
    erco = L.load_eia930_fuelmix("ERCO", 2022)
    assert len(erco.frame) == 8760 and erco["wind_mw"].iloc[0] == 16317
    ciso = L.load_eia930_fuelmix("CISO", 2022)
    assert not ciso.frame.isna().any().any() and not ciso.gaps  # its 3 NaN hours are interpolated
    p = L.load_iso_prices("US-TEX-ERCO", 2022)  # local with offset: first hour is 06:00 UTC
    assert p.frame.index[0] == pd.Timestamp("2022-01-01 06:00", tz="UTC") and len(p.frame) == 8760
    dam = L.load_ercot_dam_spp("HB_HUBAVG")
    both = pd.concat([dam["price_usd_per_mwh"], p["price_usd_per_mwh"]], axis=1).dropna()
    assert len(both) == 8760 and (both.iloc[:, 0] - both.iloc[:, 1]).abs().max() < 0.01  # same series, two formats
    moer = L.load_caiso_moer()
    assert moer.step_minutes == 5 and 0 < moer["moer_pge_g_per_kwh"].median() < 1200
    wt = L.load_watttime_moer()
    assert 100 < wt["moer_g_per_kwh"].median() < 600  # lbs/MWh -> g/kWh
    hh = L.load_henry_hub()
    assert 3 < hh["gas_price_usd_per_mmbtu"].loc["2022"].mean() < 10
    with pytest.raises(ValueError, match="zone='US-XX' is invalid"):
        L.load_electricitymaps("US-XX", 2022)


def test_powersimdata_region(shared_data):
    f = load_powersimdata_fleet(interconnects=["Texas"], pmin_scale=0.0)
    assert f.n_units > 100 and 0.3 < f.emission_t_co2_per_mwh[[x == "gas" for x in f.fuel]].mean() < 0.7
