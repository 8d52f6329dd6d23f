"""Malformed data files: every loader kind reports the file, the column, the row and what was
expected, with the one error type ``DataFormatError``. Tiny hand-made files in tmp_path."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from gridshift.data import fleets as FL
from gridshift.data import loaders as L
from gridshift.data import traces as T
from gridshift.data.loaders import DataFormatError
from gridshift.data.paths import DataNotFoundError
from gridshift.data.powersimdata import read_plant_table
from gridshift.data.profiles import load_profile_table

# ------------------------------------------------------------------------------ tiny valid files

FUELMIX = "timestamp,WND,SUN,WAT,OIL,NG,COL,NUC,OTH,avg_CI\n" + "".join(
    f"2022-01-01 {h:02d}:00:00+00:00,{100 + h},0,5,0,500,300,200,10,{300 + h}\n" for h in range(4))
DEMAND = "date_time_utc,ERCO_raw_MW,ERCO_cleaned_MW\n" + "".join(
    f"2022-01-01 {h:02d}:00:00,{10 + h},{11 + h}\n" for h in range(4))
EM = ("Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),"
      "Low Carbon Percentage,Renewable Percentage\n") + "".join(
    f"2022-01-01 {h:02d}:00:00,US-X,{300 + h},{350 + h},40,30\n" for h in range(4))
PRICES = "Datetime,Price (USD/MWh)\n" + "".join(f"2022-01-01 {h:02d}:00:00,{20 + h}\n" for h in range(4))
ERCOT = "Delivery Date,Hour Ending,Repeated Hour Flag,HB_HUBAVG\n" + "".join(
    f"01/0{d}/2022,{h:02d}:00,N,{d * 10 + h}\n" for d in (3, 4) for h in (1, 2))
HH_PREAMBLE = "Henry Hub Natural Gas Spot Price\nhttps://www.eia.gov\n23:58\nData Source: x\n"
HH = HH_PREAMBLE + ("Day,Henry Hub Natural Gas Spot Price Dollars per Million Btu\n"
                    "01/05/2022,5\n01/04/2022,4\n01/03/2022,3\n")
WATTTIME = "time,Caiso_North\n" + "".join(f"2023-06-08 00:{m:02d}:00,{900 + m}\n" for m in (0, 5, 10, 15))
ENTSOE_PROD = ",Fossil Gas,Nuclear,DE\n" + "".join(f"2020-01-01 {h:02d}:00:00,{100 + h},400,{h}\n" for h in range(4))
ENTSOE_CI = "Time,Carbon Intensity\n" + "".join(f"2020-01-01 {h:02d}:00:00,{50 + h}\n" for h in range(4))
SOLCAST = "datetime,Berlin,Paris\n" + "".join(f"2022-06-01 12:{m:02d}:00,0.{m + 1},0.5\n" for m in (0, 5, 10, 15))

ALIBABA = """name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
p0,12000,16384,1,1000,,LS,Running,0,100,0
p1,6000,12288,1,500,,BE,Failed,10,3610,12
p2,4000,8192,8,1000,,BE,Succeeded,20,18020,
"""
AZURE = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:00:00.0000000,100,10
2023-11-16 18:00:01.5000000,200,20
2023-11-16 18:00:03.0000000,300,30
"""
GOOGLE = """job_id,submit_s,schedule_s,end_s,duration_s,end_event,sched_class,priority,n_tasks,cpu_req_sum,mem_req_sum
1,600,601,701,100,FINISH,3,9,1,0.5,0.1
2,700,700,800,100,FINISH,2,0,2,0.25,0.1
3,800,800,11600,10800,KILL,1,4,1,0.1,0.1
"""
HOURLY = """hour_since_trace_start,sched_class_0,sched_class_1,sched_class_2,sched_class_3,total
0,3,0,1,0,4
1,0,2,0,1,3
2,5,1,0,0,6
"""
PHILLY = """job_id,submitted_time,num_gpus,runtime_min,n_attempts
a1,2017-09-04 10:00:00,8,60,1
a2,2017-09-04 11:00:00,4,300,3
a3,2017-09-04 12:00:00,4,30,1
"""

