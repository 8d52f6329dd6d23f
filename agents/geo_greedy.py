"""``geo_greedy``: move flexible work toward cheaper, cleaner DCs (geo-shifting, issue #15).

For each DC, with ``p`` its own observed price (its bus's LMP, ``local_price``, on a network
backend; the system price on a copper plate; with carbon in dispatch the price already values
the marginal unit's carbon):

* offer (``shift = 1``) all of the DC's movable E2/E3 work when its local price is above the
  system's (``price``) by more than ``margin_usd_per_mwh`` (work is cheaper elsewhere *now*),
  or when the shortest-horizon price forecast is above the local price by more than the margin
  (the local price is about to rise);
* otherwise keep the work (``shift = 0``); release is always FIFO's.

The environment chooses where offered work goes (the cheapest, least-loaded DC; see
:mod:`gridshift.envs.dcgrid.geo`). On a copper plate every DC sees the same price, so the rule
only fires on forecast rises, and every DC then offers at once: the broker refuses to send work
to a DC that is itself offering, so nothing moves (a useful null case).
"""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import PolicyContext, ReleasePolicy

#: Observed prices are $/MWh / 100 (``gridshift.envs.dcgrid.observation``).
PRICE_SCALE_USD_PER_MWH = 100.0


class GeoGreedy(ReleasePolicy):
    """Offer E2/E3 work to other DCs when the local price is above the system's or forecast to rise (geo-shifting)."""

    name = "geo_greedy"

    def __init__(self, margin_usd_per_mwh: float = 10.0):
        if not (np.isfinite(margin_usd_per_mwh) and margin_usd_per_mwh >= 0):
            raise ValueError(f"margin_usd_per_mwh={margin_usd_per_mwh!r} is invalid: allowed a finite number >= 0")
        self.margin_usd_per_mwh = float(margin_usd_per_mwh)

    def reset(self, seed: int | None, context: PolicyContext) -> None:
        super().reset(seed, context)
        lay = self.layout
        names = lay.names
        self._i_price = lay["local_price"] if "local_price" in names else lay["price"]
        self._i_sys = lay["price"] if "local_price" in names else None
        fc = sorted((float(k[len("price_fc_"):-1]), k) for k in names if k.startswith("price_fc_"))
        self._i_fc = lay[fc[0][1]]  # the shortest horizon
        self._m = self.margin_usd_per_mwh / PRICE_SCALE_USD_PER_MWH

    def release(self, obs: np.ndarray) -> np.ndarray:
        return np.ones((obs.shape[0], 3), np.float32)

    def shift(self, obs: np.ndarray) -> np.ndarray:
        local = obs[:, self._i_price]
        rising = obs[:, self._i_fc] > local + self._m
        dearer = (local > obs[:, self._i_sys] + self._m) if self._i_sys is not None else np.zeros_like(rising)
        return (rising | dearer).astype(np.float32)
