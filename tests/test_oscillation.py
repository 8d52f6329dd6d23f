"""Hand-computed checks of gridshift.eval.oscillation (DESIGN §11's oscillation metrics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gridshift.eval.oscillation import (
    deferral_events,
    deferral_state,
    fast_power_share,
    flex_oscillation,
    lag1_autocorrelation,
    price_volatility,
)


def _rel(*columns):
    """Release fractions [T, K] from per-DC-class columns (1 = run, 0 = defer)."""
    return np.array(columns, float).T


def test_deferral_state_threshold_at_one_half():
    r = np.array([[0.0, 0.49, 0.5, 1.0]])
    np.testing.assert_array_equal(deferral_state(r), [[True, True, False, False]])
    # trailing axes are flattened: [T, N, 3] -> [T, 3N]
    assert deferral_state(np.ones((5, 2, 3))).shape == (5, 6)


def test_redeferrals_cycles_and_period_by_hand():
    # one DC-class: t = 0 1 2 3 4 5 6 7 8 9
    #            release 1 0 0 1 0 1 1 1 0 1
    # deferral starts at 1, 4, 8; resumptions at 3, 5, 9.
    # deferral 4 follows resumption 3 by 1 step; deferral 8 follows resumption 5 by 3 steps.
    col = [1, 0, 0, 1, 0, 1, 1, 1, 0, 1]
    ev = deferral_events(_rel(col), k=1, step_hours=0.25)
    assert ev["deferral_starts"] == 3 and ev["resumptions"] == 3
    assert ev["redeferrals"] == 1  # only 4 (gap 1 <= k)
    assert ev["defer_cycles"] == 2  # 4 and 8 follow a resumption
    # gaps between deferral starts: 3 and 4 steps -> mean 3.5 steps x 0.25 h
    assert ev["defer_cycle_period_h"] == pytest.approx(0.875)
    assert deferral_events(_rel(col), k=3)["redeferrals"] == 2
    assert deferral_events(_rel(col), k=0)["redeferrals"] == 0


def test_events_are_counted_per_dc_class_and_never_across():
    # DC-class a resumes at 2; b defers at 3 (one step later): not a re-deferral of a.
    a = [0, 0, 1, 1, 1, 1]
    b = [1, 1, 1, 0, 0, 0]
    ev = deferral_events(_rel(a, b), k=1)
    assert ev["deferral_starts"] == 2 and ev["resumptions"] == 1
    assert ev["redeferrals"] == 0 and ev["defer_cycles"] == 0
    assert math.isnan(ev["defer_cycle_period_h"])  # no DC-class deferred twice


def test_no_deferral_gives_zeros():
    ev = deferral_events(np.ones((20, 4, 3)))
    assert ev["deferral_starts"] == ev["redeferrals"] == ev["defer_cycles"] == 0
    with pytest.raises(ValueError, match="k=-1 is invalid"):
        deferral_events(np.ones((3, 1)), k=-1)


def test_lag1_autocorrelation_by_hand():
    # a perfect alternation: x[t+1] = -x[t] -> -1
    assert lag1_autocorrelation(np.array([1.0, -1.0] * 10)) == pytest.approx(-1.0)
    # a straight line: +1
    assert lag1_autocorrelation(np.arange(10.0)) == pytest.approx(1.0)
    # [1, 2, 1, 3]: a = [1,2,1], b = [2,1,3]; means 4/3, 2; cov = ((-1/3)(0) + (2/3)(-1) + (-1/3)(1))/3 = -1/3;
    # std a = sqrt(2/9), std b = sqrt(2/3) -> -1/3 / sqrt(4/27) = -sqrt(27)/6
    assert lag1_autocorrelation(np.array([1.0, 2.0, 1.0, 3.0])) == pytest.approx(-math.sqrt(27) / 6)
    assert math.isnan(lag1_autocorrelation(np.ones(10)))
    assert math.isnan(lag1_autocorrelation(np.array([1.0, 2.0])))


def test_fast_power_share():
    t = np.arange(96)
    # a back-and-forth every step sits at the Nyquist frequency 0.5 -> all power is fast
    assert fast_power_share(np.cos(np.pi * t)) == pytest.approx(1.0)
    # a slow cycle (period 48 steps, frequency 1/48) -> none
    assert fast_power_share(np.sin(2 * np.pi * t / 48)) == pytest.approx(0.0, abs=1e-12)
    # a period of exactly 4 steps is fast (frequency 0.25), of 8 steps is not
    assert fast_power_share(np.sin(2 * np.pi * t / 4)) == pytest.approx(1.0)
    assert fast_power_share(np.sin(2 * np.pi * t / 8)) == pytest.approx(0.0, abs=1e-12)
    # shares of the variance: sin (variance 1/2, slow) + cos(pi t) (variance 1, fast) -> 2/3
    assert fast_power_share(np.sin(2 * np.pi * t / 8) + np.cos(np.pi * t)) == pytest.approx(2 / 3)
    assert math.isnan(fast_power_share(np.full(10, 3.0)))
    # white noise: about one half
    x = np.random.default_rng(0).standard_normal(4096)
    assert fast_power_share(x) == pytest.approx(0.5, abs=0.03)


def test_flex_oscillation_on_a_load_that_swings_back():
    # F = 0, 10, 0, 10, ... -> x = diff F alternates +-10: acf1 -1, all power fast, rms 10
    f = np.array([0.0, 10.0] * 12 + [0.0])  # 24 changes, mean 0
    o = flex_oscillation(f)
    assert o["dflex_acf1"] == pytest.approx(-1.0)
    assert o["dflex_fast_power_share"] == pytest.approx(1.0)
    assert o["dflex_rms_mw"] == pytest.approx(10.0)
    # a smooth ramp: x constant -> acf1 undefined, rms the slope
    o = flex_oscillation(np.arange(20.0) * 2)
    assert math.isnan(o["dflex_acf1"]) and o["dflex_rms_mw"] == pytest.approx(2.0)


def test_price_volatility():
    # diff = [10, -10, 10] -> mean 10/3, population std sqrt(((20/3)^2 * 2 + (40/3)^2) / 3)
    p = np.array([50.0, 60.0, 50.0, 60.0])
    d = np.array([10.0, -10.0, 10.0])
    assert price_volatility(p) == pytest.approx(d.std())
    assert price_volatility(np.full(5, 40.0)) == 0.0
    assert math.isnan(price_volatility(np.array([1.0])))