FLEET = ("name,fuel,capacity_mw,min_output_mw,ramp_mw_per_h,cost_a_usd_per_mw2h,cost_b_usd_per_mwh,"
         "cost_c_usd_per_h,emission_t_co2_per_mwh\n"
         "nuc1,nuclear,1000,900,60,0,8.1,0,0\n"
         "ccgt1,gas,400,150,inf,0.005,28.5,1200.25,0.382\n"
         "coal1,coal,600,250,240,0.0025,21.0,900,0.955\n")
RTS = ("GEN UID,Unit Type,Fuel,PMax MW,PMin MW,Ramp Rate MW/Min,Fuel Price $/MMBTU,Output_pct_0,Output_pct_1,"
       "HR_avg_0,HR_incr_1,VOM,Emissions CO2 Lbs/MMBTU\n"
       "1_CT_1,CT,NG,50,20,5,3.0,1.0,NA,10000,NA,0,117\n"
       "2_STEAM_1,STEAM,Coal,100,50,2,2.0,0.5,1.0,12000,8000,1.0,210\n"
       "3_STEAM_1,STEAM,Oil,12,5,1,10.0,0.5,1.0,15000,10000,0,170\n")
MATPOWER = ("gen_idx,bus,status,Pmax,Pmin,ramp_30,cost_model,ncost,cost_coef_2,cost_coef_1,cost_coef_0\n"
            "0,1,1,120,10,0,2,3,0.01,20,100\n"
            "1,2,1,100,0,10,2,3,0.02,30,50\n"
            "2,7,1,100,0,0,2,3,0,60,0\n")
PLANTS = ("plant_id,type,interconnect,zone_id,zone_name,state,bus_id,status,Pmax,Pmin,ramp_30,GenFuelCost,GenIOB,"
          "GenIOC,c0\n"
          "0,ng,Texas,301,East,Texas,1,1,100,30,50,3.0,7.0,0.01,300\n"
          "1,coal,Texas,301,East,Texas,2,1,200,80,0,2.0,9.5,0.0025,400\n"
          "2,ng,Texas,301,East,Texas,3,1,150,0,20,3.0,8.0,0.0,100\n")
PROFILE = "# peak_demand_mw: 1000\n" + (
    "month,daytype,hour,demand_pu_mean,demand_pu_std,solar_pu_mean,solar_pu_std,wind_pu_mean,wind_pu_std,"
    "hydro_pu_mean,nuclear_pu_mean\n") + "".join(
    f"{m},{d},{h},0.5,0.05,0.2,0.02,0.3,0.03,0.01,0.1\n" for m in range(1, 13) for d in ("weekday", "weekend")
    for h in range(24))


def _ercot(p):
    return L.load_ercot_dam_spp(path=p)


