"""Action adapters: ``Discrete(K)``, ``MultiDiscrete`` and ``Box`` onto the core action.

The core action of one DC is ``[r1, r2, r3, battery]``: release fractions in [0, 1] for the
queued E1, E2 and E3 work, and a battery setpoint in [-1, 1] (share of the battery's power
rating; + charges). Every adapter maps a batch ``[..., *]`` of its actions to ``[..., 4]`` with
one vectorised lookup or clip, and validates its input.

Discrete table (``DISCRETE_TABLE``; the battery rows exist only when the scenario has one):

| a | r1 | r2 | r3 | battery | meaning |
| - | -- | -- | -- | ------- | ------- |
| 0 | 1 | 1 | 1 | 0 | run everything (FIFO) |
| 1 | 1 | 1 | 0 | 0 | pause training (E3) |
| 2 | 1 | 0 | 0 | 0 | defer batch and training (E2, E3) |
| 3 | 0 | 0 | 0 | 0 | defer all flexible work (E1-E3) |
| 4 | 0.5 | 0.5 | 0.5 | 0 | release half of each queue |
| 5 | 1 | 0.5 | 0.25 | 0 | staggered release (more flexible, less released) |
| 6 | 1 | 1 | 1 | +1 | run everything, charge the battery |
| 7 | 0 | 0 | 0 | -1 | defer all flexible work, discharge the battery |

MultiDiscrete: ``[L, L, L]`` (+ ``[3]`` with a battery) with ``L = 5`` release levels
``0, 0.25, 0.5, 0.75, 1`` and battery ``-1, 0, +1``. Box: ``[r1, r2, r3(, battery)]`` with
bounds ``[0, 1]`` (battery ``[-1, 1]``); values are clipped into the box.

Geo-shifting (``Scenario.geo_shift``): the core action gains a fifth component ``shift`` in
[0, 1], the share of queued E2/E3 work offered to other DCs (:mod:`.geo`). Discrete gains two
rows after the others (``GEO_ROWS``): *move E2/E3 away* ``[1, 0, 0, 0, 1]`` (offer all of it,
hold what cannot move) and *offer half* ``[1, 1, 1, 0, 0.5]``; MultiDiscrete gains one more
``[L]`` dimension (the shift level) and Box one more ``[0, 1]`` component, both last.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

DISCRETE_TABLE = np.array(
    [
        [1.0, 1.0, 1.0, 0.0],
        [1.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [0.5, 0.5, 0.5, 0.0],
        [1.0, 0.5, 0.25, 0.0],
        [1.0, 1.0, 1.0, 1.0],
        [0.0, 0.0, 0.0, -1.0],
    ]
)
GEO_ROWS = np.array([[1.0, 0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0, 0.5]])
RELEASE_LEVELS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
BATTERY_LEVELS = np.array([-1.0, 0.0, 1.0])


def _numeric(actions, what: str, allowed: str, *, integer: bool) -> np.ndarray:
    """``actions`` as an array of real numbers (integers when ``integer``), or a ValueError that
    names the action and what is allowed. Booleans, strings, complex numbers and objects are
    refused: they are never valid actions, even where numpy would convert them."""
    try:
        a = np.asarray(actions)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what} action {actions!r} is invalid: allowed {allowed} ({e})") from None
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{what} action {actions!r} is invalid: allowed {allowed} (got dtype {a.dtype})")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{what} action {actions!r} is invalid: allowed finite {allowed}")
        if integer and not np.all(a == np.round(a)):
            raise ValueError(f"{what} action {actions!r} is invalid: allowed {allowed} (non-integer values are "
                             "not rounded or truncated)")
    return a


class ActionAdapter:
    """Maps one action space onto core actions ``[..., 4]``."""

    mode: str
    space: spaces.Space
    noop: object
    """The action that releases everything with the battery idle (FIFO)."""

    def to_core(self, actions: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class DiscreteAdapter(ActionAdapter):
    mode = "discrete"

    def __init__(self, battery: bool, geo: bool = False):
        self.table = DISCRETE_TABLE if battery else DISCRETE_TABLE[:6]
        if geo:
            self.table = np.concatenate([np.pad(self.table, ((0, 0), (0, 1))), GEO_ROWS])
        self.space = spaces.Discrete(len(self.table))
        self.noop = 0

    def to_core(self, actions):
        a = _numeric(actions, "discrete", f"integers 0..{len(self.table) - 1}", integer=True)
        if a.size and (a.min() < 0 or a.max() >= len(self.table)):
            raise ValueError(f"discrete action {a.min() if a.min() < 0 else a.max()} is invalid: allowed 0..{len(self.table) - 1}")
        return self.table[a.astype(np.intp, copy=False)]


class MultiDiscreteAdapter(ActionAdapter):
    mode = "multidiscrete"

    def __init__(self, battery: bool, geo: bool = False):
        self.battery, self.geo = battery, geo
        nvec = [len(RELEASE_LEVELS)] * 3 + ([len(BATTERY_LEVELS)] if battery else []) + ([len(RELEASE_LEVELS)] if geo else [])
        self.space = spaces.MultiDiscrete(nvec)
        self.noop = np.array([len(RELEASE_LEVELS) - 1] * 3 + ([1] if battery else []) + ([0] if geo else []), dtype=np.int64)

    def to_core(self, actions):
        a = _numeric(actions, "multidiscrete", f"integers 0 <= a < {self.space.nvec.tolist()}", integer=True)
        k = 3 + self.battery + self.geo
        if a.shape[-1:] != (k,):
            raise ValueError(f"multidiscrete action of shape {a.shape} is invalid: allowed shape (..., {k})")
        a = a.astype(np.int64)
        nvec = self.space.nvec
        if np.any(a < 0) or np.any(a >= nvec):
            raise ValueError(f"multidiscrete action {a.tolist()} is invalid: allowed 0 <= a < {nvec.tolist()}")
        out = np.zeros(a.shape[:-1] + (5 if self.geo else 4,))
        out[..., :3] = RELEASE_LEVELS[a[..., :3]]
        if self.battery:
            out[..., 3] = BATTERY_LEVELS[a[..., 3]]
        if self.geo:
            out[..., 4] = RELEASE_LEVELS[a[..., -1]]
        return out


class BoxAdapter(ActionAdapter):
    mode = "box"

    def __init__(self, battery: bool, geo: bool = False):
        self.battery, self.geo = battery, geo
        low = np.array([0.0, 0.0, 0.0] + ([-1.0] if battery else []) + ([0.0] if geo else []), np.float32)
        high = np.ones_like(low)
        self.space = spaces.Box(low, high, dtype=np.float32)
        self.noop = high.copy()
        if battery:
            self.noop[3] = 0.0
        if geo:
            self.noop[-1] = 0.0

    def to_core(self, actions):
        a = _numeric(actions, "box", "finite numbers", integer=False).astype(np.float64, copy=False)
        k = 3 + self.battery + self.geo
        if a.shape[-1:] != (k,):
            raise ValueError(f"box action of shape {a.shape} is invalid: allowed shape (..., {k})")
        out = np.zeros(a.shape[:-1] + (5 if self.geo else 4,))
        out[..., :3] = np.clip(a[..., :3], 0.0, 1.0)
        if self.battery:
            out[..., 3] = np.clip(a[..., 3], -1.0, 1.0)
        if self.geo:
            out[..., 4] = np.clip(a[..., -1], 0.0, 1.0)
        return out


def make_adapter(mode: str, battery: bool, geo: bool = False) -> ActionAdapter:
    if mode == "discrete":
        return DiscreteAdapter(battery, geo)
    if mode == "multidiscrete":
        return MultiDiscreteAdapter(battery, geo)
    if mode == "box":
        return BoxAdapter(battery, geo)
    raise ValueError(f"action_mode={mode!r} is invalid: allowed 'discrete', 'multidiscrete' or 'box'")
