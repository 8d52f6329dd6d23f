"""Fleet loaders: gridshift table round trip, RTS-GMLC and MATPOWER conversion, input errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from gridshift.data.fleets import (
    DEFAULT_EMISSION_T_CO2_PER_MWH,
    FLEET_COLUMNS,
    FleetFileError,
    load_fleet_csv,
    load_matpower_gen,
    load_rts_gmlc,
    save_fleet_csv,
)
from gridshift.envs.grid.types import FleetParams

LB = 0.45359237  # kg per lb

# --------------------------------------------------------------------------------------------
# gridshift fleet table
# --------------------------------------------------------------------------------------------

FLEET_CSV = """\
# a tiny test fleet (comment lines are allowed)
name,fuel,capacity_mw,min_output_mw,ramp_mw_per_h,cost_a_usd_per_mw2h,cost_b_usd_per_mwh,cost_c_usd_per_h,emission_t_co2_per_mwh
nuc1,nuclear,1000,900,60,0,8.1,0,0
ccgt1,gas,400,150,inf,0.005,28.5,1200.25,0.382
coal1,coal,600,250,240,0.0025,21.0,900,0.955
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_fleet_csv_loads_and_round_trips(tmp_path):
    f = load_fleet_csv(_write(tmp_path, "fleet.csv", FLEET_CSV))
    assert isinstance(f, FleetParams)
    assert f.name == ("nuc1", "ccgt1", "coal1")
    assert f.fuel == ("nuclear", "gas", "coal")
    np.testing.assert_array_equal(f.capacity_mw, [1000, 400, 600])
    assert math.isinf(f.ramp_mw_per_h[1])
    assert f.cost_c_usd_per_h[1] == 1200.25
    out = save_fleet_csv(f, tmp_path / "sub" / "copy.csv", comment="written by a test\nsecond line")
    assert out.read_text().startswith("# written by a test\n# second line\n")
    g = load_fleet_csv(out)
    assert g.name == f.name and g.fuel == f.fuel
    for c in FLEET_COLUMNS[2:]:
        np.testing.assert_array_equal(getattr(g, c), getattr(f, c))


