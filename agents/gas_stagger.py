"""GAS with EM §IV.6's diversity mechanisms (random thresholds, staggered resumption, ramps),
on either base rule (``literal`` or ``intent``), each mechanism alone or together."""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import PolicyContext
from gridshift.agents.gas import _GAS_DEFAULTS, _GASBase


class GASStaggered(_GASBase):
    """GAS with EM §IV.6's diversity mechanisms against correlated deferral cascades.

    EM §IV.6 ("Correlated failure cascades") warns that DCs deferring together under stress
    and resuming together on recovery create a new spike, and proposes "randomized start times,
    staggered resumption windows". Three mechanisms, each switchable alone, on top of the GAS
    rule of ``base`` (``"intent"``, default, or ``"literal"``; thresholds default to that
    variant's):

    * ``threshold_sd = s > 0`` (default 0): heterogeneous DCs, as in
      :class:`~gridshift.agents.gas.GASVariant`: each agent also draws an offset ``N(0, s)``
      from the seed. With ``random_thresholds=False`` it is the first draw, so the offsets are
      exactly those of ``gas_{base}_hetero`` on the same seed (a paired comparison of the
      resumption mechanisms on the same heterogeneous DCs).
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
        threshold_sd: float = 0.0,
    ):
        if base not in _GAS_DEFAULTS:
            raise ValueError(f"base={base!r} is invalid: allowed one of {tuple(_GAS_DEFAULTS)}")
        if int(resume_delay_steps) < 0 or int(ramp_steps) < 0 or threshold_spread < 0 or not threshold_sd >= 0:
            raise ValueError("resume_delay_steps, ramp_steps, threshold_spread and threshold_sd must be >= 0")
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
        self.threshold_sd = float(threshold_sd)
        self.resume_delay_steps = int(resume_delay_steps)
        self.ramp_steps = int(ramp_steps)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        n = context.n_agents
        if self.random_thresholds and self.threshold_spread > 0:
            self.agent_offsets = self.rng.uniform(-self.threshold_spread, self.threshold_spread, n)
        else:
            self.agent_offsets = np.zeros(n)
        if self.threshold_sd > 0:
            self.agent_offsets = self.agent_offsets + self.rng.normal(0.0, self.threshold_sd, n)
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


class GASLiteralStaggered(GASStaggered):
    """GASStaggered (EM §IV.6) on the literal GAS rule: compare with ``gas_literal``."""

    name = "gas_literal_stagger"

    def __init__(self, **kwargs):
        super().__init__(**{"base": "literal", **kwargs})


class GASIntentStaggered(GASStaggered):
    """GASStaggered (EM §IV.6) on the intent GAS rule (``gas_stagger``'s default): compare with ``gas_intent``."""

    name = "gas_intent_stagger"

    def __init__(self, **kwargs):
        super().__init__(**{"base": "intent", **kwargs})
