"""Hand-computed cases for the per-step kernels (rewards, DR lead time, emergency cap, telemetry
delay and anomalies, forecast noise), the synthetic workload's realised utilisation and mix, and
observations that are never clipped in the shipped scenarios."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from gridshift.data.paths import data_root
from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid import kernels as K
from gridshift.envs.dcgrid.scenario import available_scenarios, load_scenario
from gridshift.envs.dcgrid.workload import dc_params, generate_jobs

SYNTHETIC = [s for s in available_scenarios() if not load_scenario(s).needs_data]
#: Scenarios that read the real-data directory run when it is present (tests below skip otherwise).
WITH_DATA = [s for s in available_scenarios() if load_scenario(s).grid_backend == "network"]


def _econ(t, *, price=50.0, ci=400.0, system_cost=1000.0, reserve=(1e5,), load=(10.0, 20.0), reward_w=0.0,
          da_reserve=None, dr_lead=4, dr_dur=8, em_threshold=0.0, baseline=None, spd=96, em_hysteresis=False,
          em_release=4000.0, em_release_steps=4, state=None):
    """One call of ``economics_and_events`` for one env; returns every output by name."""
    n = len(load)
    nb = 1
    out = {k: np.zeros((nb, n)) for k in ("base", "bill", "ct", "cc", "sla", "dr", "ep", "cost", "reward")}
    social, dr_active, em_new = np.zeros(nb), np.zeros(nb, bool), np.zeros(nb, bool)
    state = state or {
        "baseline_sum": np.zeros((nb, n, spd)) if baseline is None else baseline[0],
        "baseline_days": np.zeros((nb, spd)) if baseline is None else baseline[1],
        "demand_ring": np.zeros((nb, spd)), "dr_start": np.full(nb, -1), "dr_end": np.full(nb, -1),
        "em_end": np.zeros(nb, np.int64), "em_cap": np.full((nb, n), np.inf),
        "em_mode": np.zeros(nb, np.int64), "em_hold_until": np.zeros(nb, np.int64), "em_k": np.zeros(nb, np.int64),
    }
    da = np.full((nb, 200), 1e5) if da_reserve is None else da_reserve
    return out, social, dr_active, em_new, state, (
        np.array([t]), spd, 0.25, np.full((nb, n), price), np.array([ci]), np.array([system_cost]), np.array(reserve, float),
        np.array([load], float), np.zeros((nb, n)), np.zeros((nb, n)), np.zeros(nb, bool), np.full((nb, n), np.inf),
        state["baseline_sum"], state["baseline_days"], state["demand_ring"], np.array([60000.0]),
        state["dr_start"], state["dr_end"], state["em_end"], state["em_cap"], da,
        state["em_mode"], state["em_hold_until"], state["em_k"],
        50.0, 200.0, 1000.0, 150.0, 2000.0, reward_w, 1000.0,
        True, dr_lead, dr_dur, 7000.0, True, em_threshold, 0.7, 4,
        em_hysteresis, em_release, em_release_steps)


def _call(args, out, social, dr_active, em_new):
    K.economics_and_events(*args, out["base"], out["bill"], out["ct"], out["cc"], out["sla"], out["dr"], out["ep"],
                           out["cost"], out["reward"], social, dr_active, em_new)


def test_reward_modes_by_hand():
    # DC loads 10 and 20 MW for 0.25 h at $50/MWh and 400 g/kWh, carbon $50/t:
    # bills 125 and 250 $, 1 and 2 tCO2, carbon costs 50 and 100 $: own costs 175 and 350 $.
    # System social cost 1,000 $ shared by 2 DCs: 500 $ each. Rewards are $ / 1,000.
    for w, want in ((0.0, [-0.175, -0.350]), (1.0, [-0.5, -0.5]), (0.5, [-(0.5 * 175 + 250) / 1000, -(0.5 * 350 + 250) / 1000])):
        out, social, dra, emn, _, args = _econ(5, reward_w=w)
        _call(args, out, social, dra, emn)
        np.testing.assert_allclose(out["bill"][0], [125.0, 250.0])
        np.testing.assert_allclose(out["ct"][0], [1.0, 2.0])
        np.testing.assert_allclose(out["cost"][0], [175.0, 350.0])
        assert social[0] == 1000.0
        np.testing.assert_allclose(out["reward"][0], want)


def test_dr_is_announced_exactly_lead_steps_ahead():
    # The day-ahead reserve dips below the 7,000 MW threshold at step 10; lead 4, duration 8.
    da = np.full((1, 200), 1e5)
    da[0, 10] = 5000.0
    out, social, dra, emn, st, args = _econ(0, da_reserve=da)
    announced, active = None, []
    for t in range(25):
        args = (np.array([t]),) + args[1:]
        _call(args, out, social, dra, emn)
        if announced is None and st["dr_start"][0] >= 0:
            announced = t
        active.append(bool(dra[0]))
    # at t = 5 the look-ahead t + 1 + lead reaches step 10: the event runs for steps 10..17
    assert announced == 5
    assert [t for t, a in enumerate(active) if a] == list(range(10, 18))


def test_emergency_caps_each_dc_at_a_share_of_its_baseline():
    spd = 4
    bsum = np.zeros((1, 2, spd))
    bsum[0, :, 2] = [30.0, 60.0]  # two past days at slot 2: baselines 15 and 30 MW
    bdays = np.zeros((1, spd))
    bdays[0, 2] = 2
    out, social, dra, emn, st, args = _econ(1, reserve=(1500.0,), em_threshold=2000.0, baseline=(bsum, bdays), spd=spd)
    _call(args, out, social, dra, emn)
    assert emn[0] and st["em_end"][0] == 1 + 1 + 4  # issued for the next 4 steps
    np.testing.assert_allclose(st["em_cap"][0], [0.7 * 15.0, 0.7 * 30.0])  # slot of step 2


def test_emergency_hysteresis_holds_then_ramps_the_cap_back():
    """Issue below 2,000 MW; hold for at least 4 steps and until reserve is back above 4,000 MW;
    then the cap rises 0.7 -> 0.775 -> 0.85 -> 0.925 -> 1.0 of the baseline (4 ramp steps) and the
    order lifts. Every slot's baseline is 100 MW (one past day)."""
    spd = 4
    bsum = np.full((1, 1, spd), 100.0)
    bdays = np.ones((1, spd))
    state = None
    # reserve seen at the end of steps 0..11 (MW)
    reserves = [1500, 2500, 2500, 2500, 2500, 3500, 4500, 4500, 4500, 4500, 4500, 4500]
    caps, in_force, issued = [], [], []
    for t, r in enumerate(reserves):
        out, social, dra, emn, state, args = _econ(t, reserve=(float(r),), load=(100.0,), em_threshold=2000.0,
                                                   baseline=(bsum, bdays), spd=spd, em_hysteresis=True, state=state)
        _call(args, out, social, dra, emn)
        bsum[:] = 100.0 * bdays  # the kernel counted this step's load: keep every baseline at 100 MW
        issued.append(bool(emn[0]))
        in_force.append(bool(state["em_end"][0] > t + 1))  # in force at step t + 1
        caps.append(float(state["em_cap"][0, 0]) if in_force[-1] else None)
    assert issued == [True] + [False] * 11
    # held through step 5 (min hold to step 5; reserve 3,500 < 4,000 at step 5), release starts at the end of step 6
    assert in_force == [True] * 10 + [False] * 2
    assert caps[:6] == pytest.approx([70.0] * 6)
    assert caps[6:10] == pytest.approx([77.5, 85.0, 92.5, 100.0])
    # a new stress during the ramp re-issues the order at 70 %
    out, social, dra, emn, state2, args = _econ(7, reserve=(1000.0,), load=(100.0,), em_threshold=2000.0,
                                                baseline=(bsum, bdays), spd=spd, em_hysteresis=True,
                                                state={k: v.copy() for k, v in state.items()})
    state2["em_mode"][0], state2["em_k"][0] = 2, 1
    _call(args, out, social, dra, emn)
    assert emn[0] and state2["em_mode"][0] == 1 and state2["em_cap"][0, 0] == pytest.approx(70.0)