def _replace_cell(text: str, unit: str, col: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[1].split(",")
    j = header.index(col)
    for k, line in enumerate(lines):
        cells = line.split(",")
        if cells[0] == unit:
            cells[j] = value
            lines[k] = ",".join(cells)
    return "\n".join(lines) + "\n"


# ccgt1 is data row 2 = CSV line 4 (a comment line, the header, then nuc1).
@pytest.mark.parametrize(
    ("col", "value", "expect"),
    [
        ("capacity_mw", "-400", ">= 0"),
        ("min_output_mw", "-1", ">= 0"),
        ("capacity_mw", "nan", "NaN"),
        ("cost_b_usd_per_mwh", "", "missing"),
        ("cost_a_usd_per_mw2h", "-0.1", ">= 0"),
        ("emission_t_co2_per_mwh", "abc", "not a number"),
        ("fuel", "unobtainium", "one of"),
        ("min_output_mw", "500", "exceeds the capacity"),
    ],
)
def test_fleet_csv_bad_value_names_file_column_row(tmp_path, col, value, expect):
    p = _write(tmp_path, "bad_fleet.csv", _replace_cell(FLEET_CSV, "ccgt1", col, value))
    with pytest.raises(FleetFileError) as ei:
        load_fleet_csv(p)
    msg = str(ei.value)
    assert "bad_fleet.csv" in msg
    assert repr(col) in msg
    assert "data row 2" in msg and "CSV line 4" in msg
    assert expect in msg


def test_fleet_csv_missing_column(tmp_path):
    lines = FLEET_CSV.splitlines()
    drop = lines[1].split(",").index("ramp_mw_per_h")
    text = "\n".join(
        ",".join(c for j, c in enumerate(line.split(",")) if j != drop) if k else line
        for k, line in enumerate(lines)
    )
    with pytest.raises(
        FleetFileError, match=r"no_ramp\.csv.*missing column.*ramp_mw_per_h.*CSV line 2"
    ):
        load_fleet_csv(_write(tmp_path, "no_ramp.csv", text))


def test_fleet_csv_extra_column_and_missing_file(tmp_path):
    text = FLEET_CSV.replace("emission_t_co2_per_mwh\n", "emission_t_co2_per_mwh,typo\n")
    text = "\n".join(
        line + ",1" if line[:1].isalpha() and not line.startswith("name") else line
        for line in text.splitlines()
    )
    with pytest.raises(FleetFileError, match="unexpected column.*typo"):
        load_fleet_csv(_write(tmp_path, "extra.csv", text))
    with pytest.raises(FleetFileError, match=r"nope\.csv.*not found"):
        load_fleet_csv(tmp_path / "nope.csv")


def test_fleet_csv_ragged_row(tmp_path):
    text = FLEET_CSV.replace("coal1,coal,600,250,240,", "coal1,coal,600,250,")
    with pytest.raises(FleetFileError, match=r"ragged\.csv.*CSV line 5 \(data row 3\).*fields"):
        load_fleet_csv(_write(tmp_path, "ragged.csv", text))


# --------------------------------------------------------------------------------------------
# RTS-GMLC gen.csv (tiny inline copy of the format)
# --------------------------------------------------------------------------------------------

RTS_HEADER = (
    "GEN UID,Unit Type,Fuel,PMax MW,PMin MW,Ramp Rate MW/Min,Fuel Price $/MMBTU,"
    "Output_pct_0,Output_pct_1,Output_pct_2,Output_pct_3,HR_avg_0,HR_incr_1,HR_incr_2,HR_incr_3,"
    "VOM,Emissions CO2 Lbs/MMBTU"
)
RTS_ROWS = [
    # single point: 10,000 BTU/kWh x $3/MMBtu = $30/MWh; 117 lb/MMBtu x 10 MMBtu/MWh
    "1_CT_1,CT,NG,50,20,5,3.0,1.0,NA,NA,NA,10000,NA,NA,NA,0,117",
    # one segment: F(50)=12*50=600, F(100)=600+8*50=1000 MMBtu/h; price 2, VOM 1
    "2_STEAM_1,STEAM,Coal,100,50,2,2.0,0.5,1.0,NA,NA,12000,8000,NA,NA,1.0,210",
    # two segments: F(40)=400, F(70)=400+8*30=640, F(100)=640+10*30=940 (exact quadratic)
    "3_CC_1,CC,NG,100,40,4,1.0,0.4,0.7,1.0,NA,10000,8000,10000,NA,0,118",
    # nuclear with 0 incremental heat rates (RTS-GMLC fills unused segments with 0)
    "4_NUCLEAR_1,NUCLEAR,Nuclear,400,396,20,0.8,0.99,0.995,1.0,NA,10000,0,0,NA,0,0",
    "5_HYDRO_1,HYDRO,Hydro,50,0,50,0,1.0,0,0,0,3412,0,0,0,0,0",
    "6_PV_1,PV,Solar,100,0,0,0,0,0,0,0,0,0,0,0,0,0",
    "7_SYNC_COND_1,SYNC_COND,Sync_Cond,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
    "8_STEAM_1,STEAM,Oil,12,5,1,10.0,0.5,1.0,NA,NA,15000,10000,NA,NA,0,170",
]


def _rts(tmp_path: Path, rows=None, name="gen.csv") -> Path:
    return _write(
        tmp_path, name, "\n".join([RTS_HEADER, *(RTS_ROWS if rows is None else rows)]) + "\n"
    )


def test_rts_hand_computed_costs_and_emissions(tmp_path):
    f = load_rts_gmlc(_rts(tmp_path))
    assert f.name == ("1_CT_1", "2_STEAM_1", "3_CC_1", "4_NUCLEAR_1", "5_HYDRO_1", "8_STEAM_1")
    assert f.fuel == ("gas", "coal", "gas", "nuclear", "hydro", "oil")
    g = dict(zip(f.name, range(f.n_units), strict=True))

    u = g["1_CT_1"]
    assert (f.cost_a_usd_per_mw2h[u], f.cost_c_usd_per_h[u]) == (0.0, 0.0)
    assert f.cost_b_usd_per_mwh[u] == pytest.approx(30.0)
    assert f.emission_t_co2_per_mwh[u] == pytest.approx(117 * 10 * LB / 1000)  # 0.5307
    assert f.emission_t_co2_per_mwh[u] == pytest.approx(0.5307, abs=1e-4)
    assert f.ramp_mw_per_h[u] == 300.0 and f.min_output_mw[u] == 20.0

    u = g["2_STEAM_1"]  # C(50)=600*2+50=1250, C(100)=1000*2+100=2100 -> b=17, c=400
    assert f.cost_a_usd_per_mw2h[u] == 0.0
    assert f.cost_b_usd_per_mwh[u] == pytest.approx(17.0)
    assert f.cost_c_usd_per_h[u] == pytest.approx(400.0)
    assert f.emission_t_co2_per_mwh[u] == pytest.approx(210 * 10 * LB / 1000)  # full-load HR 10

    u = g["3_CC_1"]  # quadratic through (40,400), (70,640), (100,940): a=1/30, b=13/3, c=520/3
    a, b, c = f.cost_a_usd_per_mw2h[u], f.cost_b_usd_per_mwh[u], f.cost_c_usd_per_h[u]
    assert (a, b, c) == pytest.approx((1 / 30, 13 / 3, 520 / 3))
    p = np.array([40.0, 70.0, 100.0])
    np.testing.assert_allclose(a * p**2 + b * p + c, [400, 640, 940])
    assert f.emission_t_co2_per_mwh[u] == pytest.approx(118 * 9.4 * LB / 1000)

    u = g["4_NUCLEAR_1"]  # zero incremental HR ignored -> average cost 10 x 0.8
    assert f.cost_b_usd_per_mwh[u] == pytest.approx(8.0)
    assert f.emission_t_co2_per_mwh[u] == 0.0

    u = g["5_HYDRO_1"]
    assert (f.cost_b_usd_per_mwh[u], f.emission_t_co2_per_mwh[u]) == (0.0, 0.0)


def test_rts_output_points_in_percent(tmp_path):
    rows = [RTS_ROWS[2].replace(",0.4,0.7,1.0,", ",40,70,100,")]
    f = load_rts_gmlc(_rts(tmp_path, rows))
    assert f.cost_a_usd_per_mw2h[0] == pytest.approx(1 / 30)


def test_rts_concave_curve_falls_back_to_line(tmp_path):
    # decreasing incremental heat rates: the best convex fit is the least-squares line
    rows = ["9_CT_1,CT,NG,100,40,4,1.0,0.4,0.7,1.0,NA,10000,10000,8000,NA,0,118"]
    f = load_rts_gmlc(_rts(tmp_path, rows))
    assert f.cost_a_usd_per_mw2h[0] == 0.0
    b, c = np.polyfit([40.0, 70.0, 100.0], [400.0, 700.0, 940.0], 1)
    assert (f.cost_b_usd_per_mwh[0], f.cost_c_usd_per_h[0]) == pytest.approx((b, c))


@pytest.mark.parametrize(
    ("row", "col", "expect"),
    [
        (
            "2_STEAM_1,STEAM,Unobtainium,100,50,2,2.0,0.5,1.0,NA,NA,12000,8000,NA,NA,1.0,210",
            "Fuel",
            "unknown fuel",
        ),
        (
            "2_STEAM_1,STEAM,Coal,-100,50,2,2.0,0.5,1.0,NA,NA,12000,8000,NA,NA,1.0,210",
            "PMax MW",
            ">= 0",
        ),
        (
            "2_STEAM_1,STEAM,Coal,100,NA,2,2.0,0.5,1.0,NA,NA,12000,8000,NA,NA,1.0,210",
            "PMin MW",
            "NaN",
        ),
        (
            "2_STEAM_1,STEAM,Coal,100,50,2,2.0,0.5,1.0,NA,NA,NaN,8000,NA,NA,1.0,210",
            "HR_avg_0",
            "NaN",
        ),
        (
            "2_STEAM_1,STEAM,Coal,100,50,2,2.0,0.5,1.0,NA,NA,12000,8000,NA,NA,1.0,-5",
            "Emissions CO2 Lbs/MMBTU",
            ">= 0",
        ),
    ],
)
def test_rts_bad_value_names_file_column_row(tmp_path, row, col, expect):
    p = _rts(tmp_path, [RTS_ROWS[0], row], name="bad_gen.csv")
    with pytest.raises(FleetFileError) as ei:
        load_rts_gmlc(p)
    msg = str(ei.value)
    assert "bad_gen.csv" in msg and repr(col) in msg and expect in msg
    assert "data row 2" in msg and "CSV line 3" in msg


def test_rts_missing_column(tmp_path):
    rows = [r.rsplit(",", 1)[0] for r in RTS_ROWS]
    header = RTS_HEADER.rsplit(",", 1)[0]
    p = _write(tmp_path, "gen_noco2.csv", "\n".join([header, *rows]) + "\n")
    with pytest.raises(
        FleetFileError, match=r"gen_noco2\.csv.*missing column.*Emissions CO2 Lbs/MMBTU"
    ):
        load_rts_gmlc(p)


# --------------------------------------------------------------------------------------------
# MATPOWER gen + gencost
# --------------------------------------------------------------------------------------------

MP_HEADER = "gen_idx,bus,Pg,status,Pmax,Pmin,ramp_agc,ramp_10,ramp_30,cost_model,ncost,cost_coef_2,cost_coef_1,cost_coef_0"
MP_ROWS = [
    "0,1.0,50,1.0,120.0,10.0,0,0,0,2.0,3.0,0.01,20.0,100.0",  # cheapest -> coal
    "1,2.0,0,1.0,0.0,0.0,0,0,0,2.0,3.0,0.0,0.0,0.0",  # Pmax 0: synchronous condenser, dropped
    "2,5.0,40,1.0,100.0,0.0,0,5,10,2.0,3.0,0.02,30.0,50.0",  # middle -> gas CC; ramp_30 wins
    "3,7.0,20,1.0,100.0,0.0,1.5,0,0,2.0,3.0,0.0,60.0,0.0",  # dearest -> gas CT; ramp_agc
    "4,9.0,0,0.0,100.0,0.0,0,0,0,2.0,3.0,0.0,1.0,0.0",  # out of service, dropped
]


def _mp(tmp_path: Path, rows=None, name="tiny_gen_gencost.csv") -> Path:
    return _write(
        tmp_path, name, "\n".join([MP_HEADER, *(MP_ROWS if rows is None else rows)]) + "\n"
    )


def test_matpower_hand_computed(tmp_path):
    f = load_matpower_gen(_mp(tmp_path))
    assert f.n_units == 3
    np.testing.assert_array_equal(f.cost_a_usd_per_mw2h, [0.01, 0.02, 0.0])
    np.testing.assert_array_equal(f.cost_b_usd_per_mwh, [20.0, 30.0, 60.0])
    np.testing.assert_array_equal(f.cost_c_usd_per_h, [100.0, 50.0, 0.0])
    np.testing.assert_array_equal(f.min_output_mw, [10.0, 0.0, 0.0])
    assert math.isinf(f.ramp_mw_per_h[0])
    assert f.ramp_mw_per_h[1] == 20.0  # 10 MW per 30 min
    assert f.ramp_mw_per_h[2] == 90.0  # 1.5 MW/min
    assert f.fuel == ("coal", "gas", "gas")
    assert f.name == (
        "tiny_g0_bus1_coal_steam",
        "tiny_g2_bus5_gas_cc",
        "tiny_g3_bus7_gas_ct",
    )
    np.testing.assert_allclose(
        f.emission_t_co2_per_mwh,
        [95.5 * 10.0 / 1000, 53.07 * 7.2 / 1000, 53.07 * 11.0 / 1000],
    )


def test_matpower_explicit_technologies_and_rts96(tmp_path):
    p = _mp(tmp_path)
    f = load_matpower_gen(p, technologies=["nuclear", "hydro", "oil_ct"])
    assert f.fuel == ("nuclear", "hydro", "oil")
    assert f.emission_t_co2_per_mwh[2] == DEFAULT_EMISSION_T_CO2_PER_MWH["oil_ct"]
    with pytest.raises(FleetFileError, match="technologies has 2 entries, expected 3"):
        load_matpower_gen(p, technologies=["coal_steam", "gas_cc"])
    with pytest.raises(
        FleetFileError, match=r"tiny_gen_gencost\.csv.*'Pmax'.*data row 1 \(CSV line 2\).*RTS-96"
    ):
        load_matpower_gen(p, technology_rule="rts96")


@pytest.mark.parametrize(
    ("row", "col", "expect"),
    [
        ("2,5.0,40,1.0,100.0,-5.0,0,5,10,2.0,3.0,0.02,30.0,50.0", "Pmin", ">= 0"),
        ("2,5.0,40,1.0,100.0,0.0,0,5,10,2.0,3.0,0.02,nan,50.0", "cost_coef_1", "NaN"),
        ("2,5.0,40,1.0,100.0,0.0,0,5,10,1.0,3.0,0.02,30.0,50.0", "cost_model", "expected 2"),
        ("2,5.0,40,1.0,nan,0.0,0,5,10,2.0,3.0,0.02,30.0,50.0", "Pmax", "NaN"),
        ("2,5.0,40,1.0,100.0,120.0,0,5,10,2.0,3.0,0.02,30.0,50.0", "Pmin", "exceeds the capacity"),
    ],
)
def test_matpower_bad_value_names_file_column_row(tmp_path, row, col, expect):
    p = _mp(tmp_path, [MP_ROWS[0], row], name="bad_case.csv")
    with pytest.raises(FleetFileError) as ei:
        load_matpower_gen(p)
    msg = str(ei.value)
    assert "bad_case.csv" in msg and repr(col) in msg and expect in msg
    assert "data row 2" in msg and "CSV line 3" in msg


def test_matpower_missing_column(tmp_path):
    header = MP_HEADER.replace(",cost_coef_0", "")
    rows = [r.rsplit(",", 1)[0] for r in MP_ROWS]
    p = _write(tmp_path, "nocoef.csv", "\n".join([header, *rows]) + "\n")
    with pytest.raises(FleetFileError, match=r"nocoef\.csv.*missing column.*cost_coef_0"):
        load_matpower_gen(p)


# --------------------------------------------------------------------------------------------
# real data (../shared/data)
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_rts_gmlc_real(shared_data):
    f = load_rts_gmlc(shared_data / "fleets" / "rts_gmlc" / "gen.csv")
    fuels = np.array(f.fuel)
    cap = {fu: float(f.capacity_mw[fuels == fu].sum()) for fu in set(f.fuel)}
    print(f"RTS-GMLC: {f.n_units} units, {f.total_capacity_mw():.0f} MW, by fuel {cap}")
    assert f.n_units == 93
    assert 8000.0 < f.total_capacity_mw() < 10000.0
    assert cap == pytest.approx(
        {"coal": 2317, "gas": 5035, "oil": 324, "nuclear": 400, "hydro": 1000}
    )
    ef = f.emission_t_co2_per_mwh
    assert np.all((ef >= 0.0) & (ef <= 1.3))
    cc = np.array(["_CC_" in n for n in f.name])
    coal = fuels == "coal"
    assert ef[coal].min() > ef[cc].max()  # every coal unit dirtier per MWh than any CCGT
    assert 0.33 < ef[cc].mean() < 0.45 and 0.9 < ef[coal].mean() < 1.2
    mc = f.marginal_cost_usd_per_mwh(f.capacity_mw)
    assert (
        mc[fuels == "nuclear"].max() < mc[coal].mean() < mc[cc].mean() < mc[fuels == "oil"].mean()
    )
    assert np.all(f.cost_a_usd_per_mw2h >= 0.0)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("case", "n_units", "total_mw"),
    [("case30", 6, 335.0), ("case24_ieee_rts", 32, 3405.0)],
)
def test_ieee_cases_real(shared_data, case, n_units, total_mw):
    f = load_matpower_gen(shared_data / "fleets" / "ieee" / f"{case}_gen_gencost.csv")
    print(f"{case}: {f.n_units} units, {f.total_capacity_mw():.0f} MW, fuels {sorted(set(f.fuel))}")
    assert f.n_units == n_units
    assert f.total_capacity_mw() == pytest.approx(total_mw)
    assert np.all(np.isinf(f.ramp_mw_per_h))  # the IEEE files carry no ramp data
    if case.startswith("case24"):
        fuels = np.array(f.fuel)
        cap = {fu: float(f.capacity_mw[fuels == fu].sum()) for fu in set(f.fuel)}
        # one RTS-96 area: 2 x U400 nuclear, 6 x U50 hydro, coal 4 x U76 + 4 x U155 + U350,
        # oil 4 x U20 + 3 x U100 + 3 x U197 + 5 x U12
        assert cap["nuclear"] == 800.0 and cap["hydro"] == 300.0
        assert cap["coal"] == 4 * 76 + 4 * 155 + 350
        assert cap["oil"] == 4 * 20 + 3 * 100 + 3 * 197 + 5 * 12


