"""Constant policies: the same release every step, whatever the grid does.

They are the cheapest possible baselines and the first thing to try when gaming a metric:
``hold_e2e3`` releases E1 and holds E2 and E3 until the SLA guard starts them at zero slack,
the one-line policy that tied the trained PPO before settlement existed (DESIGN §12);
``hold_all`` holds E1 as well (the discrete table's "pause all"), the constant the RLlib DQN
trained on the cooperative difference reward plays in 97 % of its steps.
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


class HoldAll(ReleasePolicy):
    """Constant: hold every flexible class (E1, E2, E3) every step; the SLA guard starts each job
    at zero slack, so nothing is dropped for it (E1's slack is short: its jobs wait hours, not a
    day). The discrete table's "pause all" action."""

    name = "hold_all"

    def release(self, obs: np.ndarray) -> np.ndarray:
        return np.zeros((obs.shape[0], 3), np.float32)


#: Constant policies by registry name.
CONSTANT_POLICIES = {HoldE2E3.name: HoldE2E3, HoldAll.name: HoldAll}