def _telemetry(t, delay, true, hist, observed, u=1.0, kind=0, prob=0.0, ring=None):
    ring = np.full((1, 4), 1000.0) if ring is None else ring
    anomaly = np.zeros(1, np.int64)
    K.telemetry(np.array([t]), delay, np.array([true], float), hist, observed, np.array([u]), np.array([kind]), prob,
                ring, anomaly)
    return anomaly[0]


def test_telemetry_delay_and_every_anomaly_kind():
    delay = 2
    hist = np.zeros((1, delay + 1, 6))
    observed = np.zeros((1, 6))
    sig = [[10.0 * t, 0.1 * t, 100.0 + t, 200.0 + t, 1000.0 + t, 50.0 + t] for t in range(8)]
    for t in range(6):
        _telemetry(t, delay, sig[t], hist, observed)
        np.testing.assert_allclose(observed[0], sig[max(t - delay, 0)])  # never fresher than the delay
    seen = observed.copy()
    # 0 stuck: the last reading stays
    assert _telemetry(6, delay, sig[6], hist, observed, u=0.0, kind=0, prob=0.5) == 0
    np.testing.assert_allclose(observed[0], seen[0])
    # 1 spike: price x5, average CI x1.5, on the delayed reading
    _telemetry(7, delay, sig[7], hist, observed, u=0.0, kind=1, prob=0.5)
    want = np.array(sig[5])
    want[0] *= 5.0
    want[2] *= 1.5
    np.testing.assert_allclose(observed[0], want)
    # 2 renewable share 0.97; 3 demand at 25 % of the last day's mean
    hist2, obs2 = np.zeros((1, 1, 6)), np.zeros((1, 6))
    _telemetry(0, 0, sig[3], hist2, obs2, u=0.0, kind=2, prob=0.5)
    assert obs2[0, 1] == 0.97 and obs2[0, 0] == sig[3][0]
    ring = np.array([[800.0, 1200.0, 1000.0, 1000.0]])
    _telemetry(1, 0, sig[4], hist2, obs2, u=0.0, kind=3, prob=0.5, ring=ring)
    assert obs2[0, 4] == pytest.approx(0.25 * 1000.0) and obs2[0, 0] == sig[4][0]
    # u >= prob: no anomaly
    assert _telemetry(2, 0, sig[5], hist2, obs2, u=0.9, kind=1, prob=0.5) == -1
    np.testing.assert_allclose(obs2[0], sig[5])


