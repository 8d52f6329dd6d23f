"""GAS (intent) with EM §IV.6's conservative fallback on anomalous telemetry."""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import PolicyContext
from gridshift.agents.gas import GASIntent
from gridshift.agents.signals import PRICE_SCALE_USD_PER_MWH


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