#: kind -> (loader, valid text, numeric column, columns to drop for the missing-column case)
KINDS = {
    "eia930_fuelmix": (lambda p: L.load_eia930_fuelmix(path=p), FUELMIX, "NG", ["NG", "avg_CI"]),
    "eia930_demand": (lambda p: L.load_eia930_demand("ERCO", path=p), DEMAND, "ERCO_cleaned_MW",
                      ["date_time_utc"]),
    "electricitymaps": (lambda p: L.load_electricitymaps(path=p), EM, "Carbon Intensity gCO₂eq/kWh (direct)",
                        ["Low Carbon Percentage", "Renewable Percentage"]),
    "iso_prices": (lambda p: L.load_iso_prices(path=p), PRICES, "Price (USD/MWh)", ["Datetime"]),
    "ercot_dam_spp": (_ercot, ERCOT, "HB_HUBAVG", ["Hour Ending", "Repeated Hour Flag"]),
    "henry_hub": (lambda p: L.load_henry_hub(path=p), HH, "Henry Hub Natural Gas Spot Price Dollars per Million Btu",
                  ["Day"]),
    "watttime_moer": (lambda p: L.load_watttime_moer(path=p), WATTTIME, "Caiso_North", ["time"]),
    "entsoe_production": (lambda p: L.load_entsoe_production(path=p), ENTSOE_PROD, "Nuclear", []),
    "entsoe_ci": (lambda p: L.load_entsoe_ci(path=p), ENTSOE_CI, "Carbon Intensity", ["Carbon Intensity"]),
    "solcast_pv": (lambda p: L.load_solcast_pv(path=p), SOLCAST, "Berlin", ["datetime"]),
    "alibaba_gpu_2023": (T.load_alibaba_gpu_2023, ALIBABA, "creation_time", ["qos", "deletion_time"]),
    "azure_llm_2023": (T.load_azure_llm_2023, AZURE, "ContextTokens", ["GeneratedTokens"]),
    "google_2011": (T.load_google_2011, GOOGLE, "cpu_req_sum", ["submit_s", "sched_class"]),
    "philly": (T.load_philly, PHILLY, "runtime_min", ["num_gpus", "n_attempts"]),
    "google_2011_hourly": (T.load_google_2011_hourly, HOURLY, "sched_class_0", ["total"]),
    "fleet_csv": (FL.load_fleet_csv, FLEET, "capacity_mw", ["ramp_mw_per_h", "emission_t_co2_per_mwh"]),
    "rts_gmlc": (FL.load_rts_gmlc, RTS, "PMax MW", ["HR_avg_0", "VOM"]),
    "matpower": (FL.load_matpower_gen, MATPOWER, "cost_coef_1", ["Pmin", "cost_coef_0"]),
    "powersimdata": (read_plant_table, PLANTS, "Pmax", ["state", "GenIOB"]),
    "profiles": (load_profile_table, PROFILE, "demand_pu_mean", ["hour", "wind_pu_std"]),
}
CSV_KINDS = sorted(KINDS)


def _header_index(kind: str) -> int:
    """0-based physical line of the header in the kind's sample."""
    return {"henry_hub": 4, "profiles": 1}.get(kind, 0)


def _lines(kind: str) -> tuple[list[str], int]:
    return KINDS[kind][1].splitlines(), _header_index(kind)


def _set_cell(kind: str, col: str, data_row: int, value: str) -> str:
    """The kind's sample with ``col`` of 1-based ``data_row`` set to ``value``."""
    lines, h = _lines(kind)
    header = next(csv.reader([lines[h]]))
    rec = next(csv.reader([lines[h + data_row]]))
    rec[header.index(col)] = value
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(rec)
    lines[h + data_row] = buf.getvalue()
    return "\n".join(lines) + "\n"


def _drop_columns(kind: str, cols: list[str]) -> str:
    lines, h = _lines(kind)
    header = next(csv.reader([lines[h]]))
    keep = [j for j, c in enumerate(header) if c not in cols]
    out = lines[:h]
    for line in lines[h:]:
        rec = next(csv.reader([line]))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([rec[j] for j in keep])
        out.append(buf.getvalue())
    return "\n".join(out) + "\n"


def _fails(kind: str, tmp_path, content, name: str = "bad.csv") -> DataFormatError:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        KINDS[kind][0](p)
    assert name in str(e.value)
    assert e.value.file is not None and e.value.file.endswith(name)
    return e.value


