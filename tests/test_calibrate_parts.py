"""Calibration pieces on hand-made numbers (baselines, price metrics, fuel shares, verdicts,
the basis bisection) and, with ../shared/data, the daily gas series, the reference CI's
life-cycle factors and a short run of each settlement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridshift.eval import calibrate_baselines as bl
from gridshift.eval.calibrate import _bisect_basis
from gridshift.eval.calibrate_report import fuel_shares, price_metrics, verdict

IDX = pd.date_range("2022-07-01", periods=4, freq="1h", tz="UTC")


def _cap(fleet, fuel: str) -> float:
    """Total capacity (MW) of ``fleet``'s units of ``fuel``."""
    return float(np.asarray(fleet.capacity_mw)[np.array(fleet.fuel) == fuel].sum())


def test_ci_proxy_is_least_squares_through_origin():
    share = pd.Series([0.5, 1.0, np.nan], index=IDX[:3])
    ci = pd.Series([250.0, 500.0, 10.0], index=IDX[:3])
    assert bl.fit_ci_proxy(share, ci) == pytest.approx(500.0)
    # (0.5 * 300 + 1.0 * 500) / (0.25 + 1) = 520
    assert bl.fit_ci_proxy(share, pd.Series([300.0, 500.0, 0.0], index=IDX[:3])) == pytest.approx(520.0)
    with pytest.raises(ValueError, match="at least two hours"):
        bl.fit_ci_proxy(share.iloc[:1], ci.iloc[:1])


def test_no_skill_ci_hand_computed():
    # all of the fleet's 80 MW as gas (490), other 10 x 230, solar 5 x 41, wind 5 x 11, over 100 MW;
    # a negative (night) solar reading counts as 0, as in EIA's own intensity
    f = pd.DataFrame({"gas_mw": [50.0, 0.0], "coal_mw": [30.0, 90.0], "oil_mw": [0.0, 0.0], "other_mw": [10.0, 0.0],
                      "solar_mw": [5.0, -3.0], "wind_mw": [5.0, 10.0], "hydro_mw": [0.0, 0.0], "nuclear_mw": [0.0, 0.0]})
    ci = bl.no_skill_ci(f)
    assert ci.iloc[0] == pytest.approx((80 * 490 + 10 * 230 + 5 * 41 + 5 * 11) / 100)
    assert ci.iloc[1] == pytest.approx((90 * 490 + 10 * 11) / 100)  # coal burnt as gas: no skill in the split


def test_price_regression_recovers_exact_coefficients():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2022-01-01", periods=50, freq="1h", tz="UTC")
    x = pd.DataFrame({"hh": rng.uniform(3, 9, 50), "rl": rng.uniform(20e3, 60e3, 50)}, index=idx)
    y = 1.0 + 2.0 * x["hh"] + 3.0 * x["rl"] / 1000 + 0.5 * x["hh"] * x["rl"] / 1000
    beta = bl.fit_price_regression(x, y)
    np.testing.assert_allclose(beta, [1.0, 2.0, 3.0, 0.5], atol=1e-8)
    np.testing.assert_allclose(bl.predict_price_regression(beta, x), y, atol=1e-8)
    with pytest.raises(ValueError, match="at least 8 hours"):
        bl.fit_price_regression(x.iloc[:5], y.iloc[:5])


def test_price_metrics_hand_computed():
    sim = pd.Series([0.0, 100.0, 200.0, 400.0], index=IDX)
    real = pd.Series([150.0, 50.0, 350.0, 250.0], index=IDX)
    m = price_metrics(sim, real, "UTC")
    assert m["bias"] == pytest.approx(-25.0)
    assert m["mae"] == pytest.approx((150 + 50 + 150 + 150) / 4)
    # duration curves: sorted [0, 100, 200, 400] vs [50, 150, 250, 350] -> |diff| 50 each
    assert m["pdc_mae"] == pytest.approx(50.0)
    assert m["std_ratio"] == pytest.approx(np.std([0, 100, 200, 400]) / np.std([150, 50, 350, 250]))
    assert m["hours_above_100"] == [2, 3] and m["hours_above_300"] == [1, 1]


