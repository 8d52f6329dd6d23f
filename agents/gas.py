"""The Grid-Aware Scheduling Score policies of EM §II (``gas_literal``, ``gas_intent``) and the
variants the cascade study needs: a resume band (hysteresis) and per-DC threshold draws.

Source: EM is the grid-aware scheduling seed (``shared/seeds/001``, §II).
"""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import PolicyContext, ReleasePolicy


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


class GASVariant(_GASBase):
    """GAS (``base`` = ``"literal"`` or ``"intent"``) with a resume band and per-DC thresholds.

    The two knobs the cascade study sweeps, each 0 by default (then the rule is exactly
    ``gas_literal`` / ``gas_intent`` with that variant's default thresholds):

    * ``resume_band = b >= 0`` (signal units): hysteresis. A deferring class resumes only once
      its GAS is back at ``defer_threshold + b`` (``resume_threshold``), so a signal that falls
      by less than ``b`` when the backlog restarts cannot flip the decision back (DESIGN §11's
      predictor: oscillation when the signal jump exceeds the band). The urgent clause still
      ends a deferral above ``urgent_threshold``, so bands beyond ``urgent - defer`` act like
      ``urgent - defer``.
    * ``threshold_sd = s >= 0``: heterogeneous DCs. At ``reset`` each DC draws one offset
      ``N(0, s)`` from the episode's seed (``agent_offsets [N]``) that shifts its defer, resume
      and urgent thresholds together: operators tune their rules differently, so DCs cross
      them at different grid states and the number of DCs becomes a real axis (with ``s = 0``
      and identical signals every DC decides alike, whatever their number).
    """

    name = "gas_variant"

    def __init__(
        self,
        base: str = "literal",
        resume_band: float = 0.0,
        threshold_sd: float = 0.0,
        defer_threshold: float | None = None,
        urgent_threshold: float | None = None,
        latency_tolerance: tuple[float, float, float] = (0.3, 0.7, 1.0),
    ):
        if base not in _GAS_DEFAULTS:
            raise ValueError(f"base={base!r} is invalid: allowed one of {tuple(_GAS_DEFAULTS)}")
        for k, v in (("resume_band", resume_band), ("threshold_sd", threshold_sd)):
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{k}={v!r} is invalid: allowed a finite number >= 0")
        d, u = _GAS_DEFAULTS[base]
        d = d if defer_threshold is None else float(defer_threshold)
        u = u if urgent_threshold is None else float(urgent_threshold)
        super().__init__(d, u, d + float(resume_band), latency_tolerance)
        self.variant = base
        self.resume_band = float(resume_band)
        self.threshold_sd = float(threshold_sd)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        n = context.n_agents
        self.agent_offsets = self.rng.normal(0.0, self.threshold_sd, n) if self.threshold_sd > 0 else np.zeros(n)
        off = self.agent_offsets[:, None]
        d, r, u = super()._thresholds()
        self._th = (d + off, r + off, u + off)

    def _thresholds(self):
        return self._th


def _gas_preset(name: str, base: str, **preset) -> type[GASVariant]:
    knob = ", ".join(f"{k}={v!r}" for k, v in preset.items())

    class _Preset(GASVariant):
        __doc__ = (f"GAS ({base} base) with {knob} by default (:class:`GASVariant`: "
                   + ("resume band, hysteresis)." if "resume_band" in preset else "per-DC threshold draws)."))

        def __init__(self, **kwargs):
            super().__init__(**{"base": base, **preset, **kwargs})

    _Preset.name = name
    _Preset.__name__ = _Preset.__qualname__ = "GAS" + base.capitalize() + ("Band" if "resume_band" in preset else "Hetero")
    return _Preset


GASLiteralBand = _gas_preset("gas_literal_band", "literal", resume_band=0.05)
GASIntentBand = _gas_preset("gas_intent_band", "intent", resume_band=0.05)
GASLiteralHetero = _gas_preset("gas_literal_hetero", "literal", threshold_sd=0.05)
GASIntentHetero = _gas_preset("gas_intent_hetero", "intent", threshold_sd=0.05)
