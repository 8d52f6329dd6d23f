"""Heuristic baselines of DESIGN §7, all through the one :class:`~gridshift.agents.base.Policy`
protocol (``box`` mode: release fractions ``[N, 3]`` for E1, E2, E3 of every DC).

Every policy reads the observation by field name (``layout["field"]``, resolved once per
episode in ``reset``), acts for all ``N`` agents at once with array operations, and keeps its
per-agent state in arrays that ``reset`` rebuilds. Randomised policies draw only from
``self.rng`` (``numpy.random.default_rng(seed)``, seeded by ``reset``).

Sources: EM is the grid-aware scheduling seed (``shared/seeds/001``: §II Grid-Aware
Scheduling Score, §IV.6 grid-instability edge cases); TSCO is the two-stage co-optimisation
seed (``shared/seeds/002``: baselines RG-Sched, CO-Opt, DC-Frame).

========================  =====================================================================
name                      rule
========================  =====================================================================
``fifo``                  release everything (EM's baseline)
``gas_literal``           EM §II GAS exactly as written (``+ LatencyTolerance``)
``gas_intent``            GAS with the tolerance term flipped: more flexible classes defer more
``gas_stagger``           GAS + EM §IV.6 diversity: random thresholds, resume delays, ramps
``gas_stagger_*``         one diversity mechanism alone (``thresholds``, ``delay``, ``ramp``)
``gas_fallback``          GAS (intent) that falls back to FIFO on anomalous telemetry (EM §IV.6)
``renewable_greedy``      TSCO RG-Sched: run when the renewable share is high
``price_threshold``       TSCO CO-Opt idea (cost only): run when the price is low
``carbon_forecast``       run in the cleanest forecast window before the deadline
``day_ahead``             TSCO DC-Frame: decide on day-ahead signals the DCs' load cannot move
``random``                uniform random release fractions
========================  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from gridshift.agents.base import PolicyContext, ReleasePolicy

#: The observation stores prices in $/MWh / 100 (``observation.build_layout``).
PRICE_SCALE_USD_PER_MWH = 100.0

__all__ = [
    "HEURISTICS",
    "CarbonForecastWindow",
    "DayAheadDecoupled",
    "FIFOPolicy",
    "GASConservativeFallback",
    "GASIntent",
    "GASLiteral",
    "GASStaggered",
    "PriceThreshold",
    "RandomPolicy",
    "RenewableGreedy",
    "forecast_horizons",
]


def forecast_horizons(layout, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Horizons (hours, ascending) and field indices of the forecast fields ``{prefix}_{h}h``.

    Parsed from the layout's field names so the policies follow a scenario's
    ``forecast_horizons_h`` without being told.
    """
    pat = re.compile(rf"^{re.escape(prefix)}_([0-9.eE+-]+)h$")
    found = sorted((float(m.group(1)), layout[n]) for n in layout.names if (m := pat.match(n)))
    if not found:
        raise ValueError(f"observation has no {prefix}_{{h}}h forecast fields: {layout.names}")
    hours, idx = zip(*found, strict=True)
    return np.array(hours, np.float64), np.array(idx, np.intp)


class _SlackMixin:
    """Shared helper: each class's remaining slack in hours, from ``min_slack_e{c}``."""

    def _init_slack(self, context: PolicyContext) -> None:
        lay = context.layout
        self._i_slack = np.array([lay[f"min_slack_e{c}"] for c in (1, 2, 3)], np.intp)
        # min_slack_e{c} is slack / class max deferral (clipped to 1; 1 when the queue is empty),
        # so the hours a class can still wait are that share of its max deferral.
        self._max_def_h = np.array(context.max_deferral_steps[1:4], np.float64) * context.step_hours

    def _slack_hours(self, obs: np.ndarray) -> np.ndarray:
        return obs[:, self._i_slack] * self._max_def_h  # [N, 3]


# ---------------------------------------------------------------------------------- FIFO


class FIFOPolicy(ReleasePolicy):
    """Release all queued work every step: EM's grid-unaware baseline (EM §III)."""

    name = "fifo"

    def release(self, obs: np.ndarray) -> np.ndarray:
        return np.ones((obs.shape[0], 3), np.float32)