def test_fuel_shares_and_top_three():
    f = pd.DataFrame({"sim_gas_mw": [50.0], "sim_coal_mw": [30.0], "sim_oil_mw": [0.0], "sim_other_mw": [0.0],
                      "gas_mw": [40.0], "coal_mw": [40.0], "oil_mw": [0.0], "other_mw": [0.0], "nuclear_mw": [10.0],
                      "hydro_mw": [0.0], "wind_mw": [8.0], "solar_mw": [2.0], "renewable_used_mw": [5.0]}, index=IDX[:1])
    s = fuel_shares(f)
    # real: 40, 40, 10, 8, 2 of 100; sim: 50, 30, 10 and half the renewables (4, 1) of 95
    assert s["real_pct"]["gas"] == pytest.approx(40.0) and s["sim_pct"]["gas"] == pytest.approx(100 * 50 / 95)
    assert s["sim_pct"]["wind"] == pytest.approx(100 * 4 / 95)
    assert set(s["top3"]) == {"gas", "coal", "nuclear"}
    assert s["top3_max_abs_error_pp"] == pytest.approx(100 * 50 / 95 - 40.0)  # gas: 52.6 % vs 40 %


def test_coal_split_diagnostic_hand_computed():
    # Two local (Central) days, gas + coal = 100 MW of 100 MW generated, EIA's CI exactly the
    # life-cycle factors times the real mix. Real coal: daily mean m (40, then 60) plus a
    # within-day wave d; the model has the right daily mean and twice the wave.
    from gridshift.eval.calibrate_report import coal_split_diagnostic

    idx = pd.date_range("2022-07-01 05:00", periods=48, freq="1h", tz="UTC")  # local midnight, CDT
    h = np.arange(48) % 24
    m = np.where(np.arange(48) < 24, 40.0, 60.0)
    d = 10.0 * np.sin(2 * np.pi * h / 24)
    real, sim_coal = m + d, m + 2 * d
    ci = lambda coal: (820.0 * coal + 490.0 * (100.0 - coal)) / 100.0  # noqa: E731
    f = pd.DataFrame({"sim_gas_mw": 100.0 - sim_coal, "sim_coal_mw": sim_coal, "generation_mw": 100.0, "coal_mw": real,
                      "avg_ci_lifecycle_g_per_kwh": ci(sim_coal), "avg_ci_eia_g_per_kwh": ci(real)}, index=idx)
    out = coal_split_diagnostic(f, "America/Chicago")
    # corr(m + 2d, m + d) with var(m) = 100, var(d) = 50: (100 + 100) / sqrt(300 * 150)
    assert out["model"] == pytest.approx(200.0 / np.sqrt(300.0 * 150.0), abs=1e-9)
    assert out["within_day_real"] == pytest.approx(1.0, abs=1e-12)  # right daily mean + real wave = real
    assert out["both_real"] == pytest.approx(1.0, abs=1e-12)
    assert out["daily_real"] == pytest.approx(out["model"], abs=1e-12)  # the daily mean was already right
    # UTC days would split the local days at 19:00 and mix the two daily means
    assert coal_split_diagnostic(f, "UTC")["within_day_real"] < 0.999


def test_verdict_requires_beating_both_baselines():
    t = {"ci_vs_eia": {"pearson_r": 0.9}, "fuel_mix": {"top3_max_abs_error_pp": 3.0},
         "price": {"pearson_r": 0.65, "std_ratio": 0.7},
         "baselines": {"ci_proxy": {"pearson_r": 0.95}, "price_regression": {"pearson_r": 0.5}}}
    v = verdict(t)
    assert v["ci_r_ok"] and v["mix_ok"] and v["price_r_ok"] and v["std_ratio_ok"] and v["beats_price_regression"]
    assert not v["beats_ci_proxy"] and not v["calibrated"]
    t["baselines"]["ci_proxy"]["pearson_r"] = 0.85
    assert verdict(t)["calibrated"]
    del t["price"]
    assert verdict(t)["calibrated"] and "price_r_ok" not in verdict(t)


def test_basis_bisection():
    calls = []

    def bias(b):
        calls.append(b)
        return 4.0 * (b - 1.3)

    assert _bisect_basis(bias, -3.0, 12.0, 10) == pytest.approx(1.3, abs=0.02)
    assert _bisect_basis(lambda b: b + 10.0, -3.0, 12.0, 5) == -3.0  # biased up even at the lower bound
    assert _bisect_basis(lambda b: b - 20.0, -3.0, 12.0, 5) == 12.0