# ------------------------------------------------------------------------------ every kind


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_valid_sample_loads(tmp_path, kind):
    """The samples below are valid, so each failure further down is due to its one defect."""
    p = tmp_path / "ok.csv"
    p.write_text(KINDS[kind][1], encoding="utf-8")
    out = KINDS[kind][0](p)
    assert out is not None


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_header_only_file(tmp_path, kind):
    lines, h = _lines(kind)
    err = _fails(kind, tmp_path, "\n".join(lines[:h + 1]) + "\n")
    assert f"no data rows after the header (CSV line {h + 1})" in str(err)
    assert "expected at least" in str(err)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_empty_file(tmp_path, kind):
    err = _fails(kind, tmp_path, "")
    assert "the file is empty (no header line)" in str(err)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_binary_file(tmp_path, kind):
    err = _fails(kind, tmp_path, b"PAR1\x15\x04\x15\x00\x00\x00" + bytes(range(256)))
    assert "binary data (a NUL byte at byte offset 7)" in str(err)
    assert "expected a UTF-8" in str(err)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_utf16_file(tmp_path, kind):
    err = _fails(kind, tmp_path, KINDS[kind][1].encode("utf-16"))
    assert "UTF-16 encoded" in str(err) and "save it as UTF-8" in str(err)
    err = _fails(kind, tmp_path, KINDS[kind][1].encode("utf-16-le"), name="nobom.csv")
    assert "UTF-16 encoded" in str(err)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_invalid_utf8_names_the_line(tmp_path, kind):
    lines, h = _lines(kind)
    raw = KINDS[kind][1].encode("utf-8")
    at = raw.index(lines[h + 2].encode("utf-8"))  # start of data row 2
    err = _fails(kind, tmp_path, raw[:at] + b"\xff" + raw[at:])
    assert f"CSV line {h + 3}: byte 0xff" in str(err) and "not valid UTF-8" in str(err)
    assert err.line == h + 3


@pytest.mark.parametrize("value,problem", [("inf", "is not finite"), ("-inf", "is not finite"),
                                           ("1e400", "is not finite"), ("1e300", "is out of range"),
                                           ("-1e300", "is out of range"), ("abc", "is not a number")])
@pytest.mark.parametrize("kind", CSV_KINDS)
def test_non_finite_or_huge_number(tmp_path, kind, value, problem):
    col = KINDS[kind][2]
    h = _header_index(kind)
    err = _fails(kind, tmp_path, _set_cell(kind, col, 2, value))
    msg = str(err)
    assert f"column {col!r}, data row 2 (CSV line {h + 3}): value {value!r} {problem}: expected a" in msg
    assert (err.column, err.row, err.line, err.found) == (col, 2, h + 3, value)
    assert err.expected and ("number" in err.expected or "integer" in err.expected)


@pytest.mark.parametrize("kind", [k for k in CSV_KINDS if KINDS[k][3]])
def test_missing_columns_all_named(tmp_path, kind):
    drop = KINDS[kind][3]
    err = _fails(kind, tmp_path, _drop_columns(kind, drop))
    assert f"missing column(s) {drop}" in str(err)
    assert "expected columns" in str(err) and err.column == drop[0]


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_ragged_row(tmp_path, kind):
    lines, h = _lines(kind)
    lines[h + 1] += ",extra"
    err = _fails(kind, tmp_path, "\n".join(lines) + "\n")
    n = len(next(csv.reader([lines[h]])))
    assert f"CSV line {h + 2} (data row 1) has {n + 1} fields: expected {n}" in str(err)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_missing_file(tmp_path, kind):
    with pytest.raises(DataNotFoundError) as e:
        KINDS[kind][0](tmp_path / "absent.csv")
    assert isinstance(e.value, DataFormatError) and isinstance(e.value, FileNotFoundError)
    assert "data not found at" in str(e.value) and "absent.csv: file not found" in str(e.value)


# ------------------------------------------------------------------------------ duplicates


@pytest.mark.parametrize("kind,col,first,what", [
    ("alibaba_gpu_2023", "name", "p0", "pod"),
    ("google_2011", "job_id", "1", "job"),
    ("philly", "job_id", "a1", "job"),
    ("google_2011_hourly", "hour_since_trace_start", "0", "hour"),
    ("fleet_csv", "name", "nuc1", "unit"),
    ("rts_gmlc", "GEN UID", "1_CT_1", "unit"),
    ("matpower", "gen_idx", "0", "generator"),
    ("powersimdata", "plant_id", "0", "plant"),
])
def test_duplicated_key(tmp_path, kind, col, first, what):
    h = _header_index(kind)
    err = _fails(kind, tmp_path, _set_cell(kind, col, 3, first))
    assert (f"column {col!r}, data row 3 (CSV line {h + 4}): value {first!r} duplicates data row 1 "
            f"(CSV line {h + 2}): expected one row per {what}") in str(err)