# ----------------------------------------------------------------------------------- GAS


class _GASBase(ReleasePolicy):
    """Shared state machine of the GAS policies (EM §II); see :class:`GASLiteral`.

    ``variant`` chooses the tolerance term: ``literal`` adds ``LT_c`` as EM writes it,
    ``intent`` adds ``1 - LT_c`` (see :class:`GASIntent`).
    """

    name = "gas"
    variant = "literal"

    def __init__(
        self,
        defer_threshold: float,
        urgent_threshold: float,
        resume_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
    ):
        if len(latency_tolerance) != 3:
            raise ValueError(
                f"latency_tolerance={latency_tolerance!r} is invalid: allowed 3 values (E1, E2, E3)"
            )
        self.defer_threshold = float(defer_threshold)
        self.urgent_threshold = float(urgent_threshold)
        self.resume_threshold = None if resume_threshold is None else float(resume_threshold)
        self.latency_tolerance = np.asarray(latency_tolerance, np.float64)

    # ------------------------------------------------------------------ setup and score
    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        lay = self.layout
        self._i_rf = lay["renewable_fraction"]
        self._i_pdp = lay["peak_demand_penalty"]
        self._i_ci = lay["avg_ci"]
        n = context.n_agents
        self.deferring = np.zeros((n, 3), bool)
        # E0 is never in the action (the env always starts it); a class with LT = 0 is never
        # deferred either (EM: "queue job if ... latency_tolerance > 0").
        self._can_defer = self.latency_tolerance > 0.0
        term = self.latency_tolerance if self.variant == "literal" else 1.0 - self.latency_tolerance
        self._class_term = term[None, :]

    def grid_score(self, obs: np.ndarray) -> np.ndarray:
        """``RenewableFraction - PeakDemandPenalty - CarbonIntensityPenalty`` per agent ``[N]``."""
        return obs[:, self._i_rf].astype(np.float64) - obs[:, self._i_pdp] - obs[:, self._i_ci]

    def score(self, obs: np.ndarray) -> np.ndarray:
        """GAS per agent and class ``[N, 3]``."""
        return self.grid_score(obs)[:, None] + self._class_term

    def _thresholds(self):
        """``(defer, resume, urgent)``: scalars, or ``[N, 1]`` arrays for per-agent thresholds."""
        resume = self.defer_threshold if self.resume_threshold is None else self.resume_threshold
        return self.defer_threshold, resume, self.urgent_threshold

    # ------------------------------------------------------------------ the rule
    def _update(
        self, gas: np.ndarray, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance ``deferring`` (rows where ``mask``) and return ``(start, end)`` event masks."""
        defer, resume, urgent = self._thresholds()
        start = (gas < defer) & self._can_defer
        end = self.deferring & ~start & ((gas >= resume) | (gas > urgent))
        if mask is not None:
            start &= mask[:, None]
            end &= mask[:, None]
        self.deferring = (self.deferring | start) & ~end
        return start, end

    def release(self, obs: np.ndarray) -> np.ndarray:
        self._update(self.score(obs))
        return (~self.deferring).astype(np.float32)


class GASLiteral(_GASBase):
    """EM §II Grid-Aware Scheduling Score, exactly as written.

    ``GAS_c = RenewableFraction - PeakDemandPenalty - CarbonIntensityPenalty + LatencyTolerance_c``

    read from the observation fields ``renewable_fraction``, ``peak_demand_penalty`` (the env
    already computes EM's ``max(0, (demand - baseline) / peak)``) and ``avg_ci`` (EM's
    ``CI / max CI``), with ``LatencyTolerance`` = ``latency_tolerance`` per class E1, E2, E3
    (default 0.3, 0.7, 1.0: EM's "intermediate 0.3-0.7" and "training 1.0"; E0 has 0 and is
    never deferred, the env always starts it).

    EM's rule has three clauses: (1) run a job immediately if ``GAS > urgent_threshold``;
    (2) queue it if ``GAS < defer_threshold`` and its tolerance is above 0; (3) run queued
    jobs when GAS recovers above ``defer_threshold``. In this env every arrival enters the
    queue and the release fraction decides what starts, so per (DC, class) the policy keeps
    ``deferring[N, 3]`` and outputs ``release = 0 if deferring else 1``:

    * clause (2): ``GAS_c < defer_threshold`` and ``LT_c > 0`` sets ``deferring`` (release 0);
    * clause (3): a deferring class whose ``GAS_c >= resume_threshold`` clears it (release 1:
      the whole queue may start). ``resume_threshold=None`` (default) means
      ``defer_threshold``, the literal rule;
    * clause (1): ``GAS_c > urgent_threshold`` clears it too (release 1), whatever the
      resume threshold;
    * between the thresholds nothing changes: a class that is not deferring keeps running its
      jobs (EM says to queue only below ``defer_threshold``).

    With the literal rule the state is therefore memoryless, ``release = 1{GAS_c >=
    defer_threshold}``, and ``urgent_threshold`` never changes a decision: EM's rule has no
    hysteresis band of its own (``urgent_threshold`` adds none because in EM work between the
    thresholds is not held back). ``resume_threshold > defer_threshold`` adds one; set it to
    ``urgent_threshold`` to get the band ``urgent - defer`` that DESIGN §11's oscillation
    predictor uses, and clause (1) then caps the resume threshold at ``urgent_threshold``.

    **Adding LatencyTolerance makes the more flexible jobs less likely to be deferred**: E3
    (LT 1.0) gets a score 0.7 higher than E1 (LT 0.3) in the same grid state, so E1 is the
    class that waits, the opposite of EM's stated intent (DESIGN §7). :class:`GASIntent` is
    the documented-intent variant.

    Default thresholds: on the default scenario the grid part ``RF - PDP - CI`` ranges about
    -0.5..0.35 (5th-95th percentile -0.4..0.23, median -0.15: renewable share 0.1-0.5, CI/max
    0.3-0.45, demand penalty 0-0.2). ``defer_threshold = 0.25`` makes E1 (LT 0.3) defer
    whenever that grid part is below -0.05 (most of the time), E2 (LT 0.7) only in the worst
    few per cent of steps (below -0.45) and E3 (LT 1.0) essentially never (below -0.75).
    ``urgent_threshold = 0.5`` sits above it; it does not change the literal decision (above).
    """

    name = "gas_literal"
    variant = "literal"

    def __init__(
        self,
        defer_threshold: float = 0.25,
        urgent_threshold: float = 0.5,
        resume_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
    ):
        super().__init__(defer_threshold, urgent_threshold, resume_threshold, latency_tolerance)


class GASIntent(_GASBase):
    """EM §II GAS as EM intends it: **more flexible classes defer more** (DESIGN §7).

    ``GAS_c = RenewableFraction - PeakDemandPenalty - CarbonIntensityPenalty + (1 - LT_c)``

    EM says training (LT 1.0) is "fully GAS-optimized; scheduled at peak renewable" and
    real-time work is never deferred, but the literal ``+ LT_c`` does the reverse
    (:class:`GASLiteral`). Here the tolerance enters as its complement, the class's
    *urgency* ``1 - LT_c``, so the same grid state gives E1 (LT 0.3) a score 0.7 higher than E3
    (LT 1.0): E3 waits for the cleanest windows, E2 for the worse ones only, E1 hardly ever.
    Equivalently ``GAS_literal - 2 LT_c + 1``: the tolerance is subtracted, and the constant 1
    keeps the scores on the literal rule's scale. Everything else (the three clauses, the
    ``deferring`` state, ``resume_threshold`` hysteresis) is as in :class:`GASLiteral`.

    Defaults: with ``defer_threshold = 0.0`` E3 defers while the grid part ``RF - PDP - CI``
    is below 0 (about three quarters of the steps on the default scenario, i.e. it runs in the
    cleanest quarter within its 48 h slack), E2 below -0.3 (the worst ~15 %), E1 below -0.7
    (never in practice). ``urgent_threshold = 0.2``.
    """

    name = "gas_intent"
    variant = "intent"

    def __init__(
        self,
        defer_threshold: float = 0.0,
        urgent_threshold: float = 0.2,
        resume_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
    ):
        super().__init__(defer_threshold, urgent_threshold, resume_threshold, latency_tolerance)


_GAS_DEFAULTS = {"intent": (0.0, 0.2), "literal": (0.25, 0.5)}


class GASStaggered(_GASBase):
    """GAS with EM §IV.6's diversity mechanisms against correlated deferral cascades.

    EM §IV.6 ("Correlated failure cascades") warns that DCs deferring together under stress
    and resuming together on recovery create a new spike, and proposes "randomized start times,
    staggered resumption windows". Three mechanisms, each switchable alone, on top of the GAS
    rule of ``base`` (``"intent"``, default, or ``"literal"``; thresholds default to that
    variant's):

    * ``random_thresholds``: at ``reset`` each agent draws one offset ``U(-threshold_spread,
      +threshold_spread)`` that shifts its defer, resume and urgent thresholds together, so
      agents cross them at different grid states (``agent_offsets [N]``).
    * ``resume_delay_steps = W > 0``: when a deferring class's GAS recovers (clause 3 or 1),
      the agent waits a delay drawn uniformly from ``{0, ..., W}`` steps, per event, before
      releasing (release 0 meanwhile; ``wait [N, 3]``).
    * ``ramp_steps = R > 1``: after resuming, the release fraction rises linearly,
      ``k / R`` on the k-th step, reaching 1 after ``R`` steps (``ramp [N, 3]``), which
      rate-limits how fast the backlog restarts.

    A new deferral (``GAS < defer``) during a delay or ramp cancels it. The urgent clause ends
    deferral like a recovery but does **not** skip the delay and ramp: a sharp recovery past
    ``urgent_threshold`` would otherwise re-synchronise every agent. The SLA guard of the env
    still starts jobs whose slack runs out.
    """

    name = "gas_stagger"

    def __init__(
        self,
        base: str = "intent",
        random_thresholds: bool = True,
        threshold_spread: float = 0.1,
        resume_delay_steps: int = 4,
        ramp_steps: int = 4,
        defer_threshold: float | None = None,
        urgent_threshold: float | None = None,
        resume_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
    ):
        if base not in _GAS_DEFAULTS:
            raise ValueError(f"base={base!r} is invalid: allowed one of {tuple(_GAS_DEFAULTS)}")
        if int(resume_delay_steps) < 0 or int(ramp_steps) < 0 or threshold_spread < 0:
            raise ValueError("resume_delay_steps, ramp_steps and threshold_spread must be >= 0")
        d, u = _GAS_DEFAULTS[base]
        super().__init__(
            d if defer_threshold is None else defer_threshold,
            u if urgent_threshold is None else urgent_threshold,
            resume_threshold,
            latency_tolerance,
        )
        self.variant = base
        self.random_thresholds = bool(random_thresholds)
        self.threshold_spread = float(threshold_spread)
        self.resume_delay_steps = int(resume_delay_steps)
        self.ramp_steps = int(ramp_steps)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        n = context.n_agents
        if self.random_thresholds and self.threshold_spread > 0:
            self.agent_offsets = self.rng.uniform(-self.threshold_spread, self.threshold_spread, n)
        else:
            self.agent_offsets = np.zeros(n)
        off = self.agent_offsets[:, None]
        d, r, u = super()._thresholds()
        self._th = (d + off, r + off, u + off)
        self.wait = np.zeros((n, 3), np.int64)  # steps left before a resumption starts
        # Steps since the resumption started; an agent starts the episode fully resumed.
        self.ramp = np.full((n, 3), self.ramp_steps, np.int64)
        self.last_delays = np.zeros(0, np.int64)  # delays drawn at the last step (for inspection)

    def _thresholds(self):
        return self._th

    def release(self, obs: np.ndarray) -> np.ndarray:
        start, end = self._update(self.score(obs))
        # A new deferral cancels a pending delay or ramp.
        self.wait[start] = 0
        self.ramp[start] = 0
        if end.any():
            k = int(end.sum())
            if self.resume_delay_steps > 0:
                self.last_delays = self.rng.integers(0, self.resume_delay_steps + 1, k)
            else:
                self.last_delays = np.zeros(k, np.int64)
            self.wait[end] = self.last_delays
            self.ramp[end] = 0
        else:
            self.last_delays = np.zeros(0, np.int64)
        # Not deferring: first the drawn delay (release 0, counting this step), then the ramp
        # (k / R on the k-th resumed step), then 1.
        waiting = ~self.deferring & (self.wait > 0)
        frac = np.ones(self.deferring.shape, np.float32)
        frac[self.deferring | waiting] = 0.0
        self.wait[waiting] -= 1
        if self.ramp_steps > 1:
            ramping = ~self.deferring & ~waiting & (self.ramp < self.ramp_steps)
            self.ramp[ramping] += 1
            frac[ramping] = self.ramp[ramping] / self.ramp_steps
        return frac


def _gas_stagger_only(mechanism: str) -> type[GASStaggered]:
    flags = {
        "thresholds": {"random_thresholds": True, "resume_delay_steps": 0, "ramp_steps": 0},
        "delay": {"random_thresholds": False, "resume_delay_steps": 4, "ramp_steps": 0},
        "ramp": {"random_thresholds": False, "resume_delay_steps": 0, "ramp_steps": 4},
    }[mechanism]

    class _Only(GASStaggered):
        __doc__ = f"GASStaggered (EM §IV.6) with only the {mechanism!r} diversity mechanism on."
        name = f"gas_stagger_{mechanism}"

        def __init__(self, **kwargs):
            super().__init__(**{**flags, **kwargs})

    _Only.__name__ = _Only.__qualname__ = f"GASStagger{mechanism.capitalize()}"
    return _Only


GASStaggerThresholds = _gas_stagger_only("thresholds")
GASStaggerDelay = _gas_stagger_only("delay")
GASStaggerRamp = _gas_stagger_only("ramp")


class GASConservativeFallback(GASIntent):
    """GAS (intent) with EM §IV.6's conservative fallback on inconsistent telemetry.

    EM §IV.6: "treat anomalous readings (renewable fraction > 95 %, demand < 30 % of typical
    baseline) as potentially erroneous and fall back to conservative scheduling until the
    signal normalizes". A reading of agent ``i`` is anomalous when any of:

    * ``renewable_fraction > max_renewable_fraction`` (0.95);
    * ``demand_vs_peak < min_demand_ratio`` (0.3) x the agent's *typical* demand, the running
      median of its trusted readings over the last ``typical_window_steps`` (default one day);
    * a spike: ``price > spike_factor`` (4) x the running median of its trusted prices over the
      same window (with a floor of ``spike_floor_usd_per_mwh`` on the median
      so that near-zero prices do not flag every normal one), or ``avg_ci > 1`` (an average
      cannot exceed the fleet's maximum emission factor);
    * stuck telemetry (``detect_stuck``): price, renewable share, CI and demand all exactly
      equal to the previous reading, which continuous market signals never are.

    While anomalous, and until ``recovery_steps`` consecutive clean readings have followed, the
    agent releases everything (FIFO). **Conservative here means grid-unaware**: FIFO is the
    load the grid operator expects (the customer baseline), it never risks an SLA, and it is
    the one action that cannot amplify a false signal; acting on a faulty "spike" would defer
    work and later resume it in a burst, and acting on a faulty "95 % renewables" would release
    a backlog into what may be a fossil-heavy hour. Anomalous readings also neither move the
    GAS ``deferring`` state nor the typical-level trackers; clean readings during the recovery
    window do. Limits: a real scarcity price above 4x the median looks like a spike, and a
    spike on a cheap hour (price x5 still under 4x the median) is missed.
    """

    name = "gas_fallback"

    def __init__(
        self,
        defer_threshold: float = 0.0,
        urgent_threshold: float = 0.2,
        resume_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
        max_renewable_fraction: float = 0.95,
        min_demand_ratio: float = 0.3,
        spike_factor: float = 4.0,
        spike_floor_usd_per_mwh: float = 25.0,
        detect_stuck: bool = True,
        typical_window_steps: int | None = None,
        recovery_steps: int = 4,
    ):
        super().__init__(defer_threshold, urgent_threshold, resume_threshold, latency_tolerance)
        self.max_renewable_fraction = float(max_renewable_fraction)
        self.min_demand_ratio = float(min_demand_ratio)
        self.spike_factor = float(spike_factor)
        self.spike_floor = float(spike_floor_usd_per_mwh) / PRICE_SCALE_USD_PER_MWH
        self.detect_stuck = bool(detect_stuck)
        self.typical_window_steps = typical_window_steps
        self.recovery_steps = int(recovery_steps)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        lay = self.layout
        # Tracked signals (price, demand) and the ones compared for stuck telemetry.
        self._i_track = np.array([lay["price"], lay["demand_vs_peak"]], np.intp)
        self._i_sig = np.array(
            [lay[k] for k in ("price", "renewable_fraction", "avg_ci", "demand_vs_peak")], np.intp
        )
        n = context.n_agents
        w = self.typical_window_steps or context.scenario.steps_per_day
        self._w = max(int(w), 1)
        self.hist = np.zeros((n, self._w, 2))  # trusted (price, demand) readings, a ring
        self._pos = 0
        self._prev_sig = None
        self.clean_steps = np.full(n, self.recovery_steps, np.int64)  # trusted at the start
        self.anomalous = np.zeros(n, bool)
        self.fallback = np.zeros(n, bool)

    def typical(self) -> np.ndarray:
        """Running median ``[N, 2]`` of the trusted (price, demand) readings, NaN before any.

        A median, not a mean, so that one anomaly that got through (the first reading is never
        flagged) does not skew the reference.
        """
        if self._pos == 0:
            return np.full((self.hist.shape[0], 2), np.nan)
        return np.median(self.hist[:, : min(self._pos, self._w)], axis=1)

    def detect(self, obs: np.ndarray) -> np.ndarray:
        """Which agents' readings look anomalous ``[N]`` (does not change the trackers)."""
        typ = self.typical()
        med_price = np.nan_to_num(typ[:, 0], nan=np.inf)
        typ_demand = np.nan_to_num(typ[:, 1], nan=0.0)
        bad = obs[:, self._i_rf] > self.max_renewable_fraction
        bad |= obs[:, self._i_track[1]] < self.min_demand_ratio * typ_demand
        bad |= obs[:, self._i_track[0]] > self.spike_factor * np.maximum(
            med_price, self.spike_floor
        )
        bad |= obs[:, self._i_ci] > 1.0
        if self.detect_stuck and self._prev_sig is not None:
            bad |= np.all(obs[:, self._i_sig] == self._prev_sig, axis=1)
        return bad

    def release(self, obs: np.ndarray) -> np.ndarray:
        bad = self.detect(obs)
        ok = ~bad
        self.anomalous = bad
        # The trackers learn only from trusted readings: an anomalous agent's slot repeats its
        # latest trusted reading (or takes this one when it has none yet).
        slot = self._pos % self._w
        cur = obs[:, self._i_track].astype(np.float64)
        if self._pos > 0:
            cur = np.where(ok[:, None], cur, self.hist[:, (self._pos - 1) % self._w])
        self.hist[:, slot] = cur
        self._pos += 1
        self._prev_sig = obs[:, self._i_sig].copy()

        self._update(self.score(obs), mask=ok)
        self.clean_steps = np.where(bad, 0, self.clean_steps + 1)
        self.fallback = bad | (self.clean_steps < self.recovery_steps)
        rel = (~self.deferring).astype(np.float32)
        rel[self.fallback] = 1.0
        return rel


# ------------------------------------------------------------------------ TSCO baselines


class RenewableGreedy(_SlackMixin, ReleasePolicy):
    """TSCO's RG-Sched ("follow the renewables"), for one DC's queue.

    TSCO's RG-Sched always dispatches to the node with the highest instantaneous renewable
    availability, ignoring grid constraints and prices. A single DC cannot move work to another
    node, so "follow the renewables" becomes: release class c's queued work when the observed
    ``renewable_fraction`` is at or above ``threshold`` (default 0.3, about the top 40 % of
    steps on the default scenario), **or** when it is at or above every renewable-fraction
    forecast ``renewable_fraction_fc_{h}h`` whose horizon ``h`` fits in the class's remaining
    slack (``min_slack_e{c}`` x max deferral): now is the greenest moment the class can still
    wait for. A class whose slack admits no forecast horizon is released. Otherwise hold.
    """

    name = "renewable_greedy"

    def __init__(self, threshold: float = 0.3):
        self.threshold = float(threshold)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        self._init_slack(context)
        self._i_rf = self.layout["renewable_fraction"]
        self._fc_h, self._i_fc = forecast_horizons(self.layout, "renewable_fraction_fc")

    def release(self, obs: np.ndarray) -> np.ndarray:
        rf = obs[:, self._i_rf]
        fc = obs[:, self._i_fc]  # [N, H]
        within = self._fc_h[None, None, :] <= self._slack_hours(obs)[:, :, None]  # [N, 3, H]
        best_ahead = np.where(within, fc[:, None, :], -np.inf).max(axis=2)  # [N, 3]
        go = (rf[:, None] >= self.threshold) | (rf[:, None] >= best_ahead)
        return go.astype(np.float32)


class PriceThreshold(_SlackMixin, ReleasePolicy):
    """Price threshold, cost only: the idea of TSCO's CO-Opt baseline (carbon price zero).

    TSCO's CO-Opt minimises direct economic cost only. As a heuristic for one DC: release class
    c when the observed ``price`` is at or below ``thresholds_usd_per_mwh[c]`` (E1, E2, E3;
    default 45, 35, 30 $/MWh: thresholds rise with urgency, so inference runs at almost any
    normal price and training waits for cheap hours; the default scenario's median price is
    about 35 $/MWh), **or** when it is at or below every price forecast ``price_fc_{h}h`` whose
    horizon fits in the class's remaining slack (now is the cheapest foreseeable moment). A
    class whose slack admits no forecast horizon is released.
    """

    name = "price_threshold"

    def __init__(self, thresholds_usd_per_mwh: tuple[float, float, float] = (45.0, 35.0, 30.0)):
        if len(thresholds_usd_per_mwh) != 3:
            raise ValueError(
                f"thresholds_usd_per_mwh={thresholds_usd_per_mwh!r} is invalid: allowed 3 values (E1, E2, E3)"
            )
        self.thresholds_usd_per_mwh = tuple(float(x) for x in thresholds_usd_per_mwh)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        self._init_slack(context)
        self._i_price = self.layout["price"]
        self._fc_h, self._i_fc = forecast_horizons(self.layout, "price_fc")
        self._th = np.array(self.thresholds_usd_per_mwh) / PRICE_SCALE_USD_PER_MWH

    def release(self, obs: np.ndarray) -> np.ndarray:
        p = obs[:, self._i_price][:, None]
        fc = obs[:, self._i_fc]
        within = self._fc_h[None, None, :] <= self._slack_hours(obs)[:, :, None]
        cheapest_ahead = np.where(within, fc[:, None, :], np.inf).min(axis=2)
        go = (p <= self._th[None, :]) | (p <= cheapest_ahead)
        return go.astype(np.float32)


class CarbonForecastWindow(_SlackMixin, ReleasePolicy):
    """Run in the lowest-carbon forecast window before the deadline (DESIGN §7).

    The observation forecasts the renewable share, not carbon intensity, so the renewable
    fraction is the carbon proxy (higher = cleaner): the average intensity falls as the
    renewable share of generation rises. The proxy misses the thermal mix (coal vs gas) and
    the marginal intensity, which renewables do not set unless they are curtailed.

    Class c is released unless some forecast horizon ``h`` (parsed from the fields
    ``renewable_fraction_fc_{h}h``) that fits in the class's remaining slack ``min_slack_e{c}
    x max_deferral_steps[c] x step_hours`` is forecast cleaner than now by more than
    ``margin`` (default 0.05 in renewable share; forecast noise grows about 4 % per hour of
    horizon, so a smaller margin chases noise). When the cleaner window comes, now is the best
    and the class runs; a job whose slack runs out is started by the env's SLA guard.
    """

    name = "carbon_forecast"

    def __init__(self, margin: float = 0.05):
        self.margin = float(margin)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        self._init_slack(context)
        self._i_rf = self.layout["renewable_fraction"]
        self._fc_h, self._i_fc = forecast_horizons(self.layout, "renewable_fraction_fc")

    def release(self, obs: np.ndarray) -> np.ndarray:
        rf = obs[:, self._i_rf][:, None, None]
        fc = obs[:, self._i_fc][:, None, :]
        within = self._fc_h[None, None, :] <= self._slack_hours(obs)[:, :, None]
        cleaner_later = (within & (fc > rf + self.margin)).any(axis=2)
        return (~cleaner_later).astype(np.float32)


class DayAheadDecoupled(ReleasePolicy):
    """TSCO's DC-Frame: schedule on day-ahead signals that the DCs' own load does not move.

    DC-Frame optimises the power system first, fixes a 24 h price profile, and schedules
    compute against it, with no feedback from the real-time grid. In this env the price
    forecasts ``price_fc_{h}h`` come from a day-ahead clearing with the *expected* DC load (plus
    noise), not from the real-time market the agents move, so this policy reads only them:

    * the day-ahead price of the current step is the shortest-horizon forecast (``h_min``,
      1 h by default) that the policy observed ``h_min`` hours ago (until that much history
      exists: the latest shortest-horizon forecast);
    * class c is released when that price is at or below the ``quantiles[c]`` quantile of the
      shortest-horizon forecasts seen over the last ``window_steps`` (default one day).
      Defaults (E1, E2, E3) = (0.75, 0.5, 0.5): inference skips only the dearest quarter,
      batch and training run in the cheaper half of the day.

    It never looks at the observed real-time price or renewable share, so it cannot react to
    its own (and the other DCs') effect on the grid, which is the point of the baseline.
    """

    name = "day_ahead"

    def __init__(
        self,
        quantiles: tuple[float, float, float] = (0.75, 0.5, 0.5),
        window_steps: int | None = None,
    ):
        if len(quantiles) != 3 or not all(0.0 <= q <= 1.0 for q in quantiles):
            raise ValueError(
                f"quantiles={quantiles!r} is invalid: allowed 3 values in [0, 1] (E1, E2, E3)"
            )
        self.quantiles = tuple(float(q) for q in quantiles)
        self.window_steps = window_steps

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        hours, idx = forecast_horizons(self.layout, "price_fc")
        self._i_fc = idx[0]
        self._lag = max(int(round(hours[0] / context.step_hours)), 0)
        w = self.window_steps or context.scenario.steps_per_day
        self._w = max(int(w), self._lag + 1)
        self.hist = np.zeros((context.n_agents, self._w))
        self._pos = 0
        self._q = np.array(self.quantiles)

    def release(self, obs: np.ndarray) -> np.ndarray:
        slot = self._pos % self._w
        self.hist[:, slot] = obs[:, self._i_fc]
        self._pos += 1
        n_hist = min(self._pos, self._w)
        past = slot - self._lag if self._pos > self._lag else slot
        da_now = self.hist[:, past % self._w]
        window = self.hist if n_hist == self._w else self.hist[:, :n_hist]
        qs = np.quantile(window, self._q, axis=1).T  # [N, 3]
        return (da_now[:, None] <= qs).astype(np.float32)


class RandomPolicy(ReleasePolicy):
    """Uniform random release fractions in [0, 1] per agent and class (seeded by ``reset``)."""

    name = "random"

    def release(self, obs: np.ndarray) -> np.ndarray:
        return self.rng.random((obs.shape[0], 3), dtype=np.float32)


HEURISTICS: dict[str, Callable[..., ReleasePolicy]] = {
    cls.name: cls
    for cls in (
        FIFOPolicy,
        GASLiteral,
        GASIntent,
        GASStaggered,
        GASStaggerThresholds,
        GASStaggerDelay,
        GASStaggerRamp,
        GASConservativeFallback,
        RenewableGreedy,
        PriceThreshold,
        CarbonForecastWindow,
        DayAheadDecoupled,
        RandomPolicy,
    )
}
"""Every built-in heuristic by registry name (``make_policy(name, **kwargs)``)."""
