"""Day-ahead unit commitment: hand-worked priority-list schedules, minimum up/down times,
coverage of the requirement (property test), and the gap to the exact MILP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridshift.envs.grid import FleetParams, GridParams, MarketParams
from gridshift.envs.grid.commitment import (
    commit_schedule,
    default_reserve_mw,
    periods,
    runs_respect_min_times,
    schedule_cost,
)


def uc_fleet(units):
    """units: dicts with cap, b and optional pmin, up, down, fast, fuel, su, c, vom, fp."""
    n = len(units)

    def col(k, d):
        return np.array([u.get(k, d) for u in units], float)

    return FleetParams(
        name=tuple(f"u{i}" for i in range(n)), fuel=tuple(u.get("fuel", "gas") for u in units),
        capacity_mw=col("cap", 0), min_output_mw=col("pmin", 0.0), ramp_mw_per_h=col("ramp", np.inf),
        cost_a_usd_per_mw2h=col("a", 0.0), cost_b_usd_per_mwh=col("b", 0), cost_c_usd_per_h=col("c", 0.0),
        emission_t_co2_per_mwh=col("e", 0.5), startup_cost_usd=col("su", 0.0), min_up_h=col("up", 0.0),
        min_down_h=col("down", 0.0), fast_start=np.array([u.get("fast", False) for u in units]),
        vom_usd_per_mwh=col("vom", 0.0), fuel_price_usd_per_mmbtu=col("fp", 0.0),
    )


def commit(units, demand, *, ren=0.0, reserve=0.0, spd=24, **kw):
    g = GridParams(uc_fleet(units), MarketParams(step_minutes=24 * 60 / spd))
    d = np.asarray(demand, float)
    return commit_schedule(g, d, np.broadcast_to(ren, d.shape), spd, reserve_mw=reserve, **kw).astype(int)


def test_priority_order_and_minimum_up_time():
    # A $10, B $20 (min up 3 h), C $30, 100 MW each; hourly steps, no reserve.
    units = [dict(cap=100, b=10), dict(cap=100, b=20, up=3), dict(cap=100, b=30)]
    on = commit(units, [50, 50, 150, 50, 50, 50, 250, 50])
    assert on[:, 0].tolist() == [1] * 8
    assert on[:, 1].tolist() == [0, 0, 1, 1, 1, 0, 1, 1]  # B held on 3 h after each start
    assert on[:, 2].tolist() == [0, 0, 0, 0, 0, 0, 1, 0]


def test_minimum_down_time_forces_a_dearer_unit():
    # B (pmin 60, min down 3 h) cannot idle through the 50 MW hour (its minimum output would
    # exceed demand), so it shuts down and is locked off for 3 h: C covers the next peaks.
    units = [dict(cap=100, b=10), dict(cap=100, b=20, pmin=60, down=3), dict(cap=100, b=30)]
    on = commit(units, [150, 50, 150, 150, 150])
    assert on[:, 1].tolist() == [1, 0, 0, 0, 1]
    assert on[:, 2].tolist() == [0, 0, 1, 1, 0]


def test_unit_kept_on_through_a_short_dip():
    # Same as above but B's minimum output fits the dip: it idles instead of being locked off.
    units = [dict(cap=100, b=10), dict(cap=100, b=20, pmin=40, down=3), dict(cap=100, b=30)]
    on = commit(units, [150, 50, 150, 150, 150])
    assert on[:, 1].tolist() == [1, 1, 1, 1, 1]
    assert on[:, 2].tolist() == [0, 0, 0, 0, 0]


def test_fast_start_capacity_counts_and_is_always_available():
    units = [dict(cap=100, b=10), dict(cap=100, b=25, fast=True), dict(cap=100, b=30)]
    on = commit(units, [150, 250])
    assert on.tolist() == [[1, 1, 0], [1, 1, 1]]


def test_reserve_and_expected_dc_load_raise_the_requirement():
    units = [dict(cap=100, b=10), dict(cap=100, b=20)]
    assert commit(units, [80.0]).tolist() == [[1, 0]]
    assert commit(units, [80.0], reserve=30.0).tolist() == [[1, 1]]
    assert commit(units, [80.0], dc_load_mw=30.0).tolist() == [[1, 1]]
    assert commit(units, [80.0], dc_load_mw=30.0, ren=40.0).tolist() == [[1, 0]]
    m = MarketParams(ordc_mu_mw=300.0, ordc_sigma_mw=100.0, min_contingency_mw=200.0)
    assert default_reserve_mw(GridParams(uc_fleet(units), m)) == pytest.approx(800.0)


def test_gas_price_changes_the_ranking():
    # Gas: b = 20 at 4 $/MMBtu (no VOM); coal: b = 25. At 8 $/MMBtu gas offers 40.
    units = [dict(cap=100, b=20, fp=4.0), dict(cap=100, b=25, fuel="coal")]
    assert commit(units, [80.0, 80.0], gas_price=[4.0, 4.0]).tolist() == [[1, 0], [1, 0]]
    assert commit(units, [80.0, 80.0], gas_price=[8.0, 8.0]).tolist() == [[0, 1], [0, 1]]


def test_hourly_periods_on_quarter_hour_steps():
    assert periods(96) == (4, 1.0) and periods(24) == (1, 1.0) and periods(12) == (1, 2.0)
    units = [dict(cap=100, b=10), dict(cap=100, b=20)]
    d = np.full(8, 80.0)
    d[5] = 150.0  # one 15-minute spike in the second hour commits B for that whole hour
    on = commit(units, d, spd=96)
    assert on[:, 1].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    for bad in (7, 0, 100, 48):
        with pytest.raises(ValueError, match="steps_per_day"):
            commit_schedule(GridParams(uc_fleet(units), MarketParams(step_minutes=15.0)), d, 0 * d, bad)
    with pytest.raises(ValueError, match="renewable_mw"):
        commit_schedule(GridParams(uc_fleet(units)), np.ones((2, 4)), np.ones((3, 4)), 24)


@st.composite
def cases(draw):
    n = draw(st.integers(2, 6))
    units = []
    for _ in range(n):
        cap = draw(st.floats(20.0, 200.0))
        units.append(dict(cap=cap, b=draw(st.floats(5.0, 80.0)), pmin=draw(st.floats(0.0, 0.5)) * cap,
                          up=draw(st.sampled_from([0.0, 2.0, 5.0])), down=draw(st.sampled_from([0.0, 1.0, 3.0])),
                          fast=draw(st.booleans()), su=draw(st.floats(0.0, 5000.0)), c=draw(st.floats(0.0, 300.0))))
    total = sum(u["cap"] for u in units)
    demand = draw(st.lists(st.floats(0.0, 1.1 * total), min_size=6, max_size=30))
    return units, np.array(demand), draw(st.floats(0.0, 0.2 * total))


@settings(max_examples=150, deadline=None)
@given(cases())
def test_schedule_respects_min_times_and_covers_the_requirement(case):
    units, demand, reserve = case
    g = GridParams(uc_fleet(units), MarketParams(step_minutes=60.0))
    on = commit_schedule(g, demand, np.zeros_like(demand), 24, reserve_mw=reserve)
    ok, why = runs_respect_min_times(on, g, 24)
    assert ok, why
    f = g.fleet
    assert on[:, f.fast_start].all()
    cap_on = (on * f.capacity_mw).sum(axis=1)
    req = demand + reserve
    if not f.min_down_h.any():  # nothing is ever locked off: the requirement is met whenever it can be
        assert np.all((cap_on >= req - 1e-6) | (cap_on >= f.capacity_mw.sum() - 1e-6))


def test_priority_list_close_to_milp_on_a_small_system():
    from gridshift.envs.grid.commitment_milp import commit_milp

    units = [dict(cap=400, pmin=160, b=18, c=600, su=8000, up=8, down=8, ramp=200, fuel="coal"),
             dict(cap=300, pmin=140, b=30, c=500, su=3000, up=6, down=4, ramp=240),
             dict(cap=300, pmin=140, b=32, c=500, su=3000, up=6, down=4, ramp=240),
             dict(cap=200, pmin=60, b=40, c=300, su=1500, up=4, down=2, ramp=240),
             dict(cap=150, pmin=50, b=75, su=300, up=1, down=1, ramp=900, fast=True)]
    g = GridParams(uc_fleet(units), MarketParams(step_minutes=60.0, ordc_mu_mw=20.0, ordc_sigma_mw=20.0))
    hours = np.arange(48)
    demand = 700 + 300 * np.sin(2 * np.pi * (hours - 9) / 24).clip(0) + 120 * np.sin(2 * np.pi * hours / 24)
    heur = commit_schedule(g, demand, np.zeros(48), 24)
    exact, info = commit_milp(g, demand, np.zeros(48), 24, time_limit_s=30)
    assert info["status"] == 0
    for sched in (heur, exact):
        ok, why = runs_respect_min_times(sched, g, 24)
        assert ok, why
    c_h = schedule_cost(g, heur, demand, 0.0)
    c_m = schedule_cost(g, exact, demand, 0.0)
    assert c_h["unserved_mwh"] == 0.0 and c_m["unserved_mwh"] == 0.0
    assert c_h["cost_usd"] <= 1.05 * c_m["cost_usd"]
    # Without commitment every unit sits at its minimum output all day: dearer than both.
    assert schedule_cost(g, None, demand, 0.0)["cost_usd"] > c_h["cost_usd"]
