"""Geo-shifting (issue #15): hand-computed routing and a conservation proof over whole episodes."""

from __future__ import annotations

import numpy as np
import pytest

from gridshift.envs.dcgrid import geo
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid.actions import make_adapter
from gridshift.envs.dcgrid.vector import DCGridVectorEnv
from gridshift.envs.grid.types import ParamError


def _table(n=3, jmax=8):
    z = lambda dt, fill=0: np.full((1, n, jmax), fill, dt)  # noqa: E731
    return dict(job_class=z(np.int8), arrival=z(np.int32), duration=z(np.int32), deadline=z(np.int32),
                power=z(np.float64), status=z(np.int8, J.EMPTY), remaining=z(np.int32), start=z(np.int32, -1),
                finish=z(np.int32, -1), active=z(np.int32), n_active=np.zeros((1, n), np.int64),
                n_slots=np.zeros((1, n), np.int64), origin=z(np.int32, -1), moved_to=z(np.int32, -1),
                origin_slot=z(np.int32, -1))


def _queue(tb, i, jobs):
    """Queue ``(class, power, duration, deadline)`` jobs at DC ``i`` (arrived at step 0)."""
    for s, (c, p, d, dl) in enumerate(jobs):
        tb["job_class"][0, i, s], tb["power"][0, i, s], tb["duration"][0, i, s], tb["deadline"][0, i, s] = c, p, d, dl
        tb["status"][0, i, s] = J.QUEUED
        tb["active"][0, i, s] = s
    tb["n_active"][0, i] = tb["n_slots"][0, i] = len(jobs)


def _transfer(tb, t, shift, score, busy, dyn, delay=2, frac=1e-3):
    out = [np.zeros((1, len(dyn))) for _ in range(4)]
    geo.transfer(np.array([t]), np.array([shift], float), np.array([score], float), np.array([busy], float),
                 np.array(dyn, float), delay, frac, tb["job_class"], tb["arrival"], tb["duration"], tb["deadline"],
                 tb["power"], tb["status"], tb["remaining"], tb["start"], tb["finish"], tb["active"], tb["n_active"],
                 tb["n_slots"], tb["origin"], tb["moved_to"], tb["origin_slot"], *out)
    return out


def test_routing_by_hand():
    """DC 0 offers everything; DC 1 is cheaper than DC 2. Jobs (class, MW, steps, deadline) at t=10,
    delay 2: j0 E2 (slack 30-12-4 = 14), j1 E3 (slack 20-12-6 = 2), j2 E1 (never offered),
    j3 E2 that cannot make its deadline after the move (slack 14-12-4 = -2)."""
    tb = _table()
    _queue(tb, 0, [(2, 3.0, 4, 30), (3, 5.0, 6, 20), (1, 2.0, 2, 40), (2, 1.0, 4, 14)])
    moved_out, moved_in, transfer_mw, refused = _transfer(tb, 10, [1.0, 0, 0], [50.0, 40.0, 45.0], [0, 0, 0],
                                                          [100.0, 100.0, 100.0])
    # j0 and j1 move to DC 1 (score 40), largest slack first; j2 (E1) and j3 (no slack) stay
    assert [int(x) for x in tb["status"][0, 0, :4]] == [J.MOVED, J.MOVED, J.QUEUED, J.QUEUED]
    assert [int(x) for x in tb["moved_to"][0, 0, :2]] == [1, 1]
    assert tb["n_slots"][0, 1] == 2 and list(tb["status"][0, 1, :2]) == [J.IN_TRANSIT] * 2
    assert list(tb["deadline"][0, 1, :2]) == [30, 20] and list(tb["arrival"][0, 1, :2]) == [12, 12]
    assert list(tb["power"][0, 1, :2]) == [3.0, 5.0] and list(tb["origin"][0, 1, :2]) == [0, 0]
    assert moved_out[0, 0] == 8.0 and moved_in[0, 1] == 8.0 and refused[0, 0] == 0
    # network energy: 1e-3 x (3 MW x 4 steps + 5 MW x 6 steps) MWh per step of dt h, as MW
    assert transfer_mw[0, 0] == pytest.approx(1e-3 * (3 * 4 + 5 * 6))


