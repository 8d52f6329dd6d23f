"""The heuristic baselines of DESIGN §7 (``gridshift.agents.heuristics``).

Each rule is checked by hand on crafted observations (fields set by name), then every
heuristic runs a short episode through the vector env, and the randomised ones are checked
for seed determinism.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridshift.agents.base import Policy, PolicyContext
from gridshift.agents.heuristics import (
    HEURISTICS,
    CarbonForecastWindow,
    DayAheadDecoupled,
    FIFOPolicy,
    GASConservativeFallback,
    GASIntent,
    GASIntentStaggered,
    GASLiteral,
    GASLiteralStaggered,
    GASStaggerDelay,
    GASStaggered,
    GASStaggerRamp,
    GASStaggerThresholds,
    GASVariant,
    PriceBand,
    PriceThreshold,
    RandomPolicy,
    RenewableGreedy,
    forecast_horizons,
)
from gridshift.envs import datacenter_grid_v0
from gridshift.envs.dcgrid.observation import build_layout

N = 4
NAMES = (
    "fifo", "gas_literal", "gas_intent", "gas_literal_band", "gas_intent_band", "gas_literal_hetero",
    "gas_intent_hetero", "gas_stagger", "gas_literal_stagger", "gas_intent_stagger", "gas_stagger_thresholds",
    "gas_stagger_delay", "gas_stagger_ramp", "gas_fallback", "renewable_greedy",
    "price_threshold", "price_band", "carbon_forecast", "day_ahead", "random",
)  # fmt: skip
RANDOMISED = ("random", "gas_stagger", "gas_literal_stagger", "gas_intent_stagger", "gas_stagger_thresholds",
              "gas_stagger_delay", "gas_literal_hetero", "gas_intent_hetero")


@pytest.fixture(scope="module")
def env():
    return datacenter_grid_v0.parallel_env(action_mode="box", horizon_steps=8, warmup_steps=4)


def make_context(env, n=N) -> PolicyContext:
    return PolicyContext(
        layout=env.layout,
        scenario=env.scenario,
        n_agents=n,
        action_space=env.action_space("dc_0"),
        step_hours=env.scenario.step_hours,
        max_deferral_steps=env.scenario.max_deferral_steps(),
    )


@pytest.fixture(scope="module")
def ctx(env):
    return make_context(env)


def make_obs(layout, n=N, **fields) -> np.ndarray:
    """Observations ``[n, D]``: zeros, empty queues (min slack 1), and ``fields`` by name
    (a scalar for every agent or one value per agent)."""
    obs = np.zeros((n, layout.size), np.float32)
    for c in (1, 2, 3):
        obs[:, layout[f"min_slack_e{c}"]] = 1.0
    for k, v in fields.items():
        obs[:, layout[k]] = v
    return obs


def grid(layout, rf, pdp, ci, n=N, **more):
    return make_obs(layout, n, renewable_fraction=rf, peak_demand_penalty=pdp, avg_ci=ci, **more)


def started(policy, context, seed=0):
    policy.reset(seed, context)
    return policy


# ------------------------------------------------------------------------ registry, FIFO


def test_registry_names_and_protocol():
    from gridshift.agents.registry import make_policy

    assert set(HEURISTICS) == set(NAMES)
    for name, factory in HEURISTICS.items():
        pol = factory()
        assert pol.name == name and pol.action_mode == "box"
        assert isinstance(pol, Policy)
        assert (factory.__doc__ or "").strip(), f"{name} needs a docstring citing its source"
        assert make_policy(name).name == name


def test_fifo_releases_everything(ctx):
    a = started(FIFOPolicy(), ctx).act(make_obs(ctx.layout), None)
    np.testing.assert_array_equal(a, np.ones((N, 3), np.float32))


# ----------------------------------------------------------------------------- GAS literal


def test_gas_literal_formula_term_by_term(ctx):
    # EM §II: GAS = RF - PeakDemandPenalty - CI/maxCI + LT.
    # RF 0.4, penalty 0.1, CI/max 0.5: grid part 0.4 - 0.1 - 0.5 = -0.2;
    # + LT (0.3, 0.7, 1.0) -> GAS (0.1, 0.5, 0.8).
    pol = started(GASLiteral(defer_threshold=0.3, urgent_threshold=0.6), ctx)
    obs = grid(ctx.layout, 0.4, 0.1, 0.5)
    np.testing.assert_allclose(pol.score(obs), np.tile([0.1, 0.5, 0.8], (N, 1)), atol=1e-6)
    a = pol.act(obs, None)
    # E1: 0.1 < defer 0.3 and LT 0.3 > 0 -> queued (release 0).
    # E2: 0.3 <= 0.5 <= 0.6 -> between the thresholds, not deferring -> runs.
    # E3: 0.8 > urgent 0.6 -> runs immediately.
    np.testing.assert_array_equal(a, np.tile([0.0, 1.0, 1.0], (N, 1)))
    assert pol.deferring[:, 0].all() and not pol.deferring[:, 1:].any()


def test_gas_literal_release_on_recovery(ctx):
    pol = started(GASLiteral(defer_threshold=0.3, urgent_threshold=0.6), ctx)
    pol.act(grid(ctx.layout, 0.4, 0.1, 0.5), None)  # E1 GAS 0.1: deferred
    # RF 0.5 -> E1 GAS 0.2, still below defer: stays queued.
    assert pol.act(grid(ctx.layout, 0.5, 0.1, 0.5), None)[0, 0] == 0.0
    # RF 0.65 -> E1 GAS 0.35: recovers above defer (below urgent 0.6) -> queued work runs.
    a = pol.act(grid(ctx.layout, 0.65, 0.1, 0.5), None)
    np.testing.assert_array_equal(a, np.ones((N, 3), np.float32))
    assert not pol.deferring.any()


def test_gas_literal_is_memoryless_and_hysteresis_is_opt_in(ctx):
    rfs = np.array([0.2, 0.55, 0.65, 0.9])  # E1 GAS -0.1, 0.25, 0.35, 0.6 (penalty 0.1, CI 0.5)
    lit = started(GASLiteral(defer_threshold=0.3, urgent_threshold=0.6), ctx)
    hyst = started(GASLiteral(defer_threshold=0.3, urgent_threshold=0.6, resume_threshold=0.5), ctx)
    low = grid(ctx.layout, 0.2, 0.1, 0.5)
    lit.act(low, None)
    hyst.act(low, None)
    a_lit = lit.act(grid(ctx.layout, rfs, 0.1, 0.5), None)[:, 0]
    a_hyst = hyst.act(grid(ctx.layout, rfs, 0.1, 0.5), None)[:, 0]
    # Literal: release exactly when GAS >= defer_threshold.
    np.testing.assert_array_equal(a_lit, [0, 0, 1, 1])
    # Resume threshold 0.5: GAS 0.35 is not enough to resume; 0.6 (>= 0.5) is.
    np.testing.assert_array_equal(a_hyst, [0, 0, 0, 1])


def test_gas_urgent_clause_overrides_a_higher_resume_threshold(ctx):
    pol = started(GASLiteral(defer_threshold=0.3, urgent_threshold=0.6, resume_threshold=0.9), ctx)
    pol.act(grid(ctx.layout, 0.2, 0.1, 0.5), None)
    # E1 GAS 0.65: below resume 0.9 but above urgent 0.6 -> runs immediately.
    assert pol.act(grid(ctx.layout, 0.95, 0.1, 0.5), None)[0, 0] == 1.0
    # E1 GAS 0.45: not urgent, below resume: a fresh deferral from 0.2 keeps it queued.
    pol.act(grid(ctx.layout, 0.2, 0.1, 0.5), None)
    assert pol.act(grid(ctx.layout, 0.8, 0.1, 0.5), None)[0, 0] == 0.0


def test_gas_zero_tolerance_class_is_never_deferred(ctx):
    pol = started(GASLiteral(latency_tolerance=(0.0, 0.7, 1.0)), ctx)
    a = pol.act(grid(ctx.layout, 0.0, 1.0, 1.0), None)  # GAS far below every threshold
    np.testing.assert_array_equal(a[:, 0], 1.0)
    np.testing.assert_array_equal(a[:, 1:], 0.0)


def _deferral_share(policy, context, n=64):
    """Share of grid states (a sweep over agents) in which each class is deferred."""
    rf = np.linspace(0.0, 0.6, n)  # grid part RF - 0.05 - 0.4: -0.45 .. 0.15
    policy.reset(0, make_context_like(context, n))
    a = policy.act(grid(context.layout, rf, 0.05, 0.4, n=n), None)
    return 1.0 - a.mean(axis=0)


def make_context_like(context, n):
    return PolicyContext(
        layout=context.layout, scenario=context.scenario, n_agents=n,
        action_space=context.action_space, step_hours=context.step_hours,
        max_deferral_steps=context.max_deferral_steps,
    )  # fmt: skip


def test_literal_defers_e1_more_than_e3_and_intent_the_opposite(ctx):
    lit = _deferral_share(GASLiteral(), ctx)
    intent = _deferral_share(GASIntent(), ctx)
    # Literal: + LT makes the most flexible class the least deferred (DESIGN §7).
    assert lit[0] > lit[1] >= lit[2]
    assert lit[0] > 0.5 and lit[2] == 0.0
    # Intent: the more flexible the class, the more it defers.
    assert intent[2] > intent[1] >= intent[0]
    assert intent[2] > 0.5 and intent[0] == 0.0


def test_gas_defaults_defer_on_a_typical_grid(ctx):
    # Median default-scenario state: RF 0.25, CI/max 0.4, no penalty -> grid part -0.15.
    obs = grid(ctx.layout, 0.25, 0.0, 0.4)
    lit = started(GASLiteral(), ctx).act(obs, None)[0]  # GAS (0.15, 0.55, 0.85) vs defer 0.25
    intent = started(GASIntent(), ctx).act(obs, None)[0]  # GAS (0.55, 0.15, -0.15) vs defer 0
    np.testing.assert_array_equal(lit, [0, 1, 1])
    np.testing.assert_array_equal(intent, [1, 1, 0])


def test_gas_intent_formula(ctx):
    # Intent: GAS_c = grid part + (1 - LT_c) = -0.2 + (0.7, 0.3, 0.0) = (0.5, 0.1, -0.2).
    pol = started(GASIntent(), ctx)
    obs = grid(ctx.layout, 0.4, 0.1, 0.5)
    np.testing.assert_allclose(pol.score(obs)[0], [0.5, 0.1, -0.2], atol=1e-6)
    # defer 0.0, urgent 0.2: E1 urgent, E2 between (runs), E3 deferred.
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 1, 0])


# ------------------------------------------------------------------------------- stagger


def test_stagger_random_thresholds_differ_and_are_reproducible(ctx):
    c = make_context_like(ctx, 32)
    pol = started(GASStaggerThresholds(threshold_spread=0.1), c, seed=7)
    off = pol.agent_offsets.copy()
    assert len(np.unique(off)) == 32 and np.all(np.abs(off) <= 0.1)
    pol.reset(7, c)
    np.testing.assert_array_equal(pol.agent_offsets, off)
    pol.reset(8, c)
    assert not np.array_equal(pol.agent_offsets, off)
    # Grid part exactly 0 = E3's intent GAS = the base defer threshold: an agent defers E3
    # iff its own threshold 0 + offset is above 0.
    pol.reset(7, c)
    a = pol.act(grid(ctx.layout, 0.5, 0.0, 0.5, n=32), None)
    np.testing.assert_array_equal(a[:, 2], (off <= 0).astype(np.float32))
    assert 0 < a[:, 2].sum() < 32


def test_stagger_resume_delays_fall_within_the_window(ctx):
    n, w = 64, 5
    c = make_context_like(ctx, n)
    pol = started(GASStaggerDelay(resume_delay_steps=w), c, seed=3)
    bad, good = grid(ctx.layout, 0.0, 0.2, 0.5, n=n), grid(ctx.layout, 0.6, 0.0, 0.3, n=n)
    assert (pol.act(bad, None)[:, 2] == 0).all()  # E3 deferred everywhere
    first = pol.act(good, None)[:, 2]  # recovery: one delay per (agent, class) event
    delays = pol.wait[:, 2] + (first == 0)  # the recovery step counted one waiting step
    d = pol.last_delays
    assert d.size >= n and d.min() >= 0 and d.max() <= w and len(np.unique(d)) > 1
    fracs = [first] + [pol.act(good, None)[:, 2] for _ in range(w + 1)]
    resume_step = np.argmax(np.stack(fracs) == 1.0, axis=0)
    np.testing.assert_array_equal(resume_step, delays)
    assert resume_step.max() <= w
    assert (np.stack(fracs)[-1] == 1.0).all()


def test_stagger_ramp_gives_intermediate_fractions(ctx):
    pol = started(GASStaggerRamp(ramp_steps=4), ctx)
    bad, good = grid(ctx.layout, 0.0, 0.2, 0.5), grid(ctx.layout, 0.6, 0.0, 0.3)
    assert pol.act(bad, None)[0, 2] == 0.0
    ramp = [pol.act(good, None)[0, 2] for _ in range(5)]
    np.testing.assert_allclose(ramp, [0.25, 0.5, 0.75, 1.0, 1.0])
    # A new deferral mid-ramp cancels it.
    pol.act(bad, None)
    assert pol.act(good, None)[0, 2] == 0.25


def test_stagger_defaults_start_released_and_literal_base(ctx):
    pol = started(GASStaggered(), ctx)
    np.testing.assert_array_equal(pol.act(grid(ctx.layout, 0.6, 0.0, 0.3), None), 1.0)
    lit = started(GASStaggered(base="literal", random_thresholds=False), ctx)
    np.testing.assert_allclose(
        lit.score(grid(ctx.layout, 0.4, 0.1, 0.5))[0], [0.1, 0.5, 0.8], atol=1e-6
    )
    with pytest.raises(ValueError, match="base"):
        GASStaggered(base="other")


# ------------------------------------------------------------------------------ fallback


def _normal(layout, i, **kw):
    """A plausible, slowly varying reading (no two identical: not 'stuck')."""
    f = dict(price=0.35 + 0.001 * i, demand_vs_peak=0.7 + 0.001 * i)
    f.update(kw)
    rf = f.pop("rf", 0.2)
    pdp = f.pop("pdp", 0.0)
    ci = f.pop("ci", 0.45 + 0.001 * i)
    return grid(layout, rf, pdp, ci, **f)


def test_fallback_anomalous_renewable_reading_releases_like_fifo(ctx):
    fb = started(GASConservativeFallback(recovery_steps=3), ctx)
    plain = started(GASIntent(), ctx)
    for i in range(5):  # grid part 0.2 - 0.45 = -0.25: E3 deferred by both
        o = _normal(ctx.layout, i)
        np.testing.assert_array_equal(fb.act(o, None), plain.act(o, None))
    assert (fb.act(_normal(ctx.layout, 5), None)[:, 2] == 0).all()
    # "95 % renewables" while CI and demand say fossil peak: GAS part 0.97 - 0.2 - 0.9 < 0.
    odd = _normal(ctx.layout, 6, rf=0.97, pdp=0.2, ci=0.9)
    assert (plain.act(odd, None)[:, 2] == 0).all()  # plain GAS believes it and defers E3
    np.testing.assert_array_equal(fb.act(odd, None), 1.0)  # fallback: FIFO
    assert fb.anomalous.all() and fb.fallback.all()
    # FIFO until recovery_steps (3) clean readings, then GAS again (E3 deferred).
    after = [fb.act(_normal(ctx.layout, 7 + k), None)[0, 2] for k in range(4)]
    assert after == [1.0, 1.0, 0.0, 0.0]


def test_fallback_detects_demand_dropout_price_spike_and_stuck(ctx):
    fb = started(GASConservativeFallback(), ctx)
    for i in range(8):
        fb.act(_normal(ctx.layout, i), None)
    assert not fb.anomalous.any()
    # Demand at 25 % of its typical level (< 30 %): flagged.
    fb.act(_normal(ctx.layout, 8, demand_vs_peak=0.7 * 0.25), None)
    assert fb.anomalous.all()
    # Price x5 of its running median (> 4x): flagged.
    fb.act(_normal(ctx.layout, 9, price=0.355 * 5), None)
    assert fb.anomalous.all()
    # Exactly the previous reading again: stuck telemetry.
    o = _normal(ctx.layout, 10)
    fb.act(o, None)
    assert not fb.anomalous.any()
    fb.act(o.copy(), None)
    assert fb.anomalous.all()
    nostuck = started(GASConservativeFallback(detect_stuck=False), ctx)
    nostuck.act(o, None)
    nostuck.act(o, None)
    assert not nostuck.anomalous.any()


# ------------------------------------------------------------------------- TSCO baselines


def test_forecast_horizons_are_parsed_from_the_layout(ctx):
    h, idx = forecast_horizons(ctx.layout, "renewable_fraction_fc")
    np.testing.assert_array_equal(h, [1, 2, 4, 6])
    assert [ctx.layout.names[i] for i in idx] == [
        f"renewable_fraction_fc_{x}h" for x in (1, 2, 4, 6)
    ]
    lay = build_layout((6.0, 0.5, 3.0), -0.2, 50.0)
    h, _ = forecast_horizons(lay, "price_fc")
    np.testing.assert_array_equal(h, [0.5, 3.0, 6.0])


def _fc(prefix, values):
    return {f"{prefix}_{h}h": v for h, v in zip((1, 2, 4, 6), values, strict=True)}


def test_renewable_greedy(ctx):
    # E1 max deferral 2 h (8 steps x 0.25 h), E2 12 h, E3 48 h; queues empty -> full slack.
    pol = started(RenewableGreedy(threshold=0.3), ctx)
    assert (pol.act(make_obs(ctx.layout, renewable_fraction=0.35), None) == 1).all()
    # RF 0.2 < 0.3. E1 sees the 1 h and 2 h forecasts (0.15, 0.18): now is the greenest -> run.
    # E2, E3 also see 4 h and 6 h (0.25, 0.3): greener later -> hold.
    obs = make_obs(
        ctx.layout, renewable_fraction=0.2, **_fc("renewable_fraction_fc", (0.15, 0.18, 0.25, 0.3))
    )
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 0])
    # E3 slack 0.02 x 48 h = 0.96 h: no forecast within reach -> run.
    obs[:, ctx.layout["min_slack_e3"]] = 0.02
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 1])


def test_price_threshold(ctx):
    pol = started(PriceThreshold(), ctx)  # 45, 35, 30 $/MWh for E1, E2, E3
    # $40: E1 under its 45 -> run; E2, E3 over theirs, and 4 h ahead is cheaper ($38) -> hold.
    obs = make_obs(ctx.layout, price=0.40, **_fc("price_fc", (0.42, 0.45, 0.38, 0.50)))
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 0])
    # E3 with 0.03 x 48 h = 1.44 h of slack sees only the 1 h forecast ($42 > $40) -> run now.
    obs[:, ctx.layout["min_slack_e3"]] = 0.03
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 1])
    # $29: under every threshold.
    np.testing.assert_array_equal(pol.act(make_obs(ctx.layout, price=0.29), None), 1.0)


def test_carbon_forecast_window(ctx):
    pol = started(CarbonForecastWindow(margin=0.05), ctx)
    # Now 0.3. E1 (2 h) sees 0.32, 0.33: not cleaner by > 0.05 -> run. E2, E3 see 0.4 at 4 h
    # (> 0.35) -> wait for it.
    obs = make_obs(
        ctx.layout, renewable_fraction=0.3, **_fc("renewable_fraction_fc", (0.32, 0.33, 0.4, 0.5))
    )
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 0])
    # E3 with 0.05 x 48 h = 2.4 h of slack: the cleaner window is past its deadline -> run.
    obs[:, ctx.layout["min_slack_e3"]] = 0.05
    np.testing.assert_array_equal(pol.act(obs, None)[0], [1, 0, 1])


def test_day_ahead_uses_only_lagged_forecasts(ctx):
    pol = started(DayAheadDecoupled(quantiles=(0.75, 0.5, 0.5)), ctx)
    seq = [0.3, 0.5, 0.2, 0.6, 0.4, 0.1, 0.7, 0.35]
    rng = np.random.default_rng(0)
    out = []
    for v in seq:
        # The observed real-time signals are noise: the policy must ignore them.
        o = make_obs(
            ctx.layout, price_fc_1h=v, price=rng.uniform(-0.2, 5), renewable_fraction=rng.uniform()
        )
        out.append(pol.act(o, None)[0])
    # 1 h = 4 steps: from step 4 on, the day-ahead price of "now" is the 1 h forecast seen 4
    # steps ago. Step 6: now = seq[2] = 0.2, below every quantile of seq[:7] -> run all.
    np.testing.assert_array_equal(out[6], [1, 1, 1])
    # Step 7: now = seq[3] = 0.6; seq sorted 0.1 .. 0.7: median 0.375, q75 0.525 -> hold all.
    np.testing.assert_array_equal(out[7], [0, 0, 0])
    # Step 5: now = seq[1] = 0.5; seq[:6]: median 0.35, q75 = 0.475 -> hold all.
    np.testing.assert_array_equal(out[5], [0, 0, 0])
    # Step 0 (no history): now = the current forecast, which equals the median of itself.
    np.testing.assert_array_equal(out[0], [1, 1, 1])


def test_random_policy_in_unit_box_and_seeded(ctx):
    obs = make_obs(ctx.layout)
    a = started(RandomPolicy(), ctx, seed=5).act(obs, None)
    assert a.shape == (N, 3) and a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(started(RandomPolicy(), ctx, seed=5).act(obs, None), a)
    assert len(np.unique(a)) == a.size


# ----------------------------------------------------------------------------- episodes


def _episode(name, seed=0, steps=16):
    v = datacenter_grid_v0.vector_env(
        num_envs=1, action_mode="box", horizon_steps=steps, warmup_steps=4
    )
    space = v.single_action_space
    pol = HEURISTICS[name]()
    pol.reset(seed, PolicyContext(
        layout=v.layout, scenario=v.scenario, n_agents=v.n_agents, action_space=space,
        step_hours=v.scenario.step_hours, max_deferral_steps=v.scenario.max_deferral_steps(),
    ))  # fmt: skip
    obs = v.reset(seed=0)[0][0]
    actions = []
    for _ in range(steps):
        a = pol.act(obs, None)
        assert a.shape == (v.n_agents, 3) and a.dtype == np.float32
        assert all(space.contains(row) for row in a), f"{name} left the action space"
        actions.append(a)
        obs = v.step(a[None])[0][0]
    return np.stack(actions)


@pytest.mark.parametrize("name", NAMES)
def test_every_heuristic_runs_an_episode(name):
    _episode(name)


@pytest.mark.parametrize("name", RANDOMISED)
def test_randomised_policies_are_deterministic(name):
    a, b = _episode(name, seed=11), _episode(name, seed=11)
    np.testing.assert_array_equal(a, b)
    # and the seed matters: another seed gives other actions (determinism in both directions;
    # resumption delays only show once a deferral has ended, hence the longer episode)
    assert not np.array_equal(_episode(name, seed=11, steps=192), _episode(name, seed=12, steps=192))


def test_battery_scenario_gets_an_idle_setpoint():
    v = datacenter_grid_v0.vector_env(
        num_envs=1, action_mode="box", horizon_steps=4, warmup_steps=4, battery_hours=1.0
    )
    pol = GASIntent()
    pol.reset(0, PolicyContext(
        layout=v.layout, scenario=v.scenario, n_agents=v.n_agents, action_space=v.single_action_space,
        step_hours=v.scenario.step_hours, max_deferral_steps=v.scenario.max_deferral_steps(),
    ))  # fmt: skip
    a = pol.act(v.reset(seed=0)[0][0], None)
    assert a.shape == (v.n_agents, 4) and (a[:, 3] == 0).all()
    v.step(a[None])


# ------------------------------------------------------------- cascade-study variants


def test_gas_resume_band_holds_until_defer_plus_band(ctx):
    # Literal base: defer 0.25, urgent 0.5. Penalty 0.1, CI 0.5 -> E1 GAS = RF - 0.6 + 0.3 = RF - 0.3.
    band = started(GASVariant(base="literal", resume_band=0.1), ctx)
    plain = started(GASLiteral(), ctx)
    assert band.resume_threshold == pytest.approx(0.35)
    for pol in (band, plain):
        pol.act(grid(ctx.layout, 0.4, 0.1, 0.5), None)  # E1 GAS 0.1 < 0.25: deferred
    # RF 0.6 -> E1 GAS 0.3: the plain rule resumes (>= 0.25), the banded one waits for 0.35.
    assert plain.act(grid(ctx.layout, 0.6, 0.1, 0.5), None)[0, 0] == 1.0
    assert band.act(grid(ctx.layout, 0.6, 0.1, 0.5), None)[0, 0] == 0.0
    # RF 0.66 -> E1 GAS 0.36 >= 0.35: resumes.
    assert band.act(grid(ctx.layout, 0.66, 0.1, 0.5), None)[0, 0] == 1.0
    # A signal that falls back by less than the band (0.36 -> 0.27) does not re-defer the banded rule
    # (0.27 >= defer 0.25), and a drop below defer does, for both.
    assert band.act(grid(ctx.layout, 0.57, 0.1, 0.5), None)[0, 0] == 1.0
    assert band.act(grid(ctx.layout, 0.5, 0.1, 0.5), None)[0, 0] == 0.0


def test_gas_band_presets_and_validation():
    from gridshift.agents.registry import make_policy

    lit, intent = make_policy("gas_literal_band"), make_policy("gas_intent_band")
    assert (lit.defer_threshold, lit.resume_threshold) == pytest.approx((0.25, 0.30))
    assert (intent.defer_threshold, intent.resume_threshold) == pytest.approx((0.0, 0.05))
    assert make_policy("gas_literal_band", resume_band=0.0).resume_threshold == pytest.approx(0.25)
    with pytest.raises(ValueError, match=r"resume_band=-0\.1 is invalid: allowed a finite number >= 0"):
        GASVariant(resume_band=-0.1)
    with pytest.raises(ValueError, match="base='x' is invalid"):
        GASVariant(base="x")


def test_gas_hetero_draws_per_dc_thresholds_from_the_seed(ctx):
    a = started(GASVariant(base="literal", threshold_sd=0.05), ctx, seed=3)
    b = started(GASVariant(base="literal", threshold_sd=0.05), ctx, seed=3)
    c = started(GASVariant(base="literal", threshold_sd=0.05), ctx, seed=4)
    np.testing.assert_array_equal(a.agent_offsets, b.agent_offsets)
    assert not np.array_equal(a.agent_offsets, c.agent_offsets)
    assert len(set(a.agent_offsets.tolist())) == N  # every DC its own thresholds
    # The offsets are those of default_rng(seed).normal(0, sd, N), added to defer, resume and urgent.
    np.testing.assert_allclose(a.agent_offsets, np.random.default_rng(3).normal(0.0, 0.05, N))
    d, r, u = a._thresholds()
    np.testing.assert_allclose(d[:, 0], 0.25 + a.agent_offsets)
    np.testing.assert_allclose(u[:, 0], 0.5 + a.agent_offsets)
    # E1 GAS exactly at the nominal defer threshold 0.25 (RF 0.55): DCs with a positive offset defer, the others run.
    act = a.act(grid(ctx.layout, 0.55, 0.1, 0.5), None)[:, 0]
    np.testing.assert_array_equal(act, (a.agent_offsets <= 0).astype(np.float32))
    # sd 0 is exactly the plain rule.
    z = started(GASVariant(base="intent", threshold_sd=0.0), ctx)
    ref = started(GASIntent(), ctx)
    obs = grid(ctx.layout, np.linspace(0.0, 0.9, N), 0.05, 0.4)
    np.testing.assert_array_equal(z.act(obs, None), ref.act(obs, None))


def test_stagger_on_the_same_base_rule(ctx):
    obs = grid(ctx.layout, 0.4, 0.1, 0.5)
    lit = started(GASLiteralStaggered(), ctx)
    intent = started(GASIntentStaggered(), ctx)
    np.testing.assert_allclose(lit.score(obs), started(GASLiteral(), ctx).score(obs))
    np.testing.assert_allclose(intent.score(obs), started(GASIntent(), ctx).score(obs))
    assert (lit.variant, lit.defer_threshold) == ("literal", 0.25)
    assert (intent.variant, intent.defer_threshold) == ("intent", 0.0)
    # the resumption mechanisms on the same heterogeneous DCs as gas_literal_hetero (same draws)
    het = started(GASVariant(base="literal", threshold_sd=0.05), ctx, seed=5)
    st = started(GASStaggered(base="literal", random_thresholds=False, threshold_sd=0.05), ctx, seed=5)
    np.testing.assert_array_equal(het.agent_offsets, st.agent_offsets)
    # one mechanism alone on the literal base
    only = started(GASStaggerDelay(base="literal"), ctx)
    assert only.variant == "literal" and only.resume_delay_steps == 4 and only.ramp_steps == 0
    assert not only.agent_offsets.any()


def test_price_band_is_linear_over_its_width(ctx):
    pol = started(PriceBand(width_usd_per_mwh=20.0, reference_usd_per_mwh=55.0), ctx)
    # band 45..65 $/MWh: release (65 - p) / 20
    prices = np.array([40.0, 50.0, 55.0, 70.0])
    a = pol.act(make_obs(ctx.layout, price=prices / 100.0), None)
    np.testing.assert_allclose(a, np.repeat([[1.0], [0.75], [0.5], [0.0]], 3, axis=1), atol=1e-6)
    assert pol.response_mw_per_usd(1000.0) == pytest.approx(50.0)  # 1000 MW over 20 $/MWh
    step = started(PriceBand(width_usd_per_mwh=0.0, reference_usd_per_mwh=55.0), ctx)
    np.testing.assert_array_equal(step.release_share(np.array([54.9, 55.0, 55.1])), [1.0, 1.0, 0.0])
    assert step.response_mw_per_usd(1000.0) == float("inf")
    with pytest.raises(ValueError, match=r"width_usd_per_mwh=-1\.0 is invalid"):
        PriceBand(width_usd_per_mwh=-1.0)


def test_hold_all_waits_for_the_sla_guard_in_every_class():
    # Within the horizon every E1 and E2 job starts exactly at zero slack (the SLA guard starts
    # it; hold_all never releases), E1 waits where FIFO's starts at once, and nothing is dropped.
    from gridshift.agents.registry import make_policy
    from gridshift.eval.runner import episode_metrics, run_episode

    rec = run_episode(make_policy("hold_all"), "default", 1000, horizon_steps=48)
    led, m = rec.ledger, episode_metrics(rec)
    for c, at_least in ((1, 100), (2, 0)):  # E2's slack outlasts this 12-hour horizon
        k = led[(led.job_class == c) & (led.arrival_step >= 0) & led.start_step.notna()]
        k = k[k.start_step.astype(float) < 48]
        assert len(k) >= at_least
        np.testing.assert_array_equal((k.deadline_step - k.duration_steps - k.start_step).astype(int), 0)
    fifo = episode_metrics(run_episode(make_policy("fifo"), "default", 1000, horizon_steps=48))
    assert m["delay_mean_h_e1"] > 1.0 > fifo["delay_mean_h_e1"]
    assert m["work_dropped_mwh"] == 0.0 and m["jobs_open"] == 0
