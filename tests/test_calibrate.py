"""Calibration metrics on hand-made series; a short real run when ../shared/data exists."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from gridshift.data.commands import register
from gridshift.eval.calibrate import calibrate, compare, format_report


def test_compare_metrics_hand_computed():
    idx = pd.date_range("2022-01-01", periods=48, freq="1h", tz="UTC")
    real = pd.Series(np.tile(np.arange(24.0), 2), index=idx)
    m = compare(real + 2.0, real, "UTC")
    assert m.pearson_r == pytest.approx(1.0) and m.mae == pytest.approx(2.0) and m.bias == pytest.approx(2.0)
    assert m.diurnal_rmse == pytest.approx(2.0) and m.n_hours == 48
    sim = real.copy()
    sim.iloc[:24] = np.nan  # only overlapping finite hours count
    assert compare(sim, real, "UTC").n_hours == 24


def test_register_adds_subcommands():
    p = argparse.ArgumentParser()
    register(p.add_subparsers(dest="command"))
    a = p.parse_args(["calibrate", "--ba", "ERCO", "--no-fit", "--fit-start", "2022-01-01"])
    assert a.func.__name__ == "cmd_calibrate" and a.ba == ["ERCO"] and not a.no_footprint
    a = p.parse_args(["calibrate", "--ba", "ERCO", "CISO", "--no-footprint"])
    assert a.ba == ["ERCO", "CISO"] and a.no_footprint
    a = p.parse_args(["data", "fetch", "--ba", "CISO", "--year", "2023"])
    assert a.func.__name__ == "cmd_data_fetch"


def test_calibrate_unknown_ba():
    with pytest.raises(ValueError, match="ba='NOPE' is invalid"):
        calibrate("NOPE", 2022)


@pytest.mark.shared_data
def test_calibrate_short_real_period(shared_data, tmp_path):
    res = calibrate("ERCO", 2022, fit=("2022-01-03", "2022-01-10"), test=("2022-07-04", "2022-07-11"),
                    fit_params=False, out_dir=tmp_path, plot=False)
    for per in ("fit", "test"):
        for sig in ("ci_vs_eia", "ci_vs_electricitymaps", "price"):
            m = res.metrics[per][sig]
            assert m["n_hours"] >= 160 and np.isfinite(m["mae"])
    doc = json.loads((tmp_path / "calibration_ERCO_2022.json").read_text())
    assert doc["ba"] == "ERCO" and doc["params"] == res.params and doc["options"]["footprint"]["gas"] > 0
    assert doc["meta"]["git_commit"] and "numpy" in doc["meta"]["versions"]
    assert "pearson_r" in format_report(res)
    with pytest.raises(ValueError, match="out of range"):
        calibrate("ERCO", 2022, fit=("2025-01-01", "2025-02-01"), fit_params=False)
