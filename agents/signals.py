"""Shared helpers of the heuristics: observation scales, forecast fields, remaining slack."""

from __future__ import annotations

import re

import numpy as np

from gridshift.agents.base import PolicyContext

#: The observation stores prices in $/MWh / 100 (``observation.build_layout``).
PRICE_SCALE_USD_PER_MWH = 100.0


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