# --------------------------------------------------------------------------------------------
# Unit-commitment data (issue #14)
# --------------------------------------------------------------------------------------------


def test_fleet_csv_unit_commitment_columns_round_trip(tmp_path):
    from gridshift.data.fleets import UC_COLUMNS

    text = FLEET_CSV.replace("emission_t_co2_per_mwh\n", "emission_t_co2_per_mwh,startup_cost_usd,min_up_h,fast_start\n")
    text = text.replace("0,8.1,0,0\n", "0,8.1,0,0,0,24,0\n").replace("1200.25,0.382\n", "1200.25,0.382,5000,8,0\n")
    text = text.replace("900,0.955\n", "900,0.955,12000.5,8,1\n")
    f = load_fleet_csv(_write(tmp_path, "uc.csv", text))
    np.testing.assert_array_equal(f.startup_cost_usd, [0.0, 5000.0, 12000.5])
    np.testing.assert_array_equal(f.min_up_h, [24.0, 8.0, 8.0])
    np.testing.assert_array_equal(f.min_down_h, [0.0, 0.0, 0.0])  # absent column: default
    assert f.fast_start.tolist() == [False, False, True]
    g = load_fleet_csv(save_fleet_csv(f, tmp_path / "copy.csv"))
    for c in FLEET_COLUMNS[2:] + UC_COLUMNS:
        np.testing.assert_array_equal(getattr(g, c), getattr(f, c))
    with pytest.raises(FleetFileError, match=r"'fast_start'.*data row 3"):
        load_fleet_csv(_write(tmp_path, "bad_uc.csv", text.replace("900,0.955,12000.5,8,1", "900,0.955,12000.5,8,2")))