def test_duplicated_azure_request(tmp_path):
    text = AZURE + AZURE.splitlines()[2] + "\n"
    err = _fails("azure_llm_2023", tmp_path, text)
    assert "data row 4 (CSV line 5)" in str(err) and "duplicates data row 2 (CSV line 3)" in str(err)


def test_duplicated_fleet_unit_would_double_capacity(tmp_path):
    p = tmp_path / "fleet.csv"
    p.write_text(FLEET + FLEET.splitlines()[2] + "\n")
    with pytest.raises(DataFormatError, match=r"column 'name', data row 4 .* value 'ccgt1' duplicates data row 2"):
        FL.load_fleet_csv(p)


def test_duplicated_profile_cell(tmp_path):
    err = _fails("profiles", tmp_path, _set_cell("profiles", "hour", 2, "0"))
    assert "data row 2 (CSV line 4)" in str(err) and "duplicates data row 1 (CSV line 3)" in str(err)


# ------------------------------------------------------------------------------ per-kind ranges


def test_fleet_ramp_inf_allowed_but_not_minus_inf_or_huge(tmp_path):
    assert np.isinf(FL.load_fleet_csv(_write(tmp_path, "ok.csv", FLEET)).ramp_mw_per_h[1])
    for v, problem in (("-inf", "is not finite"), ("1e300", "is out of range")):
        err = _fails("fleet_csv", tmp_path, _set_cell("fleet_csv", "ramp_mw_per_h", 2, v))
        assert f"column 'ramp_mw_per_h', data row 2 (CSV line 3): value {v!r} {problem}" in str(err)


def test_trace_times_cannot_reach_the_ledger_as_inf(tmp_path):
    """A huge time would make a job of infinite work (-inf/inf energies in the job ledger)."""
    for col in ("creation_time", "deletion_time", "scheduled_time"):
        err = _fails("alibaba_gpu_2023", tmp_path, _set_cell("alibaba_gpu_2023", col, 1, "1e300"))
        assert f"column {col!r}, data row 1" in str(err) and "<= 1e+10" in str(err)
    df = T.load_alibaba_gpu_2023(_write(tmp_path, "ok.csv", ALIBABA))
    assert np.isfinite(df["work"]).all() and np.isfinite(df["duration_s"]).all()


def test_caiso_moer_parquet_errors(tmp_path):
    idx = pd.date_range("2020-01-01", periods=3, freq="5min", tz="UTC", name="time_utc")
    good = pd.DataFrame({"moer_PGE": [0.2, 0.3, 0.25], "moer_SCE": [0.2, 0.2, 0.2]}, index=idx)
    p = tmp_path / "moer.parquet"
    good.to_parquet(p)
    assert L.load_caiso_moer(path=p)["moer_pge_g_per_kwh"].iloc[1] == pytest.approx(300.0)
    good.iloc[:0].to_parquet(p)
    with pytest.raises(DataFormatError, match=r"moer\.parquet: only 0 row\(s\): expected at least 2 rows"):
        L.load_caiso_moer(path=p)
    for v, problem in ((np.inf, "is not finite"), (1e300, "is out of range")):
        bad = good.copy()
        bad.iloc[1, 0] = v
        bad.to_parquet(p)
        with pytest.raises(DataFormatError) as e:
            L.load_caiso_moer(path=p)
        assert f"column 'moer_PGE', data row 2: value {v!r} {problem}" in str(e.value)
        assert "CSV line" not in str(e.value)
    good.drop(columns=["moer_SCE"]).to_parquet(p)
    with pytest.raises(DataFormatError, match=r"missing column\(s\) \['moer_SCE'\]"):
        L.load_caiso_moer(path=p)
    p.write_text("not parquet")
    with pytest.raises(DataFormatError, match="not a readable Parquet file"):
        L.load_caiso_moer(path=p)