@pytest.mark.shared_data
def test_daily_gas_price_and_basis(shared_data):
    from gridshift.data.gas_prices import daily_gas_price

    t = pd.DatetimeIndex(["2022-07-01 12:00", "2022-07-06 03:00", "2022-07-07 12:00"], tz="UTC")
    np.testing.assert_allclose(daily_gas_price(t), [5.75, 5.65, 5.83])  # EIA RNGWHHD of those days
    np.testing.assert_allclose(daily_gas_price(t, utc_offset_h=-6.0)[1], 5.72)  # 21:00 on July 5 in Texas
    np.testing.assert_allclose(daily_gas_price(t, basis_usd_per_mmbtu=1.5), [7.25, 7.15, 7.33])
    with pytest.raises(ValueError, match="out of range for Henry Hub"):
        daily_gas_price(pd.DatetimeIndex(["2023-03-01"], tz="UTC"))
    with pytest.raises(ValueError, match="basis_usd_per_mmbtu"):
        daily_gas_price(t, basis_usd_per_mmbtu=-9.0)


@pytest.mark.shared_data
def test_reference_ci_is_ipcc_lifecycle_factors_times_mix(shared_data):
    from gridshift.data.scenario_builder import build_real_grid
    from gridshift.eval.calibrate_sim import LIFECYCLE_G_PER_KWH

    f = build_real_grid("PJM", 2022).frame.dropna()
    fuels = list(LIFECYCLE_G_PER_KWH)
    mix = f[[f"{x}_mw" for x in fuels]].clip(lower=0)
    ci = (mix * np.array([LIFECYCLE_G_PER_KWH[x] for x in fuels])).sum(axis=1) / mix.sum(axis=1)
    assert np.corrcoef(ci, f["avg_ci_eia_g_per_kwh"])[0, 1] > 0.9999
    assert abs((ci - f["avg_ci_eia_g_per_kwh"]).mean()) < 1.0


@pytest.mark.shared_data
def test_simulation_takes_eia_other_as_an_input(shared_data):
    # EIA's "other" (California: battery discharge, biomass) is a real profile like hydro, not
    # fleet output: the simulation reports it as it is, and the fleet's gas serves the rest.
    from gridshift.eval.calibrate_sim import simulate

    sim = simulate("CISO", 2022, "2022-07-04", "2022-07-06", footprint={"gas": 40000.0, "coal": 0.0, "oil": 0.0})
    assert sim["other_mw"].max() > 500  # the evening battery peak, so the test can tell
    np.testing.assert_allclose(sim["sim_other_mw"], sim["other_mw"], rtol=1e-12)
    served = sim[["sim_gas_mw", "sim_coal_mw", "sim_oil_mw"]].sum(axis=1) + sim["renewable_used_mw"]
    # unserved load aside, the fleet and the renewables serve exactly the residual demand
    np.testing.assert_allclose(served + sim["unserved_mw"], sim["residual_demand_mw"], rtol=1e-6, atol=1e-3)


@pytest.mark.shared_data
@pytest.mark.parametrize(("ba", "settlement"), [("ERCO", "day-ahead"), ("PJM", "real-time")])
def test_short_calibration_reports_baselines_and_settlement(shared_data, ba, settlement):
    from gridshift.eval.calibrate import calibrate, format_report, format_table

    res = calibrate(ba, 2022, fit=("2022-03-07", "2022-03-14"), test=("2022-08-01", "2022-08-08"), fit_params=False,
                    plot=False)
    assert res.settlement == settlement
    t = res.metrics["test"]
    assert {"ci_vs_eia", "ci_direct_vs_eia", "price", "baselines", "fuel_mix", "verdict"} <= set(t)
    assert t["price"]["n_hours"] >= 160 and set(t["baselines"]) == {"ci_proxy", "price_regression"}
    assert abs(sum(t["fuel_mix"]["sim_pct"].values()) - 100.0) < 1e-6
    assert ("real-time" if settlement == "real-time" else "day-ahead") in format_report(res)
    assert ("RT" if settlement == "real-time" else "DA") in format_table([res])
    assert np.isfinite(t["ci_no_skill"]["pearson_r"]) and "CI r of a no-skill dispatch" in format_report(res)
    assert "price_hh_quoted" not in t  # every test day has a Henry Hub quote
    cs = t["ci_coal_split"]  # both BAs burn coal
    assert set(cs) == {"model", "within_day_real", "daily_real", "both_real"}
    assert cs["model"] == pytest.approx(t["ci_vs_eia"]["pearson_r"], abs=1e-9)  # the recomputation is exact
    assert cs["both_real"] > cs["model"] and "CI r with real coal (diagnostic" in format_report(res)


