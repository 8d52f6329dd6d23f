"""Heuristic baselines of DESIGN §7, all through the one :class:`~gridshift.agents.base.Policy`
protocol (``box`` mode: release fractions ``[N, 3]`` for E1, E2, E3 of every DC).

Every policy reads the observation by field name (``layout["field"]``, resolved once per
episode in ``reset``), acts for all ``N`` agents at once with array operations, and keeps its
per-agent state in arrays that ``reset`` rebuilds. Randomised policies draw only from
``self.rng`` (``numpy.random.default_rng(seed)``, seeded by ``reset``).

This module holds the index (``HEURISTICS``) and the simple baselines; the GAS family lives in
:mod:`gridshift.agents.gas`, :mod:`gridshift.agents.gas_stagger` and
:mod:`gridshift.agents.gas_fallback`, the price rules in :mod:`gridshift.agents.threshold`.
Everything is re-exported here, so ``from gridshift.agents.heuristics import GASLiteral`` works.

Sources: EM is the grid-aware scheduling seed (``shared/seeds/001``: §II Grid-Aware
Scheduling Score, §IV.6 grid-instability edge cases); TSCO is the two-stage co-optimisation
seed (``shared/seeds/002``: baselines RG-Sched, CO-Opt, DC-Frame).

===========================  ==================================================================
name                         rule
===========================  ==================================================================
``fifo``                     release everything (EM's baseline)
``gas_literal``              EM §II GAS exactly as written (``+ LatencyTolerance``)
``gas_intent``               GAS with the tolerance term flipped: more flexible classes defer more
``gas_{literal,intent}_band``   GAS with a resume band ``b`` (hysteresis): resume at ``defer + b``
``gas_{literal,intent}_hetero`` GAS with per-DC thresholds drawn from the episode's seed
``gas_stagger``              GAS (intent) + EM §IV.6 diversity: random thresholds, resume delays, ramps
``gas_{literal,intent}_stagger``  the same on a named base rule
``gas_stagger_*``            one diversity mechanism alone (``thresholds``, ``delay``, ``ramp``)
``gas_fallback``             GAS (intent) that falls back to FIFO on anomalous telemetry (EM §IV.6)
``renewable_greedy``         TSCO RG-Sched: run when the renewable share is high
``price_threshold``          TSCO CO-Opt idea (cost only): run when the price is low
``price_band``               release fraction linear in price over a band of width ``w`` $/MWh
``carbon_forecast``          run in the cleanest forecast window before the deadline
``day_ahead``                TSCO DC-Frame: decide on day-ahead signals the DCs' load cannot move
``random``                   uniform random release fractions
===========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gridshift.agents.base import PolicyContext, ReleasePolicy
from gridshift.agents.gas import (
    GASIntent,
    GASIntentBand,
    GASIntentHetero,
    GASLiteral,
    GASLiteralBand,
    GASLiteralHetero,
    GASVariant,
)
from gridshift.agents.gas_fallback import GASConservativeFallback
from gridshift.agents.gas_stagger import (
    GASIntentStaggered,
    GASLiteralStaggered,
    GASStaggerDelay,
    GASStaggered,
    GASStaggerRamp,
    GASStaggerThresholds,
)
from gridshift.agents.signals import PRICE_SCALE_USD_PER_MWH, _SlackMixin, forecast_horizons
from gridshift.agents.threshold import PriceBand, PriceThreshold

__all__ = [
    "HEURISTICS",
    "PRICE_SCALE_USD_PER_MWH",
    "CarbonForecastWindow",
    "DayAheadDecoupled",
    "FIFOPolicy",
    "GASConservativeFallback",
    "GASIntent",
    "GASIntentBand",
    "GASIntentHetero",
    "GASIntentStaggered",
    "GASLiteral",
    "GASLiteralBand",
    "GASLiteralHetero",
    "GASLiteralStaggered",
    "GASStaggerDelay",
    "GASStaggerRamp",
    "GASStaggerThresholds",
    "GASStaggered",
    "GASVariant",
    "PriceBand",
    "PriceThreshold",
    "RandomPolicy",
    "RenewableGreedy",
    "forecast_horizons",
]


# ---------------------------------------------------------------------------------- FIFO


class FIFOPolicy(ReleasePolicy):
    """Release all queued work every step: EM's grid-unaware baseline (EM §III)."""

    name = "fifo"

    def release(self, obs: np.ndarray) -> np.ndarray:
        return np.ones((obs.shape[0], 3), np.float32)


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
        GASLiteralBand,
        GASIntentBand,
        GASLiteralHetero,
        GASIntentHetero,
        GASStaggered,
        GASLiteralStaggered,
        GASIntentStaggered,
        GASStaggerThresholds,
        GASStaggerDelay,
        GASStaggerRamp,
        GASConservativeFallback,
        RenewableGreedy,
        PriceThreshold,
        PriceBand,
        CarbonForecastWindow,
        DayAheadDecoupled,
        RandomPolicy,
    )
}
"""Every built-in heuristic by registry name (``make_policy(name, **kwargs)``)."""
