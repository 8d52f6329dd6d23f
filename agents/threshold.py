"""Price-responsive policies: the TSCO CO-Opt-style threshold and the width-``w`` band family.

Source: TSCO is the two-stage co-optimisation seed (``shared/seeds/002``, baseline CO-Opt).
"""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import PolicyContext, ReleasePolicy
from gridshift.agents.signals import PRICE_SCALE_USD_PER_MWH, _SlackMixin, forecast_horizons


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



class PriceBand(ReleasePolicy):
    """Release fraction linear in the observed price over a band of width ``w`` $/MWh.

    For every flexible class (E1, E2, E3) and DC, with ``p`` the observed real-time price and
    ``p_ref`` the band's centre (``reference_usd_per_mwh``, default 55 $/MWh, about the median
    real-time price of the default scenario under FIFO; the cascade study centres it on the
    median FIFO price of each scenario it runs)::

        release = clip((p_ref + w/2 - p) / w, 0, 1)      (w > 0)
        release = 1 if p <= p_ref else 0                  (w = 0: a bang-bang threshold)

    so everything runs below ``p_ref - w/2``, nothing new starts above ``p_ref + w/2`` (E3 work
    is checkpointed down to the release share), and in between the share falls linearly. The
    rule is memoryless (no hysteresis, no forecasts): it is the price-responsive consumer of
    Roozbehani, Dahleh & Mitter (IEEE TPWRS 2012), whose closed loop with the market is
    unstable when the consumer/producer elasticity ratio exceeds one. Its price response at the
    operating point is :meth:`response_mw_per_usd`. The env's SLA guard still starts a job
    whose slack runs out.
    """

    name = "price_band"

    def __init__(self, width_usd_per_mwh: float = 20.0, reference_usd_per_mwh: float = 55.0):
        w, r = width_usd_per_mwh, reference_usd_per_mwh
        if not (isinstance(w, (int, float)) and np.isfinite(w) and w >= 0):
            raise ValueError(f"width_usd_per_mwh={w!r} is invalid: allowed a finite number >= 0")
        if not (isinstance(r, (int, float)) and np.isfinite(r)):
            raise ValueError(f"reference_usd_per_mwh={r!r} is invalid: allowed a finite number")
        self.width_usd_per_mwh = float(w)
        self.reference_usd_per_mwh = float(r)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        self._i_price = self.layout["price"]

    def release_share(self, price_usd_per_mwh: np.ndarray) -> np.ndarray:
        """The release fraction at a price (any shape), the rule above."""
        p = np.asarray(price_usd_per_mwh, np.float64)
        if self.width_usd_per_mwh == 0.0:
            return (p <= self.reference_usd_per_mwh).astype(np.float64)
        return np.clip((self.reference_usd_per_mwh + self.width_usd_per_mwh / 2 - p) / self.width_usd_per_mwh, 0.0, 1.0)

    def response_mw_per_usd(self, flexible_mw: float) -> float:
        """The policy's load response inside the band, MW per $/MWh: ``flexible_mw / w``
        (``inf`` for ``w = 0``), where ``flexible_mw`` is the flexible facility load the release
        share controls at the operating point."""
        return float("inf") if self.width_usd_per_mwh == 0.0 else float(flexible_mw) / self.width_usd_per_mwh

    def release(self, obs: np.ndarray) -> np.ndarray:
        share = self.release_share(obs[:, self._i_price].astype(np.float64) * PRICE_SCALE_USD_PER_MWH)
        return np.repeat(share[:, None], 3, axis=1).astype(np.float32)
