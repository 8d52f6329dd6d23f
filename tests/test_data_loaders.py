"""Loaders on tiny inline fixtures (written to tmp_path): runs anywhere, no real data needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridshift.data.fetch import eia_fuel_mix_to_fuelmix, eia_region_to_demand, iso_prices_to_csv
from gridshift.data.loaders import (
    DataFormatError,
    detect_format,
    load_eia930_demand,
    load_eia930_fuelmix,
    load_electricitymaps,
    load_ercot_dam_spp,
    load_grid_file,
    load_henry_hub,
    load_iso_prices,
    load_watttime_moer,
    parse_times,
    regularize,
    resample,
    to_g_per_kwh,
)
from gridshift.data.loaders.timeseries import check_step
from gridshift.data.paths import DataNotFoundError
from gridshift.data.powersimdata import fleet_from_plants, read_plant_table, select_plants


def _w(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


FUELMIX = "timestamp,WND,SUN,WAT,OIL,NG,COL,NUC,OTH,avg_CI\n" + "".join(
    f"2022-01-01 {h:02d}:00:00+00:00,{100 + h},0,5,0,500,300,200,10,{300 + h}\n" for h in range(6))


def test_fuelmix_units_and_index(tmp_path):
    d = load_eia930_fuelmix(path=_w(tmp_path, "f.csv", FUELMIX))
    assert str(d.frame.index.tz) == "UTC" and d.step_minutes == 60
    assert {"wind_mw", "gas_mw", "avg_ci_g_per_kwh"} <= set(d.columns)
    assert d["wind_mw"].iloc[3] == 103 and d["avg_ci_g_per_kwh"].iloc[0] == 300


def test_short_gap_interpolated_long_gap_reported(tmp_path):
    rows = FUELMIX.splitlines()
    rows[3] = rows[3].replace(",102,", ",,")  # one missing value: interpolated
    d = load_eia930_fuelmix(path=_w(tmp_path, "f.csv", "\n".join(rows) + "\n"))
    assert d["wind_mw"].iloc[2] == pytest.approx(102.0) and not d.gaps
    idx = pd.date_range("2022-01-01", periods=10, freq="1h", tz="UTC")
    f = pd.DataFrame({"x_mw": [1.0, np.nan, np.nan, np.nan, np.nan, np.nan, 7, 8, 9, 10]}, index=idx)
    g, step, gaps = regularize(f, 60, max_gap_steps=3)
    assert step == 60 and len(gaps) == 1 and gaps[0].n_steps == 5 and g["x_mw"].iloc[1:6].isna().all()
    # missing rows (not just NaN cells) are gaps too
    g, _, gaps = regularize(f.drop(idx[3:5]).fillna(0.0), 60, max_gap_steps=1)
    assert len(g) == 10 and gaps and gaps[0].n_steps == 2


def test_malformed_cell_names_file_column_row(tmp_path):
    rows = FUELMIX.splitlines()
    rows[4] = rows[4].replace(",500,", ",lots,")
    p = _w(tmp_path, "bad.csv", "\n".join(rows) + "\n")
    with pytest.raises(DataFormatError) as e:
        load_eia930_fuelmix(path=p)
    msg = str(e.value)
    assert "bad.csv" in msg and "'NG'" in msg and "data row 4" in msg and "expected a number" in msg


def test_missing_column_and_bad_time(tmp_path):
    with pytest.raises(DataFormatError, match="missing column"):
        load_eia930_fuelmix(path=_w(tmp_path, "a.csv", "timestamp,WND\n2022-01-01 00:00,1\n"))
    rows = FUELMIX.splitlines()
    rows[2] = "yesterday" + rows[2][rows[2].index(","):]
    with pytest.raises(DataFormatError, match=r"'timestamp', data row 2.*expected an ISO date-time"):
        load_eia930_fuelmix(path=_w(tmp_path, "b.csv", "\n".join(rows) + "\n"))


def test_demand_unknown_ba(tmp_path):
    p = _w(tmp_path, "d.csv", "date_time_utc,ERCO_raw_MW,ERCO_cleaned_MW\n2022-01-01 00:00:00,10,11\n"
           "2022-01-01 01:00:00,12,13\n")
    assert load_eia930_demand("ERCO", path=p)["demand_mw"].tolist() == [11, 13]
    assert load_eia930_demand("ERCO", path=p, cleaned=False)["demand_mw"].tolist() == [10, 12]
    with pytest.raises(ValueError, match=r"ba='XXX' is invalid: allowed one of \['ERCO'\]"):
        load_eia930_demand("XXX", path=p)


def test_offset_times_dst_fall_back_distinct(tmp_path):
    text = ("Datetime,Price (USD/MWh)\n2022-11-06 00:00:00-05:00,1\n2022-11-06 01:00:00-05:00,2\n"
            "2022-11-06 01:00:00-06:00,3\n2022-11-06 02:00:00-06:00,4\n")
    d = load_iso_prices(path=_w(tmp_path, "p.csv", text))
    assert list(d.frame.index.strftime("%H")) == ["05", "06", "07", "08"]
    assert d["price_usd_per_mwh"].tolist() == [1, 2, 3, 4]
    eur = load_iso_prices(path=_w(tmp_path, "e.csv", "Datetime,Price (EUR/MWh)\n2022-01-01 00:00:00,5\n"
                                  "2022-01-01 01:00:00,6\n"))
    assert eur.columns == ["price_eur_per_mwh"]


def test_ercot_hour_ending_and_repeated_hour(tmp_path):
    text = ("Delivery Date,Hour Ending,Repeated Hour Flag,HB_HUBAVG\n"
            "03/13/2022,01:00,N,1\n03/13/2022,02:00,N,2\n03/13/2022,04:00,N,4\n"  # 02:00-03:00 local skipped
            "11/06/2022,01:00,N,10\n11/06/2022,02:00,N,11\n11/06/2022,02:00,Y,12\n11/06/2022,03:00,N,13\n"
            "11/06/2022,24:00,N,14\n")
    d = load_ercot_dam_spp(path=_w(tmp_path, "spp.csv", text))
    s = d["price_usd_per_mwh"].dropna()
    t = {v: k for k, v in s.items()}
    # HE 01:00 on 3/13 = 00:00-01:00 CST = 06:00 UTC; HE 04:00 = 03:00 CDT = 08:00 UTC
    assert t[1.0] == pd.Timestamp("2022-03-13 06:00", tz="UTC") and t[4.0] == pd.Timestamp("2022-03-13 08:00", tz="UTC")
    # repeated hour: N = 01:00 CDT (06:00 UTC), Y = 01:00 CST (07:00 UTC)
    assert t[11.0] == pd.Timestamp("2022-11-06 06:00", tz="UTC") and t[12.0] == pd.Timestamp("2022-11-06 07:00", tz="UTC")
    assert t[14.0] == pd.Timestamp("2022-11-07 05:00", tz="UTC")  # HE 24 = 23:00 CST
    with pytest.raises(DataFormatError, match="'Repeated Hour Flag'.*expected 'Y' or 'N'"):
        load_ercot_dam_spp(path=_w(tmp_path, "b.csv", text.replace("02:00,Y", "02:00,maybe")))
    with pytest.raises(ValueError, match="hub='HB_X' is invalid"):
        load_ercot_dam_spp("HB_X", path=_w(tmp_path, "c.csv", text))


def test_local_naive_times_repeated_hour_by_order():
    t = pd.Series(["2022-11-06 00:00", "2022-11-06 01:00", "2022-11-06 01:00", "2022-11-06 02:00"])
    idx = parse_times(t, "local:America/Chicago")
    assert list(idx.strftime("%H")) == ["05", "06", "07", "08"]
    with pytest.raises(DataFormatError, match="spring-forward"):
        parse_times(pd.Series(["2022-03-13 02:30"]), "local:America/Chicago")


def test_unit_conversions(tmp_path):
    assert to_g_per_kwh(1000.0, "lbs/MWh") == pytest.approx(453.59237)
    assert to_g_per_kwh(0.4, "kg/kWh") == pytest.approx(400.0)
    with pytest.raises(ValueError, match="unit='furlongs' is invalid"):
        to_g_per_kwh(1.0, "furlongs")
    d = load_watttime_moer(path=_w(tmp_path, "m.csv", "time,Caiso_North\n2023-06-08 00:00:00,1000\n"
                                   "2023-06-08 00:05:00,900\n"))
    assert d.step_minutes == 5 and d["moer_g_per_kwh"].iloc[0] == pytest.approx(453.59237)


def test_electricitymaps_and_henry_hub(tmp_path):
    em = ("Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
          "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,"
          "Data Estimated,Data Estimation Method\n"
          "2022-01-01 00:00:00,USA,X,US-X,300,350,40,30,eia.gov,false,\n"
          "2022-01-01 01:00:00,USA,X,US-X,310,360,41,31,eia.gov,false,\n")
    d = load_electricitymaps(path=_w(tmp_path, "em.csv", em))
    assert d["ci_direct_g_per_kwh"].tolist() == [300, 310]
    hh = ("Henry Hub Natural Gas Spot Price\nhttps://www.eia.gov\n23:58\nData Source: x\n"
          "Day,Henry Hub Natural Gas Spot Price Dollars per Million Btu\n01/04/2022,4\n01/03/2022,3\n12/31/2021,2\n")
    p = _w(tmp_path, "hh.csv", hh)
    assert detect_format(p) == "henry_hub"
    d = load_henry_hub(path=p)
    assert d["gas_price_usd_per_mmbtu"].loc["2022-01-01"] == pytest.approx(2 + 1 / 3)  # weekend interpolated
    with pytest.raises(DataFormatError, match=r"'Day', data row 2 \(CSV line 7\)"):
        load_henry_hub(path=_w(tmp_path, "hh2.csv", hh.replace("01/03/2022", "Jan 3")))


def test_detect_and_declare_format(tmp_path):
    p = _w(tmp_path, "x.csv", FUELMIX)
    assert detect_format(p) == "eia930_fuelmix"
    assert load_grid_file(p)["nuclear_mw"].iloc[0] == 200
    assert load_grid_file(p, kind="eia930_fuelmix").frame.shape == (6, 9)
    with pytest.raises(DataFormatError, match="unknown grid-data format"):
        detect_format(_w(tmp_path, "y.csv", "a,b\n1,2\n"))
    with pytest.raises(ValueError, match="kind='nope' is invalid"):
        load_grid_file(p, kind="nope")
    with pytest.raises(DataNotFoundError, match="data not found at"):
        load_grid_file(tmp_path / "missing.csv")


def test_resample_and_step_compat():
    idx = pd.date_range("2022-01-01", periods=4, freq="1h", tz="UTC")
    f = pd.DataFrame({"x_mw": [0.0, 4.0, 8.0, 12.0]}, index=idx)
    q = resample(f, 60, 15)
    assert len(q) == 16 and q["x_mw"].iloc[2] == pytest.approx(0.5)  # 00:30-00:45 midpoint = 00:37:30
    assert resample(f, 60, 15, how="hold")["x_mw"].iloc[3] == 0.0
    assert resample(f, 60, 120)["x_mw"].tolist() == [2.0, 10.0]
    with pytest.raises(ValueError, match="step_minutes=45 is incompatible with the data step 60 min"):
        check_step(60, 45)
    with pytest.raises(ValueError, match="incompatible"):
        resample(f, 60, 7)


def test_out_of_range_dates(tmp_path):
    d = load_eia930_fuelmix(path=_w(tmp_path, "f.csv", FUELMIX))
    assert len(d.between("2022-01-01 02:00", "2022-01-01 04:00").frame) == 2
    with pytest.raises(ValueError, match="out of range.*allowed dates within"):
        d.between("2023-01-01", "2023-02-01")
    with pytest.raises(ValueError, match="allowed start < end"):
        d.between("2022-01-01 04:00", "2022-01-01 02:00")


PLANTS = ("plant_id,type,interconnect,zone_id,zone_name,state,bus_id,status,Pmax,Pmin,ramp_30,GenFuelCost,GenIOB,"
          "GenIOC,GenIOD,c2,c1,c0\n"
          "0,ng,Texas,301,East,Texas,1,1,100,30,50,3.0,7.0,0.01,0,0.03,21,300\n"
          "1,coal,Texas,301,East,Texas,2,1,200,80,0,2.0,9.5,0.0025,0,0.005,19,400\n"
          "2,wind,Texas,301,East,Texas,3,1,150,0,0,0,0,0,0,0,0,0\n"
          "3,ng,Eastern,1,Maine,Maine,4,0,50,10,20,5.0,8.0,0.0,0,0,40,100\n")


def test_powersimdata_fleet_costs_and_emissions(tmp_path):
    df = read_plant_table(_w(tmp_path, "plants.csv", PLANTS))
    f = fleet_from_plants(select_plants(df, interconnects=["Texas"]), fuel_price_usd_per_mmbtu={"gas": 4.0},
                          pmin_scale=0.5)
    assert f.fuel == ("gas", "coal")  # wind is exogenous, not a fleet unit
    assert f.cost_b_usd_per_mwh.tolist() == pytest.approx([7.0 * 4.0, 9.5 * 2.0])
    assert f.cost_a_usd_per_mw2h.tolist() == pytest.approx([0.01 * 4.0, 0.0025 * 2.0])
    assert f.min_output_mw.tolist() == [15.0, 40.0]
    assert f.ramp_mw_per_h[0] == 100.0 and np.isinf(f.ramp_mw_per_h[1])
    # gas heat rate 7 + 0.01*100 = 8.0 MMBtu/MWh x 53.07 kg/MMBtu; coal 9.5 + 0.5 = 10.0 x 95.5
    assert f.emission_t_co2_per_mwh.tolist() == pytest.approx([8.0 * 53.07e-3, 10.0 * 95.5e-3])
    with pytest.raises(ValueError, match=r"states=\['Atlantis'\] is invalid"):
        select_plants(df, states=["Atlantis"])
    bad = PLANTS.replace("0,coal,", "0,unobtainium,").replace("1,coal,", "1,unobtainium,")
    with pytest.raises(DataFormatError, match="column 'type', data row 2.*unobtainium"):
        read_plant_table(_w(tmp_path, "bad.csv", bad))


# gridstatus output shapes (columns as gridstatus 0.37 returns them), recorded inline
def test_fetch_conversions_from_gridstatus_shapes():
    t = pd.date_range("2022-07-01", periods=3, freq="1h", tz="UTC")
    mix = pd.DataFrame({"Interval Start": t, "Interval End": t + pd.Timedelta("1h"), "Respondent": "ERCO",
                        "Respondent Name": "ERCOT", "Coal": [100.0] * 3, "Natural Gas": [300.0] * 3,
                        "Nuclear": [100.0] * 3, "Solar": [0.0, 50.0, 100.0], "Wind": [500.0] * 3,
                        "Hydro": [1.0] * 3, "Other": [2.0] * 3, "Petroleum": [0.0] * 3, "Battery Storage": [np.nan] * 3})
    out = eia_fuel_mix_to_fuelmix(mix)
    assert list(out.columns) == ["timestamp", "WND", "SUN", "WAT", "OIL", "NG", "COL", "NUC", "OTH", "avg_CI"]
    assert out["SUN"].tolist() == [0.0, 50.0, 100.0]
    assert out["avg_CI"].iloc[0] == pytest.approx((300 * 403.3 + 100 * 955.0) / 1003.0)
    reg = pd.DataFrame({"Interval Start": t, "Interval End": t, "Respondent": "ERCO", "Respondent Name": "x",
                        "Load": [40000.0, 41000.0, 42000.0], "Net Generation": [1.0] * 3})
    dem = eia_region_to_demand(reg, "ERCO")
    assert list(dem.columns) == ["date_time_utc", "ERCO_raw_MW", "ERCO_cleaned_MW"]
    five = pd.date_range("2022-07-01", periods=24, freq="5min", tz="US/Pacific")
    lmp = pd.DataFrame({"Time": five, "Interval Start": five, "Interval End": five, "Market": "RTM",
                        "Location": "TH_NP15_GEN-APND", "Location Type": "Trading Hub", "LMP": np.arange(24.0),
                        "Energy": 0.0, "Congestion": 0.0, "Loss": 0.0})
    pr = iso_prices_to_csv(lmp, "TH_NP15_GEN-APND")
    assert list(pr.columns) == ["Datetime", "Price (USD/MWh)"]
    assert pr["Datetime"].iloc[0] == "2022-07-01 07:00:00" and pr["Price (USD/MWh)"].tolist() == [5.5, 17.5]


def test_fetch_roundtrip_through_loaders(tmp_path):
    t = pd.date_range("2022-07-01", periods=4, freq="1h", tz="UTC")
    mix = pd.DataFrame({"Interval Start": t, "Natural Gas": [300.0] * 4, "Wind": [5.0] * 4})
    p = tmp_path / "ERCO_2022_fuelmix_avgCI.csv"
    eia_fuel_mix_to_fuelmix(mix).to_csv(p, index=False)
    d = load_eia930_fuelmix(path=p)
    assert d["gas_mw"].tolist() == [300.0] * 4 and d["avg_ci_g_per_kwh"].iloc[0] == pytest.approx(300 * 403.3 / 305)
