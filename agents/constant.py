"""Constant policies: the same release every step, whatever the grid does.

They are the cheapest possible baselines and the first thing to try when gaming a metric:
``hold_e2e3`` releases E1 and holds E2 and E3 until the SLA guard starts them at zero slack,
the one-line policy that tied the trained PPO before settlement existed (DESIGN §12).
"""

from __future__ import annotations

import numpy as np

from gridshift.agents.base import ReleasePolicy


class HoldE2E3(ReleasePolicy):
    """Constant: release E1, hold E2 and E3 every step (the SLA guard still starts them at zero slack).

    With the SLA guard on, held jobs start when their slack reaches zero, so nothing is dropped
    for it."""

    name = "hold_e2e3"

    def release(self, obs: np.ndarray) -> np.ndarray:
        r = np.zeros((obs.shape[0], 3), np.float32)
        r[:, 0] = 1.0
        return r


#: Constant policies by registry name.
CONSTANT_POLICIES = {HoldE2E3.name: HoldE2E3}