def test_format_detection_reports_encoding(tmp_path):
    for detect, text in ((L.detect_format, FUELMIX), (T.detect_trace_format, PHILLY)):
        p = tmp_path / "u16.csv"
        p.write_bytes(text.encode("utf-16"))
        with pytest.raises(DataFormatError, match="u16.csv: the file is UTF-16 encoded"):
            detect(p)
    p.write_bytes(FUELMIX.encode("utf-16"))
    with pytest.raises(DataFormatError, match="UTF-16"):
        L.load_grid_file(p)


# ------------------------------------------------------------------------------ one error type


def test_old_error_names_are_the_one_error_type():
    import gridshift.data as D
    from gridshift.data import csvio
    from gridshift.data.fleets import FleetFileError
    from gridshift.data.loaders.timeseries import DataFormatError as TimeseriesError
    from gridshift.data.profiles import ProfileFileError

    assert D.DataFormatError is csvio.DataFormatError is DataFormatError
    assert FleetFileError is ProfileFileError is TimeseriesError is DataFormatError
    assert issubclass(T.TraceTooShortError, DataFormatError) and issubclass(DataFormatError, ValueError)
    assert issubclass(csvio.DataFileNotFoundError, DataNotFoundError)


def test_error_attributes_and_message_shape(tmp_path):
    err = _fails("fleet_csv", tmp_path, _set_cell("fleet_csv", "capacity_mw", 2, "abc"))
    assert str(err) == (f"{tmp_path / 'bad.csv'}: column 'capacity_mw', data row 2 (CSV line 3): value 'abc' is not "
                        "a number: expected a number (finite, >= 0 and <= 100000)")
    assert (err.column, err.row, err.line, err.found) == ("capacity_mw", 2, 3, "abc")
    assert err.expected == "a number (finite, >= 0 and <= 100000)"


def test_real_grid_reports_a_malformed_fuel_mix_file_not_missing_data(tmp_path, monkeypatch):
    from gridshift.data.scenario_builder import build_real_grid

    d = tmp_path / "grid" / "eia930_fuelmix_2022"
    d.mkdir(parents=True)
    (d / "ERCO_2022_fuelmix_avgCI.csv").write_text(FUELMIX.replace(",500,", ",inf,"))
    (tmp_path / "grid" / "eia930_demand_2022_2023.csv").write_text(DEMAND)
    monkeypatch.setenv("GRIDSHIFT_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=r"ERCO_2022_fuelmix_avgCI\.csv: column 'NG', data row 1 .* is not "
                                              r"finite") as e:
        build_real_grid.__wrapped__("ERCO", 2022)
    assert not isinstance(e.value, DataNotFoundError)


def test_derive_profiles_input_errors(tmp_path):
    from gridshift.data.derive_profiles import load_hourly

    d = tmp_path / "grid" / "eia930_fuelmix_2022"
    d.mkdir(parents=True)
    (d / "ERCO_2022_fuelmix_avgCI.csv").write_text(_set_cell("eia930_fuelmix", "timestamp", 3,
                                                             "2022-01-01 01:00:00+00:00"))
    (tmp_path / "grid" / "eia930_demand_2022_2023.csv").write_text(DEMAND)
    with pytest.raises(DataFormatError, match=r"column 'timestamp', data row 3 \(CSV line 4\): value "
                                              r"'2022-01-01 01:00:00\+00:00' is a duplicate timestamp"):
        load_hourly(tmp_path, "ERCO", 2022)
    (d / "ERCO_2022_fuelmix_avgCI.csv").write_text(_set_cell("eia930_fuelmix", "SUN", 1, "1e300"))
    with pytest.raises(DataFormatError, match=r"column 'SUN', data row 1 \(CSV line 2\): value '1e300' is out of "
                                              "range"):
        load_hourly(tmp_path, "ERCO", 2022)


def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p