@pytest.mark.shared_data
def test_days_without_a_henry_hub_quote_are_reported_apart(shared_data):
    from gridshift.eval.calibrate import calibrate, format_report

    res = calibrate("ERCO", 2022, fit=("2022-03-07", "2022-03-10"), test=("2022-12-10", "2022-12-20"), fit_params=False,
                    plot=False)
    t = res.metrics["test"]
    q = t["price_hh_quoted"]
    assert q["through"] == "2022-12-13"
    # the UTC window starts at 18:00 on 9 December, Central time: the local days 9 (6 h) to 13 December
    assert q["n_hours"] == 6 + 4 * 24 and t["price"]["n_hours"] == 240
    assert q["pearson_r"] != t["price"]["pearson_r"] and np.isfinite(q["regression_pearson_r"])
    assert "days with a Henry Hub quote (through 2022-12-13" in format_report(res)
    assert set(t["verdict"]) and "price_hh_quoted" not in t["verdict"]  # a diagnostic, not a target


def test_coal_index_bisection_log_scale():
    from gridshift.eval.calibrate import COAL_INDEX_BOUNDS, _bisect_coal

    # share error falls with the coal-to-gas index and crosses zero at 0.62
    assert _bisect_coal(lambda k: 30.0 * np.log(0.62 / k)) == pytest.approx(0.62, rel=0.02)
    assert _bisect_coal(lambda k: 5.0) == COAL_INDEX_BOUNDS[1]  # too much coal even at the dearest coal
    assert _bisect_coal(lambda k: -5.0) == COAL_INDEX_BOUNDS[0]


def test_index_coal_to_gas_hand_computed():
    from gridshift.data.region_fleet import index_coal_to_gas
    from gridshift.envs.grid.types import FleetParams

    f = FleetParams(name=("c", "g", "n"), fuel=("coal", "gas", "nuclear"), capacity_mw=[100.0, 50.0, 80.0],
                    min_output_mw=[0.0, 0.0, 0.0], ramp_mw_per_h=[np.inf] * 3, cost_a_usd_per_mw2h=[0.01, 0.0, 0.0],
                    cost_b_usd_per_mwh=[2.0 * 10.0 + 4.0, 6.0 * 7.0, 10.0], cost_c_usd_per_h=[50.0, 0.0, 0.0],
                    emission_t_co2_per_mwh=[0.95, 0.37, 0.0], vom_usd_per_mwh=[4.0, 0.0, 0.0],
                    fuel_price_usd_per_mmbtu=[2.0, 6.0, 0.0], startup_cost_usd=[1000.0, 0.0, 0.0])
    g = index_coal_to_gas(f, 0.5)  # coal at 0.5 x $6 = $3/MMBtu: fuel part x 1.5
    np.testing.assert_allclose(g.cost_b_usd_per_mwh, [4.0 + 20.0 * 1.5, 42.0, 10.0])
    np.testing.assert_allclose(g.cost_a_usd_per_mw2h, [0.015, 0.0, 0.0])
    np.testing.assert_allclose(g.cost_c_usd_per_h, [75.0, 0.0, 0.0])
    np.testing.assert_allclose(g.startup_cost_usd, [1500.0, 0.0, 0.0])
    np.testing.assert_allclose(g.fuel_price_usd_per_mmbtu, [6.0, 6.0, 0.0])
    np.testing.assert_array_equal(g.gas_units(), [True, True, False])
    np.testing.assert_allclose(g.emission_t_co2_per_mwh, f.emission_t_co2_per_mwh)
    # at a daily gas price of $9 the indexed coal follows it: fuel part x 9/6, so its offer is
    # 4 + 30 x 1.5 = 49 + 2 (0.015 x 1.5) p, below gas's 7 x 9 = 63; 120 MW = 80 nuclear + 40 coal
    from gridshift.envs.grid import copper_plate
    from gridshift.envs.grid.types import GridParams

    res = copper_plate.clear_arrays(GridParams(fleet=g), np.zeros((1, 3)), np.array([120.0]), np.zeros(1),
                                    np.zeros(1), None, ramp=False, gas_price=np.array([9.0]))
    np.testing.assert_allclose(res.dispatch_mw[0], [40.0, 0.0, 80.0], atol=1e-6)
    assert res.system_lambda_usd_per_mwh[0] == pytest.approx(49.0 + 2 * 0.0225 * 40.0, rel=1e-6)
    with pytest.raises(ValueError, match="coal_gas_index=9.0 is invalid"):
        index_coal_to_gas(f, 9.0)


