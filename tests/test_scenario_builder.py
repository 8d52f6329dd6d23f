"""Real-data scenario builder: bad input everywhere; the real profiles when ../shared/data exists."""

from __future__ import annotations

import numpy as np
import pytest

from gridshift.data.paths import DataNotFoundError
from gridshift.data.region_fleet import region_fleet
from gridshift.data.scenario_builder import (
    BA_REGIONS,
    build_real_grid,
    parse_grid_data,
    peaks,
    real_exogenous_window,
)
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario
from gridshift.envs.grid.types import ParamError


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"ba='XYZ' is invalid: allowed one of \["):
        parse_grid_data("XYZ:2022")
    with pytest.raises(ValueError, match="allowed 'BA:YEAR'"):
        parse_grid_data("ERCO-2022")
    with pytest.raises(ParamError, match="grid_data='XYZ:2022' is invalid: allowed BA one of"):
        Scenario(grid_data="XYZ:2022")
    with pytest.raises(ParamError, match="step_minutes=7.0 is invalid with grid_data"):
        Scenario(grid_data="ERCO:2022", step_minutes=7)
    with pytest.raises(ParamError, match="fleet='powersimdata' is invalid without grid_data"):
        Scenario(fleet="powersimdata")
    with pytest.raises(ParamError, match="gas_price_scale=0.0 is invalid"):
        Scenario(gas_price_scale=0)


def test_missing_data_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSHIFT_DATA", str(tmp_path / "nowhere"))
    build_real_grid.cache_clear()
    with pytest.raises(DataNotFoundError, match="data not found at .*see README"):
        build_real_grid("CISO", 2022)
    with pytest.raises(ValueError, match="year=1999 is invalid"):
        build_real_grid("CISO", 1999)
    build_real_grid.cache_clear()


def test_real_scenarios_parse():
    for name, ba in (("ercot_2022", "ERCO"), ("caiso_2022", "CISO"), ("pjm_2022", "PJM")):
        sc = load_scenario(name)
        assert sc.grid_data == f"{ba}:2022" and sc.fleet == "powersimdata" and ba in BA_REGIONS


@pytest.mark.shared_data
def test_real_profiles_and_fleet(shared_data):
    g = build_real_grid("ERCO", 2022)
    f = g.frame
    assert len(f) == 8760 and str(f.index.tz) == "UTC" and not f.isna().any().any()
    assert 75000 < f["demand_mw"].max() < 85000  # ERCOT 2022 peak ~80 GW
    # the fleet and the renewables serve gas + coal + oil + solar + wind; EIA's "other" is an input
    np.testing.assert_allclose(f["residual_demand_mw"], f[["gas_mw", "coal_mw", "oil_mw", "solar_mw", "wind_mw"]].sum(axis=1),
                               rtol=1e-9)
    np.testing.assert_allclose(f["residual_demand_mw"] + f["other_mw"] + f["hydro_mw"] + f["nuclear_mw"]
                               + f["net_imports_mw"], f["demand_mw"], rtol=1e-9)
    assert f["other_mw"].max() > 300  # ERCOT's "other" is not negligible, so the test can tell
    fleet = region_fleet("ERCO", start="2022-07-01", end="2022-08-01")
    assert set(fleet.fuel) == {"gas", "coal"} and fleet.total_capacity_mw() > 50000  # no geothermal / biomass / other
    fl2 = region_fleet("ERCO", start="2022-07-01", end="2022-08-01", gas_price_scale=2.0)
    gas = np.array(fleet.fuel) == "gas"
    np.testing.assert_allclose(fl2.cost_b_usd_per_mwh[gas], 2 * fleet.cost_b_usd_per_mwh[gas])
    with pytest.raises(ValueError, match="out of range for Henry Hub"):
        region_fleet("ERCO", start="2030-01-01", end="2030-02-01")
    ex = real_exogenous_window(g, np.random.default_rng(3), 2, 96, 15, month=7, utc_offset_h=-6)
    assert ex["demand_mw"].shape == (2, 96) and (ex["month"] == 7).all()
    ex2 = real_exogenous_window(g, np.random.default_rng(3), 2, 96, 15, month=7, utc_offset_h=-6)
    np.testing.assert_array_equal(ex["demand_mw"], ex2["demand_mw"])
    with pytest.raises(ValueError, match="does not fit"):
        real_exogenous_window(g, np.random.default_rng(0), 1, 400 * 96, 15)
    assert peaks(g)["residual_demand_mw"] == pytest.approx(f["residual_demand_mw"].max())


@pytest.mark.shared_data
def test_env_runs_on_real_scenario(shared_data):
    from gridshift.envs.dcgrid import core

    sc = load_scenario("ercot_2022", horizon_steps=8, warmup_steps=2, n_datacenters=2, month=8)
    p = core.make_params(sc)
    a = core.reset(p, np.random.default_rng(5), 2)
    b = core.reset(p, np.random.default_rng(5), 2)
    c = core.reset(p, np.random.default_rng(6), 2)
    np.testing.assert_array_equal(a.demand_mw, b.demand_mw)
    assert not np.array_equal(a.demand_mw, c.demand_mw)
    assert (a.month == 8).all() and np.isfinite(a.last["grid"].price_usd_per_mwh).all()


def test_shipped_scenarios_size_their_reserve_thresholds_to_the_system():
    # The emergency and DR thresholds are MW, sized for the 60 GW default system (3.3 % and
    # 11.7 % of its peak). A scenario on a smaller system that kept them held an emergency
    # order for its whole episode (RTS-GMLC and IEEE 30-bus did: every FIFO job dropped on
    # IEEE 30). Every shipped scenario keeps them to a quarter and a half of its peak.
    from gridshift.envs.dcgrid.scenario_io import available_scenarios

    for name in available_scenarios():
        sc = load_scenario(name)
        if sc.emergency_enabled:
            assert sc.emergency_reserve_threshold_mw + sc.emergency_release_margin_mw <= 0.25 * sc.peak_demand_mw, name
        assert sc.dr_reserve_threshold_mw <= 0.5 * sc.peak_demand_mw, name


@pytest.mark.parametrize("name", ["rts_gmlc", "ieee30"])
def test_network_scenarios_are_not_in_a_permanent_emergency(shared_data, name):
    from gridshift.agents.registry import make_policy
    from gridshift.eval.runner import episode_metrics, run_episode

    rec = run_episode(make_policy("fifo"), name, 1000)
    m = episode_metrics(rec)
    assert rec.grid["emergency_active"].mean() < 0.05 and m["work_dropped_mwh"] < 0.01 * m["work_arrived_mwh"]