def test_rts_unit_commitment_fields(tmp_path):
    header = RTS_HEADER + ",Min Up Time Hr,Min Down Time Hr,Start Heat Hot MBTU,Non Fuel Start Cost $,Start Time Hot Hr"
    rows = [RTS_ROWS[0] + ",2.2,2.2,452.8,0,0.25", RTS_ROWS[1] + ",8,4,3379.4,100,3", RTS_ROWS[4] + ",0,0,0,0,0"]
    f = load_rts_gmlc(_write(tmp_path, "gen.csv", "\n".join([header, *rows]) + "\n"))
    # start-up = hot-start heat x fuel price + non-fuel cost: 452.8 x 3 and 3379.4 x 2 + 100
    np.testing.assert_allclose(f.startup_cost_usd, [452.8 * 3.0, 3379.4 * 2.0 + 100.0, 0.0])
    np.testing.assert_array_equal(f.min_up_h, [2.2, 8.0, 0.0])
    np.testing.assert_array_equal(f.min_down_h, [2.2, 4.0, 0.0])
    assert f.fast_start.tolist() == [True, False, False]  # hot start <= 15 min; hydro is not committed
    np.testing.assert_array_equal(f.vom_usd_per_mwh, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(f.fuel_price_usd_per_mmbtu, [3.0, 2.0, 0.0])


def test_matpower_unit_commitment_from_class(tmp_path):
    from gridshift.data.fleets_matpower import TYPICAL_HEAT_RATE
    from gridshift.data.fleets_rts import RTS_UC_CLASSES

    f = load_matpower_gen(_mp(tmp_path))  # coal_steam, gas_cc, gas_ct
    cls = ("coal_steam", "gas_cc", "gas_ct")
    np.testing.assert_array_equal(f.min_up_h, [RTS_UC_CLASSES[c]["min_up_h"] for c in cls])
    assert f.fast_start.tolist() == [False, False, True]
    expect = [RTS_UC_CLASSES[c]["start_mmbtu_per_mw"] * f.capacity_mw[k] * f.cost_b_usd_per_mwh[k] / TYPICAL_HEAT_RATE[c]
              for k, c in enumerate(cls)]
    np.testing.assert_allclose(f.startup_cost_usd, expect)


@pytest.mark.shared_data
def test_rts_uc_classes_are_the_real_medians(shared_data):
    from gridshift.data.fleets_rts import RTS_CLASS_OF_TYPE, RTS_UC_CLASSES, rts_uc_class_medians

    got = rts_uc_class_medians(shared_data / "fleets" / "rts_gmlc" / "gen.csv")
    for cls in RTS_CLASS_OF_TYPE.values():
        assert got[cls] == RTS_UC_CLASSES[cls], cls
    f = load_rts_gmlc(shared_data / "fleets" / "rts_gmlc" / "gen.csv")
    ct = np.array(["_CT_" in n for n in f.name])
    assert f.fast_start[ct].all() and not f.fast_start[~ct].any()
    assert (f.startup_cost_usd[~ct & (np.array(f.fuel) == "coal")] > 0).all()


@pytest.mark.shared_data
def test_powersimdata_unit_commitment_classes(shared_data):
    from gridshift.data.region_fleet import region_fleet

    f = region_fleet("NYIS", year=2022, pmin_scale=1.0)
    fuel = np.array(f.fuel)
    small_gas = (fuel == "gas") & (f.capacity_mw < 50.0)
    assert small_gas.any() and f.fast_start[small_gas].all()
    assert not f.fast_start[fuel == "coal"].any()
    # fast units ramp at least at the gas-CT class rate (6.73 %/min -> 404 % of Pmax per hour)
    assert np.all(f.ramp_mw_per_h[f.fast_start & (fuel == "gas")] >= 0.0673 * 60 * f.capacity_mw[f.fast_start & (fuel == "gas")] - 1e-9)
    assert f.min_output_mw.sum() > 0.2 * f.capacity_mw.sum() and np.all(f.startup_cost_usd[fuel == "coal"] > 0)
    avg = region_fleet("NYIS", year=2022, cost_model="average")
    gas = np.array(avg.fuel) == "gas"
    assert np.all(avg.cost_a_usd_per_mw2h == 0) and np.all(avg.cost_c_usd_per_h == 0)
    hr = avg.cost_b_usd_per_mwh[gas] / avg.fuel_price_usd_per_mmbtu[gas]
    assert hr.min() >= 6.4 - 1e-9 and hr.max() <= 13.0 + 1e-9  # EIA's physical range for gas units