def test_ties_go_to_the_least_loaded_and_capacity_and_half_offers_are_respected():
    tb = _table()
    _queue(tb, 0, [(2, 3.0, 4, 60), (2, 3.0, 4, 50), (3, 4.0, 4, 40)])
    # equal scores (a copper plate): DC 2 is less loaded; it has room for 5 MW only
    out = _transfer(tb, 0, [0.5, 0, 0], [40.0, 40.0, 40.0], [0, 90.0, 95.0], [100.0, 100.0, 100.0])
    # shift 0.5 of 10 MW queued = a 5 MW budget. The largest-slack job (deadline 60, 3 MW) goes to
    # the less loaded of the tied DCs: DC 1 (ratio 0.90, 10 MW spare) before DC 2 (0.95, 5 MW).
    # The next jobs (3 MW, then 4 MW) would exceed the budget and stay.
    assert tb["moved_to"][0, 0, 0] == 1 and tb["status"][0, 0, 1] == J.QUEUED
    assert out[0][0, 0] == 3.0
    # an 8 MW job fits nowhere (5 MW spare at most): refused, and it stays queued
    tb2 = _table()
    _queue(tb2, 0, [(2, 8.0, 4, 60)])
    out = _transfer(tb2, 0, [1.0, 0, 0], [40.0, 40.0, 40.0], [0, 95.0, 95.0], [100.0, 100.0, 100.0])
    assert tb2["status"][0, 0, 0] == J.QUEUED and out[3][0, 0] == 1  # no DC has 8 MW spare: refused


def test_a_dc_that_offers_work_receives_none():
    tb = _table(n=2)
    _queue(tb, 0, [(2, 1.0, 4, 60)])
    _queue(tb, 1, [(2, 1.0, 4, 60)])
    out = _transfer(tb, 0, [1.0, 1.0], [40.0, 30.0], [0, 0], [100.0, 100.0])
    assert (tb["status"][0, :, 0] == J.QUEUED).all() and out[3].sum() == 2


@pytest.mark.parametrize("mode", ["discrete", "multidiscrete", "box"])
def test_nothing_is_lost_or_counted_twice(mode):
    """Half the DCs offer all their E2/E3 work every step; after settlement every original job is
    accounted for exactly once, at its final DC, and arrived = served + dropped."""
    env = DCGridVectorEnv("default", num_envs=2, autoreset=False, geo_shift=True, horizon_steps=96, action_mode=mode)
    env.reset(seed=3)
    n = env.n_agents
    offer = {"discrete": 6, "multidiscrete": [4, 0, 0, 4], "box": [1.0, 0.0, 0.0, 1.0]}[mode]
    fifo = {"discrete": 0, "multidiscrete": [4, 4, 4, 0], "box": [1.0, 1.0, 1.0, 0.0]}[mode]
    act = np.array([[offer if i % 2 == 0 else fifo for i in range(n)]] * 2)
    moved_mw = 0.0
    for _ in range(96):
        info = env.step(act)[4]
        moved_mw += info["geo_moved_out_mw"].sum()
        np.testing.assert_allclose(info["geo_moved_out_mw"].sum(axis=1), info["geo_moved_in_mw"].sum(axis=1))
    for _ in env.settle():
        pass
    assert moved_mw > 0
    st = env.state
    for b in range(2):
        led = env.ledger(b)
        moved, copies = led[led.status == "moved"], led[led.origin_dc >= 0]
        assert len(moved) > 0 and len(moved) == len(copies)
        # every move has exactly one copy at the target it names, with the same job
        src = moved.set_index(["moved_to_dc", "deadline_step", "power_mw"]).sort_index()
        dst = copies.set_index(["dc", "deadline_step", "power_mw"]).sort_index()
        assert list(src.index) == list(dst.index)
        assert (moved.dc % 2 == 0).all() and (copies.dc % 2 == 1).all()  # offering DCs receive nothing
        assert (copies.origin_dc % 2 == 0).all()
        # conservation: the original table's energy equals the energy of the rows that are not 'moved'
        tb = st.jobs
        k = tb.n_jobs[b]
        original = sum((tb.power_mw[b, i, :k[i]] * tb.duration[b, i, :k[i]]).sum() for i in range(n)) * 0.25
        live = led[led.status != "moved"]
        assert live.energy_mwh.sum() == pytest.approx(original)
        # settled: nothing open, arrived = served + dropped
        assert not live.status.isin(["queued", "running", "in_transit", "pending"]).any()
        done = live.status.isin(["completed_on_time", "completed_late"])
        assert live.energy_mwh[done].sum() + live.energy_mwh[live.status == "dropped"].sum() == pytest.approx(original)


def test_geo_actions_and_errors():
    for mode, k in (("discrete", None), ("multidiscrete", 4), ("box", 4)):
        ad = make_adapter(mode, False, True)
        assert ad.to_core(np.array([ad.noop])).shape == (1, 5)
        assert ad.to_core(np.array([ad.noop]))[0, 4] == 0.0  # the no-op moves nothing
        if k:
            with pytest.raises(ValueError, match=f"allowed shape \\(..., {k}\\)"):
                ad.to_core(np.zeros((1, 3)))
    assert make_adapter("discrete", False, True).space.n == 8
    with pytest.raises(ParamError, match="geo_shift=True is invalid with n_datacenters=1"):
        DCGridVectorEnv("default", geo_shift=True, n_datacenters=1)


def test_pettingzoo_conformance_with_geo_shift():
    from pettingzoo.test import parallel_api_test

    from gridshift.envs import datacenter_grid_v0

    for mode in ("discrete", "box"):
        parallel_api_test(datacenter_grid_v0.parallel_env(geo_shift=True, action_mode=mode, horizon_steps=24,
                                                          warmup_steps=8), num_cycles=30)