def test_pick_sigma_best_r_within_the_std_band_else_closest_std():
    from gridshift.eval.calibrate import _pick_sigma

    c = [{"ordc_sigma_frac": 0.01, "gas_basis_usd_per_mmbtu": 1.0, "std_ratio": 0.3, "price_r": 0.9},
         {"ordc_sigma_frac": 0.02, "gas_basis_usd_per_mmbtu": 2.0, "std_ratio": 0.6, "price_r": 0.4},
         {"ordc_sigma_frac": 0.04, "gas_basis_usd_per_mmbtu": 3.0, "std_ratio": 1.9, "price_r": 0.5},
         {"ordc_sigma_frac": 0.08, "gas_basis_usd_per_mmbtu": 4.0, "std_ratio": 2.5, "price_r": 0.95}]
    assert _pick_sigma(c) == (0.04, 3.0)  # r 0.9 and 0.95 are outside the band [0.5, 2]
    assert _pick_sigma([c[0], c[3]]) == (0.08, 4.0)  # none in the band: |log 2.5| < |log 0.3|


def test_per_unit_fleet_scaling_hand_computed():
    from gridshift.data.synthetic import build_fleet
    from gridshift.envs.grid.types import ParamError

    f = build_fleet()
    s = np.linspace(0.5, 2.0, f.n_units)
    g = f.scaled(s)
    np.testing.assert_allclose(g.capacity_mw, f.capacity_mw * s)
    np.testing.assert_allclose(g.min_output_mw, f.min_output_mw * s)
    np.testing.assert_allclose(g.cost_a_usd_per_mw2h, f.cost_a_usd_per_mw2h / s)
    np.testing.assert_allclose(g.cost_b_usd_per_mwh, f.cost_b_usd_per_mwh)
    np.testing.assert_allclose(f.scaled(0.5).capacity_mw, f.capacity_mw * 0.5)
    with pytest.raises(ParamError, match=r"capacity_scale\[1\]=0.0 is invalid"):
        f.scaled(np.r_[1.0, 0.0, np.ones(f.n_units - 2)])
    with pytest.raises(ParamError, match="capacity_scale"):
        f.scaled(np.ones(f.n_units + 1))


@pytest.mark.shared_data
def test_footprint_narrows_the_region_fleet(shared_data):
    from gridshift.data.region_fleet import FOOTPRINT_MARGIN, footprint_capacity, region_fleet
    from gridshift.data.scenario_builder import build_real_grid

    fp = footprint_capacity("NYIS", "2022-01-01", "2022-07-01")
    h1 = build_real_grid("NYIS", 2022).window("2022-01-01", "2022-07-01", 60.0)
    assert fp["gas"] == pytest.approx(1.5 * h1["gas_mw"].max()) and FOOTPRINT_MARGIN["gas"] == 0.5
    assert fp["coal"] == 0.0  # New York burned no coal in 2022
    base = region_fleet("NYIS", year=2022)
    nar = region_fleet("NYIS", year=2022, footprint=fp)
    assert _cap(base, "coal") > 0 and "coal" not in nar.fuel  # dropped
    for k in ("gas", "oil"):
        assert _cap(nar, k) == pytest.approx(min(_cap(base, k), fp[k]))  # scaled down to the footprint, never up
    assert _cap(nar, "gas") < _cap(base, "gas")
    up = region_fleet("NYIS", year=2022, footprint={"gas": 10 * _cap(base, "gas")})
    assert _cap(up, "gas") == pytest.approx(_cap(base, "gas"))
    with pytest.raises(ValueError, match=r"footprint\['nuclear'\]=1.0 is invalid: allowed keys"):
        region_fleet("NYIS", year=2022, footprint={"nuclear": 1.0})