def test_forecast_error_grows_linearly_with_the_horizon():
    sc = load_scenario("default", horizon_steps=8, warmup_steps=4, forecast_noise=0.04)
    params = core.make_params(sc)
    st = core.reset(params, np.random.default_rng(0), batch_size=512)
    obs = core.observe(params, st, np.random.default_rng(1))
    lay = params.layout
    rows = np.arange(512)
    for h, steps in zip(sc.forecast_horizons_h, params.horizon_steps_fc, strict=True):
        da = st.da_price[rows, st.t + steps] / 100.0
        ok = (da > 0.1) & (da < 5.0)  # $10-500/MWh: away from zero prices and the VOLL clamp
        rel = obs[ok, 0, lay[f"price_fc_{h:g}h"]] / da[ok] - 1.0
        assert ok.sum() > 400
        # relative error = forecast_noise x h x N(0, 1): its std is 0.04 h (sampling error ~3 %)
        assert np.std(rel) == pytest.approx(0.04 * h, rel=0.1), h
        assert abs(np.mean(rel)) < 4 * 0.04 * h / np.sqrt(ok.sum())


def test_synthetic_workload_realises_its_utilisation_and_mix():
    sc = load_scenario("default")
    dcp = dc_params(sc)
    steps = 7 * sc.steps_per_day  # a whole week, so weekdays and weekends average out
    tb = generate_jobs(sc, dcp, np.random.default_rng(3), 8, np.zeros(8, np.int64), steps)
    valid = np.arange(tb.arrival.shape[2])[None, None, :] < tb.n_jobs[..., None]
    energy = np.where(valid, tb.power_mw * tb.duration * sc.step_hours, 0.0)
    per_class = np.array([energy[np.where(valid, tb.job_class == c, False)].sum() for c in range(4)])
    np.testing.assert_allclose(per_class / per_class.sum(), sc.job_mix, atol=0.02)
    util = energy.sum() / (8 * dcp.dynamic_mw.sum() * steps * sc.step_hours)
    assert util == pytest.approx(sc.target_utilization, rel=0.05)


@pytest.mark.parametrize("scenario", SYNTHETIC + [
    pytest.param(s, marks=pytest.mark.skipif(data_root() is None, reason="network case: shared data not found"))
    for s in WITH_DATA])
def test_observations_are_never_clipped_in_the_shipped_scenarios(scenario):
    """The kernel clips observations into their documented bounds; in every shipped scenario the
    unclipped observation is already inside them, so the bounds describe the data (and the
    in-space check of the API tests is not made true by the clip)."""
    sc = load_scenario(scenario, horizon_steps=96, warmup_steps=96, n_datacenters=8)
    params = core.make_params(sc)
    free = dataclasses.replace(params, obs_low=np.full_like(params.obs_low, -np.inf),
                               obs_high=np.full_like(params.obs_high, np.inf))
    rng = np.random.default_rng(5)
    st = core.reset(params, rng, batch_size=4)
    act_rng = np.random.default_rng(6)
    for _ in range(sc.horizon_steps):
        r1, r2 = copy.deepcopy(rng), copy.deepcopy(rng)
        clipped, raw = core.observe(params, st, r1), core.observe(free, st, r2)
        bad = np.argwhere(clipped != raw)
        assert bad.size == 0, [(params.layout.names[k], float(raw[i, j, k])) for i, j, k in bad[:5]]
        a = np.concatenate([act_rng.random((4, 8, 3)), np.zeros((4, 8, 1))], axis=2)
        core.step(params, st, a, rng)
