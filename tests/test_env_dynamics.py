"""Conservation, grid coupling, DR and emergency economics, scenarios and the vector API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridshift.envs import datacenter_grid_v0
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid import kernels as K
from gridshift.envs.dcgrid.scenario import Scenario, load_scenario
from gridshift.envs.grid.types import ParamError

SHORT = dict(horizon_steps=24, warmup_steps=8)


# ---------------------------------------------------------------- conservation


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["discrete", "multidiscrete", "box"]),
       scenario=st.sampled_from(["default", "emergency_events", "telemetry_faults"]))
def test_every_job_accounted_for_under_random_actions(seed, mode, scenario):
    env = datacenter_grid_v0.parallel_env(scenario=scenario, action_mode=mode, n_datacenters=3, **SHORT)
    env.reset(seed=seed)
    for a in env.possible_agents:
        env.action_space(a).seed(seed)
    tallies = {k: 0.0 for k in ("started", "completed_on_time", "completed_late", "dropped_deadline", "dropped_emergency", "served_mwh")}
    # The warm-up's tallies are in the ledger too; count from the ledger at reset.
    before = env.ledger()
    while env.agents:
        _, _, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
        for k in tallies:
            tallies[k] += sum(infos[a][k] for a in env.possible_agents)
    led = env.ledger()
    st_ = env._state
    # Every job that arrived has exactly one final status; nothing pending is past its arrival.
    t_end = int(st_.t[0])
    arrived = (np.arange(st_.status.shape[2])[None, :] < st_.jobs.n_jobs[0][:, None]) & (st_.jobs.arrival[0] < t_end)
    assert arrived.sum() == len(led)
    assert set(led.status) <= {"queued", "running", "completed_on_time", "completed_late", "dropped"}
    assert (led.status == "dropped").sum() == (led.drop_cause != "none").sum()
    # The per-step tallies of the episode equal the ledger's changes over the episode.
    for status, key in (("completed_on_time", "completed_on_time"), ("completed_late", "completed_late")):
        assert (led.status == status).sum() - (before.status == status).sum() == tallies[key]
    dropped = led[led.status == "dropped"]
    dropped_before = before[before.status == "dropped"]
    assert (dropped.drop_cause == "deadline").sum() - (dropped_before.drop_cause == "deadline").sum() == tallies["dropped_deadline"]
    assert (dropped.drop_cause == "emergency").sum() - (dropped_before.drop_cause == "emergency").sum() == tallies["dropped_emergency"]
    # Energy served over the episode equals the change of the sum over jobs.
    assert led.served_mwh.sum() - before.served_mwh.sum() == pytest.approx(tallies["served_mwh"], rel=1e-9, abs=1e-9)
    # Completed jobs got at least their full work; queued jobs never started or were checkpointed.
    done = led[led.status.str.startswith("completed")]
    assert np.all(done.served_mwh >= done.energy_mwh - 1e-9)
    assert np.all(led[led.status == "dropped"].start_step.isna() | (led[led.status == "dropped"].drop_cause == "emergency"))


# ---------------------------------------------------------------- coupling


def test_releasing_flexible_work_raises_price_and_load_in_that_step():
    kw = dict(SHORT, n_datacenters=8, penetration=0.3, month=8)
    envs = [datacenter_grid_v0.vector_env(num_envs=1, **kw) for _ in range(2)]
    for e in envs:
        e.reset(seed=5)
    defer = np.full((1, 8), 3)  # Discrete 3: defer all flexible work
    for _ in range(6):  # build a backlog, identically in both
        outs = [e.step(defer) for e in envs]
    np.testing.assert_array_equal(outs[0][4]["grid"].price_usd_per_mwh, outs[1][4]["grid"].price_usd_per_mwh)
    release = envs[0].step(np.zeros((1, 8), int))[4]  # Discrete 0: release everything
    hold = envs[1].step(defer)[4]
    assert release["dc_load_total_mw"][0] > hold["dc_load_total_mw"][0] + 100.0
    assert release["grid"].price_usd_per_mwh[0] > hold["grid"].price_usd_per_mwh[0]
    assert release["grid"].emissions_t_co2[0] > hold["grid"].emissions_t_co2[0]
    assert release["grid"].total_demand_mw[0] > hold["grid"].total_demand_mw[0]


# ---------------------------------------------------------------- DR and emergency economics


def _econ(load, baseline_sum, days, dr_active, em_active=False, fac_cap=np.inf, price=40.0, avg_ci=400.0):
    nb, n = load.shape
    spd = baseline_sum.shape[2]
    outs = [np.zeros((nb, n)) for _ in range(9)]
    social = np.zeros(nb)
    dra = np.zeros(nb, bool)
    emn = np.zeros(nb, bool)
    t = np.array([0])
    dr_start = np.array([0 if dr_active else -1])
    dr_end = np.array([4 if dr_active else -1])
    K.economics_and_events(
        t, spd, 0.25, np.full((nb, n), price), np.array([avg_ci]), np.array([1000.0]), np.array([1e5]),
        load, np.zeros((nb, n)), np.zeros((nb, n)), np.array([em_active]), np.full((nb, n), fac_cap),
        baseline_sum, np.full((nb, spd), float(days)), np.zeros((nb, spd)), np.array([5e4]),
        dr_start, dr_end, np.array([0]), np.full((nb, n), np.inf), np.full((nb, 10), 1e5),
        np.zeros(nb, np.int64), np.zeros(nb, np.int64), np.zeros(nb, np.int64),
        50.0, 200.0, 1000.0, 150.0, 2000.0, 0.0, 1.0,
        True, 4, 8, 0.0, True, 0.0, 0.7, 4, False, 0.0, 4,
        *outs, social, dra, emn,
    )
    return dict(zip(["base", "bill", "carbon_t", "carbon_cost", "sla", "dr", "em_pen", "cost", "reward"], outs, strict=True))


def test_dr_payment_against_known_baseline():
    # Baseline: 2 previous days at this slot summed to 200 MW -> 100 MW. Load 70 MW during an
    # event: paid 150 $/MWh x 30 MW x 0.25 h = 1125 $.
    base = np.zeros((1, 1, 96))
    base[0, 0, 0] = 200.0
    e = _econ(np.array([[70.0]]), base, 2, dr_active=True)
    assert e["base"][0, 0] == pytest.approx(100.0)
    assert e["dr"][0, 0] == pytest.approx(1125.0)
    assert e["bill"][0, 0] == pytest.approx(40.0 * 70 * 0.25)
    assert e["carbon_t"][0, 0] == pytest.approx(0.4 * 70 * 0.25)
    assert e["cost"][0, 0] == pytest.approx(40 * 70 * 0.25 + 50 * 0.4 * 70 * 0.25 - 1125.0)
    # Above the baseline nothing is paid; no event, nothing paid.
    base[0, 0, 0] = 200.0  # the kernel added the load above to the baseline sums: reset
    assert _econ(np.array([[120.0]]), base.copy(), 2, dr_active=True)["dr"][0, 0] == 0.0
    assert _econ(np.array([[70.0]]), base.copy(), 2, dr_active=False)["dr"][0, 0] == 0.0
    # A reduction forced by an emergency order in force is not paid, even during an event.
    forced = _econ(np.array([[70.0]]), base.copy(), 2, dr_active=True, em_active=True, fac_cap=70.0)
    assert forced["dr"][0, 0] == 0.0 and forced["em_pen"][0, 0] == 0.0


def test_emergency_non_compliance_penalty():
    base = np.zeros((1, 1, 96))
    e = _econ(np.array([[80.0]]), base, 0, dr_active=False, em_active=True, fac_cap=60.0)
    assert e["em_pen"][0, 0] == pytest.approx(2000.0 * 20.0 * 0.25)


def test_emergency_order_sheds_e0_in_env():
    # A high emergency threshold: orders are issued from the first steps on, E0 work is shed,
    # and every DC's load stays at its cap, or at its idle floor when the cap is below it.
    env = datacenter_grid_v0.parallel_env(
        scenario="emergency_events", n_datacenters=4, horizon_steps=48, warmup_steps=4,
        emergency_reserve_threshold_mw=60000.0, emergency_fraction=0.5, dr_enabled=False,
    )
    env.reset(seed=0)
    dcs = env.params.dcs
    issued = 0
    while env.agents:
        _, _, _, _, infos = env.step({a: 0 for a in env.agents})
        for i, a in enumerate(env.possible_agents):
            inf = infos[a]
            if inf["emergency_active"]:
                issued += 1
                floor = dcs.pue[i] * dcs.idle_mw[i]
                assert inf["load_mw"] <= max(inf["emergency_cap_mw"], floor) + 1e-6
                assert inf["emergency_penalty_usd"] == pytest.approx(2000.0 * max(0.0, inf["load_mw"] - inf["emergency_cap_mw"]) * 0.25)
    assert issued > 0
    led = env.ledger()
    em = led[led.drop_cause == "emergency"]
    assert len(em) > 0 and (em.job_class == 0).any()
    assert (em.status == "dropped").all()


# ---------------------------------------------------------------- scenarios


def test_unknown_key_names_it_and_lists_allowed():
    with pytest.raises(ParamError, match=r"unknown scenario key\(s\) \['n_dcs'\].*n_datacenters"):
        datacenter_grid_v0.parallel_env(n_dcs=4)


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(penetration=-0.1), r"penetration=-0\.1 .*\(0, 2\]"),
        (dict(n_datacenters=0), r"n_datacenters=0 .*\[1, 100000\]"),
        (dict(dr_price_usd_per_mwh=float("nan")), "dr_price_usd_per_mwh"),
        (dict(action_mode="continuous"), r"action_mode='continuous'.*'discrete', 'multidiscrete', 'box'"),
        (dict(job_mix=(0.5, 0.5, 0.5, 0.5)), "sum to 1"),
        (dict(signal_delay_steps=1.5), "signal_delay_steps"),
    ],
)
def test_out_of_range_values_fail_with_field_and_range(kw, msg):
    with pytest.raises(ParamError, match=msg):
        load_scenario("default", **kw)


def test_scenario_file_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('base = "default"\npenetraton = 0.2\n')
    with pytest.raises(ParamError, match=r"bad\.toml.*penetraton"):
        load_scenario(p)
    p.write_text("penetration = 5.0\n")
    with pytest.raises(ParamError, match=r"bad\.toml.*penetration=5\.0"):
        load_scenario(p)
    with pytest.raises(ParamError, match="unknown scenario 'nope'"):
        load_scenario("nope")


def test_scenario_inheritance_and_overrides():
    sc = load_scenario("high_penetration", n_datacenters=5)
    assert sc.penetration == 0.30 and sc.n_datacenters == 5 and sc.name == "high_penetration"
    assert Scenario().max_deferral_steps() == (0, 8, 48, 192)
    assert Scenario(elasticity_preset="elasticity_tiers").max_deferral_steps() == (0, 1, 8, 96)


def test_dc_sizes_match_penetration():
    env = datacenter_grid_v0.parallel_env(n_datacenters=5, penetration=0.2, **SHORT)
    d = env.params.dcs
    assert (d.pue * d.it_capacity_mw).sum() == pytest.approx(0.2 * env.scenario.peak_demand_mw)


# ---------------------------------------------------------------- vector API


def test_vector_env_matches_parallel_env_at_batch_one():
    v = datacenter_grid_v0.vector_env(num_envs=1, **SHORT)
    p = datacenter_grid_v0.parallel_env(**SHORT)
    ov, _ = v.reset(seed=4)
    op, _ = p.reset(seed=4)
    np.testing.assert_array_equal(ov[0], np.stack([op[a] for a in p.possible_agents]))
    rng = np.random.default_rng(0)
    for _ in range(SHORT["horizon_steps"]):
        acts = rng.integers(0, 6, size=8)
        ov, rv, _, tv, _ = v.step(acts[None])
        op, rp, _, tp, _ = p.step({a: int(acts[i]) for i, a in enumerate(p.possible_agents)})
        if not tv.all():
            np.testing.assert_array_equal(ov[0], np.stack([op[a] for a in p.possible_agents]))
        np.testing.assert_allclose(rv[0], [rp[a] for a in p.possible_agents], rtol=1e-6)
    assert tv.all() and all(tp.values())


def test_vector_env_batch_shapes_and_autoreset():
    v = datacenter_grid_v0.vector_env(num_envs=3, action_mode="box", **SHORT)
    obs, _ = v.reset(seed=0)
    assert obs.shape == (3, 8, v.layout.size)
    for _ in range(SHORT["horizon_steps"]):
        obs, r, term, trunc, info = v.step(np.ones((3, 8, 3)))
        assert r.shape == (3, 8) and not term.any()
    assert trunc.all() and "final_observation" in info and obs.shape == (3, 8, v.layout.size)
    # Different envs of one batch draw different episodes.
    assert not np.array_equal(info["final_observation"][0], info["final_observation"][1])
    with pytest.raises(ValueError, match="box action of shape"):
        v.step(np.ones((3, 8, 2)))


def test_ledger_statuses_use_public_codes():
    assert J.STATUS["dropped"] == J.DROPPED and J.CAUSE["emergency"] == J.CAUSE_EMERGENCY


def test_threaded_batch_kernel_equals_serial(monkeypatch):
    # Batches >= PARALLEL_MIN_BATCH run one thread per core; envs are independent, so the
    # result must not depend on it.
    nb = J.PARALLEL_MIN_BATCH

    def run():
        v = datacenter_grid_v0.vector_env(num_envs=nb, **SHORT)
        v.reset(seed=9)
        rng = np.random.default_rng(1)
        outs = []
        for _ in range(SHORT["horizon_steps"] - 1):
            o, r, *_ = v.step(rng.integers(0, 6, size=(nb, 8)))
            outs.append((o.copy(), r.copy()))
        return outs, v.state.status.copy(), v.state.served_mwh.copy()

    par = run()
    monkeypatch.setattr(J, "PARALLEL_MIN_BATCH", 10**9)
    ser = run()
    for (o1, r1), (o2, r2) in zip(par[0], ser[0], strict=True):
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(par[1], ser[1])
    np.testing.assert_array_equal(par[2], ser[2])


def test_battery_state_of_charge_dynamics():
    # TSCO eq. 2: SoC += eta * charge * dt - discharge * dt / eta, within power and energy limits.
    running = np.array([[10.0]])
    idle, pue = np.array([5.0]), np.array([1.2])
    bat_mw, bat_mwh, eta, dt = np.array([4.0]), np.array([8.0]), 0.9, 0.25
    soc = np.array([[2.0]])
    outs = [np.zeros((1, 1)) for _ in range(5)]
    total = np.zeros(1)
    K.dc_power(running, idle, pue, bat_mw, bat_mwh, eta, np.array([False]), np.array([[1.0]]), soc, dt, *outs, total)
    assert outs[1][0, 0] == pytest.approx(1.2 * 15.0)  # facility
    assert outs[2][0, 0] == pytest.approx(4.0)  # full charge power
    assert soc[0, 0] == pytest.approx(2.0 + 0.9 * 4.0 * 0.25)
    assert total[0] == pytest.approx(18.0 + 4.0)
    K.dc_power(running, idle, pue, bat_mw, bat_mwh, eta, np.array([False]), np.array([[-1.0]]), soc, dt, *outs, total)
    assert outs[3][0, 0] == pytest.approx(4.0)
    assert soc[0, 0] == pytest.approx(2.9 - 4.0 * 0.25 / 0.9)
    # Nearly empty: discharge limited by the energy left (soc * eta / dt).
    soc[0, 0] = 0.1
    K.dc_power(running, idle, pue, bat_mw, bat_mwh, eta, np.array([False]), np.array([[-1.0]]), soc, dt, *outs, total)
    assert outs[3][0, 0] == pytest.approx(0.1 * 0.9 / 0.25) and soc[0, 0] == pytest.approx(0.0, abs=1e-12)
    # Under an emergency order the battery does not charge.
    K.dc_power(running, idle, pue, bat_mw, bat_mwh, eta, np.array([True]), np.array([[1.0]]), soc, dt, *outs, total)
    assert outs[2][0, 0] == 0.0


def test_battery_scenario_exposes_battery_actions():
    env = datacenter_grid_v0.parallel_env(battery_hours=2.0, **SHORT)
    assert env.action_space("dc_0").n == 8
    env.reset(seed=0)
    socs = []
    while env.agents:
        obs, *_ = env.step({a: 6 for a in env.agents})  # run everything, charge
        socs.append(env.layout.get(obs["dc_0"], "soc"))
    assert socs[-1] > socs[0] and socs[-1] <= 1.0