@pytest.mark.shared_data
def test_fitted_calibration_matches_the_fit_half(shared_data):
    from gridshift.eval.calibrate import COAL_INDEX_BOUNDS, SIGMA_GRID, calibrate

    res = calibrate("ERCO", 2022, fit=("2022-03-07", "2022-03-21"), test=("2022-08-01", "2022-08-08"), plot=False)
    p, fit = res.params, res.metrics["fit"]
    assert res.options["footprint"]["coal"] > 0 and p["ordc_sigma_frac"] in SIGMA_GRID
    cands = [r for r in res.search if r.get("candidate")]
    assert len(cands) == 2 * len(SIGMA_GRID)  # the joint sigma/basis fit, before and after the coal fit
    coal_err = fit["fuel_mix"]["error_pp"]["coal"]
    assert p["coal_price_scale"] == 1.0 and p["coal_availability"] == 1.0  # coal is indexed to gas instead
    k = p["coal_gas_index"]
    assert abs(coal_err) < 3.0 or (k, np.sign(coal_err)) in ((COAL_INDEX_BOUNDS[0], -1), (COAL_INDEX_BOUNDS[1], 1))
    assert abs(fit["price"]["bias"]) < 5.0 or p["gas_basis_usd_per_mmbtu"] in (-3.0, 12.0)


@pytest.mark.shared_data
def test_miso_fit_reproduces_the_coal_index_table(shared_data):
    """The table the env's fleets use is what the calibration fits (MISO: no price series, so
    only the coal index is fitted; ERCO's price fit is in the slow suite)."""
    from gridshift.data.region_fleet import COAL_GAS_INDEX
    from gridshift.eval.calibrate import calibrate

    res = calibrate("MISO", 2022, plot=False)
    assert res.params["coal_gas_index"] == COAL_GAS_INDEX["MISO"]
    assert abs(res.metrics["fit"]["fuel_mix"]["error_pp"]["coal"]) < 5.0


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize(("ba", "scenario"), [("ERCO", None), ("PJM", "pjm_2022")])
def test_fit_reproduces_the_basis_and_coal_tables(shared_data, ba, scenario):
    """The env's tables are what the fit produces; pjm_2022 also uses the calibration's sigma
    with its basis (both fitted at 15-minute steps)."""
    from gridshift.data.gas_prices import GAS_BASIS_USD_PER_MMBTU
    from gridshift.data.region_fleet import COAL_GAS_INDEX
    from gridshift.envs.dcgrid.scenario import load_scenario
    from gridshift.eval.calibrate import calibrate

    res = calibrate(ba, 2022, plot=False)
    assert res.params["gas_basis_usd_per_mmbtu"] == GAS_BASIS_USD_PER_MMBTU[ba]
    assert res.params["coal_gas_index"] == COAL_GAS_INDEX[ba]
    if scenario:
        assert res.params["ordc_sigma_frac"] == load_scenario(scenario).ordc_sigma_frac


@pytest.mark.shared_data
def test_calibrated_fleet_is_the_footprint_with_coal_indexed_to_gas(shared_data):
    from gridshift.data.region_fleet import (
        COAL_GAS_INDEX,
        calibrated_fleet,
        footprint_capacity,
        region_fleet,
    )

    fl = calibrated_fleet("MISO", 2022)
    fp = footprint_capacity("MISO", "2022-01-01", "2022-07-01")
    base = region_fleet("MISO", year=2022)
    fuel = np.array(fl.fuel)
    for k in ("coal", "gas"):
        assert _cap(fl, k) == pytest.approx(min(_cap(base, k), fp[k]))
    gas_price = fl.fuel_price_usd_per_mmbtu[fuel == "gas"][0]
    np.testing.assert_allclose(fl.fuel_price_usd_per_mmbtu[fuel == "coal"], gas_price)
    assert fl.gas_indexed[fuel == "coal"].all() and COAL_GAS_INDEX["MISO"] > 0
