"""Typical-day profile table: packaged data, validation errors, interpolation and the sampler."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridshift.data.profiles import (
    COLUMNS,
    DEFAULT_PROFILE_PATH,
    SHAPE,
    VALUE_FIELDS,
    ProfileFileError,
    ProfileTable,
    load_profile_table,
)


@pytest.fixture(scope="module")
def packaged() -> ProfileTable:
    return load_profile_table()


# --------------------------------------------------------------------------------------------
# the packaged ERCOT 2022 table
# --------------------------------------------------------------------------------------------


def test_packaged_table_loads(packaged):
    for f in VALUE_FIELDS:
        assert getattr(packaged, f).shape == SHAPE == (12, 2, 24)
    assert packaged.peak_demand_mw == 79830.0
    assert packaged.max_solar_mw == 10039.0 and packaged.max_wind_mw == 26871.0
    assert packaged.tz == "America/Chicago"
    assert (DEFAULT_PROFILE_PATH.parent / "PROVENANCE.md").is_file()
    assert packaged.demand_pu_mean.max() <= 1.0
    with pytest.raises(ValueError):
        packaged.demand_pu_mean[0, 0, 0] = 1.0  # read-only


def test_packaged_table_is_plausible(packaged):
    aug, wd = 7, 0
    assert packaged.demand_pu_mean[aug, wd, 17] > packaged.demand_pu_mean[aug, wd, 4]
    # ERCOT's summer peak is in the late afternoon and well above the spring minimum
    assert 14 <= int(np.argmax(packaged.demand_pu_mean[aug, wd])) <= 18
    assert packaged.demand_pu_mean[aug].max() > packaged.demand_pu_mean[3].max()
    night = packaged.solar_pu_mean[:, :, [0, 1, 2, 3, 4, 22, 23]]
    assert night.max() < 0.005
    assert packaged.solar_pu_mean[aug, wd, 2] == 0.0
    assert np.all(packaged.solar_pu_mean[:, :, 12] > 0.3)
    assert np.all(packaged.wind_pu_std > 0.0)


# --------------------------------------------------------------------------------------------
# a synthetic, hand-checkable table
# --------------------------------------------------------------------------------------------


def _synthetic_frame() -> pd.DataFrame:
    rows = []
    for m in range(1, 13):
        for d, daytype in enumerate(("weekday", "weekend")):
            for h in range(24):
                rows.append(
                    {
                        "month": m,
                        "daytype": daytype,
                        "hour": h,
                        # demand = 0.5 + 0.01 h (+0.1 on weekends) -> easy interpolation checks
                        "demand_pu_mean": 0.5 + 0.01 * h + 0.1 * d,
                        "demand_pu_std": 0.05,
                        "solar_pu_mean": 0.8 if 8 <= h <= 17 else 0.0,
                        "solar_pu_std": 0.1 if 8 <= h <= 17 else 0.0,
                        "wind_pu_mean": 0.01 * m,
                        "wind_pu_std": 0.2,
                        "hydro_pu_mean": 0.001,
                        "nuclear_pu_mean": 0.06,
                    }
                )
    return pd.DataFrame(rows, columns=list(COLUMNS))


N_COMMENT = 2  # comment lines written above the header: data row k is CSV line k + 3


def _write(df: pd.DataFrame, path: Path) -> Path:
    with path.open("w") as fh:
        fh.write("# synthetic test table\n# peak_demand_mw: 1000\n")
        df.to_csv(fh, index=False)
    return path


@pytest.fixture
def synthetic(tmp_path) -> ProfileTable:
    return load_profile_table(_write(_synthetic_frame(), tmp_path / "synthetic.csv"))


def test_synthetic_loads_with_meta(synthetic):
    assert synthetic.peak_demand_mw == 1000.0
    assert synthetic.tz is None
    assert synthetic.demand_pu_mean[2, 1, 10] == pytest.approx(0.7)


def test_expected_interpolates_between_mid_hours(synthetic):
    e = synthetic.expected(3, "weekday", 10.5)  # row 10 sits at 10:30
    assert e["demand_pu"] == pytest.approx(0.60)
    assert synthetic.expected(3, "weekday", 11.0)["demand_pu"] == pytest.approx(0.605)
    assert synthetic.expected(3, 1, 10.5)["demand_pu"] == pytest.approx(0.70)
    # periodic wrap inside the same typical day: 00:00 blends hour 23 (0.73) and hour 0 (0.50)
    assert synthetic.expected(3, "weekday", 0.0)["demand_pu"] == pytest.approx(0.615)
    assert synthetic.expected(3, "weekday", 23.75)["demand_pu"] == pytest.approx(
        0.73 * 0.75 + 0.5 * 0.25
    )
    v = synthetic.expected(np.array([1, 12]), "weekend", np.array([[5.5], [6.5]]))
    assert v["wind_pu"].shape == (2, 2)
    np.testing.assert_allclose(v["wind_pu"], [[0.01, 0.12], [0.01, 0.12]])
    assert set(e) == {"demand_pu", "solar_pu", "wind_pu", "hydro_pu", "nuclear_pu"}


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((13, "weekday", 1.0), "month"),
        ((1, "holiday", 1.0), "daytype"),
        ((1, 2, 1.0), "daytype"),
        ((1, "weekday", float("nan")), "hour"),
    ],
)
def test_expected_rejects_bad_arguments(synthetic, args, match):
    with pytest.raises(ValueError, match=match):
        synthetic.expected(*args)


def test_series_without_noise_follows_calendar(synthetic):
    # Friday 2022-03-04 22:00, 15-min steps for 4 h: crosses midnight into a weekend Saturday
    s = synthetic.series(dt.datetime(2022, 3, 4, 22, 0), 16, 15.0)
    assert set(s) == {"demand_pu", "solar_pu", "wind_pu"}
    assert s["demand_pu"].shape == (16,)
    assert s["demand_pu"][0] == pytest.approx(0.5 + 0.01 * 21.5)  # 22:00 between rows 21 and 22
    assert s["demand_pu"][6] == pytest.approx(0.73)  # 23:30 = Friday hour 23
    assert s["demand_pu"][8] == pytest.approx((0.73 + 0.60) / 2)  # midnight: Fri 23 and Sat 0
    assert s["demand_pu"][10] == pytest.approx(0.60)  # 00:30 Saturday hour 0 (weekend)
    # (month, day_of_week) start: first Friday of March 2022 is the 4th
    s2 = synthetic.series((3, 4, 22.0), 16, 15.0)
    np.testing.assert_array_equal(s2["demand_pu"], s["demand_pu"])
    # a day's worth of noise-free steps equals expected() inside the day
    e = synthetic.expected(3, "weekday", np.arange(4, 92) * 0.25)["demand_pu"]
    s3 = synthetic.series((3, 0), 96, 15.0, rng=np.random.default_rng(1), noise=False)
    np.testing.assert_allclose(s3["demand_pu"][4:92], e)


def test_series_month_boundary(synthetic):
    s = synthetic.series("2022-01-31 23:00", 3, 30.0)
    # 23:00 Jan (row 22/23 of Jan), 23:30 = Jan hour 23, 00:00 = Jan 23 / Feb 0 blend
    np.testing.assert_allclose(s["wind_pu"], [0.01, 0.01, 0.015])


def test_series_seeded_noise(synthetic):
    kw = dict(start=(7, 2), n_steps=96, step_minutes=15.0)
    a = synthetic.series(**kw, rng=np.random.default_rng(42))
    b = synthetic.series(**kw, rng=np.random.default_rng(42))
    c = synthetic.series(**kw, rng=np.random.default_rng(43))
    mean = synthetic.series(**kw)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert np.all(a[k] >= 0.0)
    assert not np.allclose(a["demand_pu"], c["demand_pu"])
    assert not np.allclose(a["demand_pu"], mean["demand_pu"])
    night = mean["solar_pu"] == 0.0
    assert night.any() and np.all(a["solar_pu"][night] == 0.0)
    assert np.all(a["solar_pu"][~night] != mean["solar_pu"][~night])


def test_series_ar1_statistics(synthetic):
    rng = np.random.default_rng(0)
    s = synthetic.series((5, 1, 3.0), 2, 60.0, rng=rng, batch=20000, tau_hours={"demand": 2.0})
    e = (
        s["demand_pu"] - synthetic.expected(5, "weekday", np.array([3.0, 4.0]))["demand_pu"]
    ) / 0.05
    assert s["demand_pu"].shape == (20000, 2)
    assert e.std(axis=0) == pytest.approx([1.0, 1.0], abs=0.03)
    assert np.corrcoef(e[:, 0], e[:, 1])[0, 1] == pytest.approx(np.exp(-0.5), abs=0.03)


def test_series_tz_aware_start_needs_table_tz(synthetic, packaged):
    with pytest.raises(ValueError, match="time zone"):
        synthetic.series(pd.Timestamp("2022-08-01 05:00", tz="UTC"), 4)
    t = packaged.times(pd.Timestamp("2022-08-01 05:00", tz="UTC"), 2, 30.0)
    assert str(t[0]) == "2022-08-01T00:00:00" and str(t[1]) == "2022-08-01T00:30:00"


# --------------------------------------------------------------------------------------------
# validation errors name file, column and row
# --------------------------------------------------------------------------------------------


def _bad(tmp_path: Path, edit) -> str:
    df = _synthetic_frame().astype({c: object for c in COLUMNS})
    df = edit(df)
    p = _write(df, tmp_path / "bad_profile.csv")
    with pytest.raises(ProfileFileError) as ei:
        load_profile_table(p)
    msg = str(ei.value)
    assert "bad_profile.csv" in msg
    return msg


def _set(row: int, col: str, value):
    def edit(df):
        df.loc[row, col] = value
        return df

    return edit


# data row index 100 (0-based) = data row 101 = CSV line 101 + N_COMMENT + 1
ROW_TXT = f"data row 101 (CSV line {101 + N_COMMENT + 1})"


@pytest.mark.parametrize(
    ("col", "value", "expect"),
    [
        ("demand_pu_mean", "nan", "not a finite number"),
        ("wind_pu_std", "", "not a finite number"),
        ("solar_pu_mean", 1.7, "out of range: expected a number (finite, >= 0 and <= 1.5)"),
        ("demand_pu_std", -0.01, "out of range: expected a number (finite, >= 0 and <= 1.5)"),
        ("month", 13, "out of range: expected an integer (>= 1 and <= 12)"),
        ("hour", 24, "out of range: expected an integer (>= 0 and <= 23)"),
        ("hour", 3.5, "not an integer: expected an integer (>= 0 and <= 23)"),
        ("daytype", "holiday", "weekday"),
    ],
)
def test_bad_cell_names_file_column_row(tmp_path, col, value, expect):
    msg = _bad(tmp_path, _set(100, col, value))
    assert repr(col) in msg and ROW_TXT in msg and expect in msg


def test_missing_column(tmp_path):
    msg = _bad(tmp_path, lambda df: df.drop(columns=["wind_pu_std"]))
    assert "missing column" in msg and "wind_pu_std" in msg and f"CSV line {N_COMMENT + 1}" in msg


def test_missing_rows(tmp_path):
    msg = _bad(tmp_path, lambda df: df.drop(index=[100, 101]))
    # row 100 is month 3, weekday, hour 4
    assert "month/daytype/hour" in msg and "(month=3, daytype=weekday, hour=4)" in msg
    assert "2 of 576 cells missing" in msg


def test_duplicate_row(tmp_path):
    def dup(df):
        df.loc[101, "hour"] = df.loc[100, "hour"]
        return df

    msg = _bad(tmp_path, dup)
    assert "duplicate" in msg and f"data row 102 (CSV line {102 + N_COMMENT + 1})" in msg


def test_missing_file(tmp_path):
    with pytest.raises(ProfileFileError, match=r"absent\.csv.*not found"):
        load_profile_table(tmp_path / "absent.csv")


# --------------------------------------------------------------------------------------------
# re-derivation from the raw EIA-930 files
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_rederive_matches_committed_table(shared_data, packaged):
    from gridshift.data.derive_profiles import derive

    table, meta = derive(shared_data, "ERCO", 2022)
    committed = pd.read_csv(DEFAULT_PROFILE_PATH, comment="#")
    assert list(table.columns) == list(committed.columns) == list(COLUMNS)
    assert len(table) == len(committed) == 576
    pd.testing.assert_frame_equal(
        table[["month", "daytype", "hour"]],
        committed[["month", "daytype", "hour"]],
        check_dtype=False,
    )
    for c in VALUE_FIELDS:
        np.testing.assert_allclose(
            table[c].to_numpy(), committed[c].to_numpy(), atol=1e-3, err_msg=c
        )
    assert meta["peak_demand_mw"] == packaged.peak_demand_mw
    assert meta["max_solar_mw"] == packaged.max_solar_mw
    assert meta["max_wind_mw"] == packaged.max_wind_mw