def test_geo_greedy_offers_on_a_forecast_rise_and_releases_like_fifo():
    from gridshift.agents.base import PolicyContext
    from gridshift.agents.geo_greedy import GeoGreedy

    env = DCGridVectorEnv("default", num_envs=1, geo_shift=True, action_mode="box", horizon_steps=8)
    obs, _ = env.reset(seed=0)
    pol = GeoGreedy(margin_usd_per_mwh=5.0)
    ctx = PolicyContext(env.layout, env.scenario, env.n_agents, env.single_action_space, 0.25, (0, 8, 48, 192))
    pol.reset(0, ctx)
    o = obs[0].copy()
    lay = env.layout
    o[:, lay["price"]] = 0.40
    o[:, lay["price_fc_1h"]] = 0.40
    o[0, lay["price_fc_1h"]] = 0.50  # DC 0's price is forecast to rise by $10/MWh
    a = pol.act(o, None)
    assert a.shape == (env.n_agents, 4) and (a[:, :3] == 1).all()
    assert a[0, 3] == 1.0 and (a[1:, 3] == 0).all()
    with pytest.raises(ValueError, match="margin_usd_per_mwh"):
        GeoGreedy(margin_usd_per_mwh=-1)


def test_geo_greedy_is_a_builtin_policy():
    from gridshift.agents.registry import make_policy, policy_descriptions

    assert make_policy("geo_greedy").name == "geo_greedy"
    assert "geo-shifting" in policy_descriptions()["geo_greedy"]


def test_a_target_that_defers_its_own_work_still_takes_moved_work():
    # Every DC holds its E2/E3 work (release 0); DC 0 offers all of its own. The broker counts a
    # target's running and queued E1 power against its capacity, not its deferred E2/E3 backlog
    # (a DC that defers is not full), so offers keep landing once the backlogs have grown.
    env = DCGridVectorEnv("default", num_envs=1, autoreset=False, geo_shift=True, action_mode="box", horizon_steps=96)
    env.reset(seed=3)
    a = np.zeros((1, 8, 4), np.float32)
    a[..., 0] = 1.0
    a[0, 0, 3] = 1.0
    moved_late, refused_late = 0.0, 0.0
    for t in range(96):
        _, _, _, _, info = env.step(a)
        if t >= 48:
            moved_late += info["geo_moved_in_mw"][0, 1:].sum()
            refused_late += info["geo_refused"][0, 0]
    backlog = env.state.last["queued_mw_e2"][0, 1:] + env.state.last["queued_mw_e3"][0, 1:]
    assert (backlog > env.params.dcs.dynamic_mw[1:]).any()  # deferred queues beyond capacity...
    assert moved_late > 0 and refused_late == 0  # ... and still the moves land


def test_every_policy_is_scored_on_the_same_work_when_jobs_move():
    # Busy DCs (FIFO queues from the warm-up on): the even DCs offer all their queued E2/E3
    # work every step from the first, the odd ones hold theirs (so they have room). Jobs queued
    # in the warm-up move too: their copies land inside the record, but they arrived before it,
    # and the metrics judge a moved job by its arrival at its source. Same seed, same work.
    from gridshift.agents.base import ReleasePolicy
    from gridshift.agents.registry import make_policy
    from gridshift.eval.runner import episode_metrics, run_episode

    class OfferEven(ReleasePolicy):
        name = "offer_even"

        def release(self, obs):
            r = np.ones((obs.shape[0], 3), np.float32)
            r[1::2, 1:] = 0.0
            return r

        def shift(self, obs):
            return (np.arange(obs.shape[0]) % 2 == 0).astype(np.float32)

    kw = dict(horizon_steps=48, warmup_steps=96, target_utilization=0.95)
    fifo = episode_metrics(run_episode(make_policy("fifo"), "default", 0, **kw))
    rec = run_episode(OfferEven(), "default", 0, geo_shift=True, **kw)
    m = episode_metrics(rec)
    led = rec.ledger
    copies = led[led.origin_dc >= 0]
    src = led.set_index(["dc", "job"]).loc[list(zip(copies.origin_dc, copies.origin_job, strict=True))]
    assert (src["status"] == "moved").all() and (src["arrival_step"].to_numpy() < 0).any()  # warm-up jobs moved
    assert (copies["arrival_step"].to_numpy() >= 0).all()
    assert m["jobs_arrived"] == fifo["jobs_arrived"] and m["work_arrived_mwh"] == pytest.approx(fifo["work_arrived_mwh"])
    assert m["work_served_mwh"] + m["work_dropped_mwh"] == pytest.approx(m["work_arrived_mwh"])
    assert m["geo_moved_jobs"] == (src["arrival_step"].to_numpy() >= 0).sum() > 0
