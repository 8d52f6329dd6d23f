"""Static description of a transmission network for the DC-OPF backend (:mod:`.network`).

:class:`NetworkParams` holds the buses, the branches (series reactance and thermal limit),
where each fleet unit sits, how the exogenous load and the renewable availability are spread
over the buses, and the PTDF matrix derived from them. It knows nothing about files: the
loaders in :mod:`gridshift.data.network_cases` build it from RTS-GMLC and IEEE 30-bus tables.

DC power flow (lossless, flat voltage, small angles; Wood & Wollenberg, *Power Generation,
Operation and Control*, 3rd ed., ch. 6 and §8.x; MATPOWER ``makeBdc``/``makePTDF``):

* branch ``l`` from bus ``f`` to bus ``t`` has susceptance ``b_l = 1 / x_l`` (``x_l`` in p.u. on
  the system base, transformer taps already folded in: ``x = x_series * tap``, MATPOWER's
  convention), flow ``F_l = base * b_l (theta_f - theta_t)``;
* with ``A`` the ``[n_line, n_bus]`` incidence matrix (+1 at ``f``, -1 at ``t``),
  ``B_f = diag(b) A`` and ``B_bus = A^T diag(b) A``;
* the **slack (reference) bus** ``s`` absorbs the balance: removing its row and column,
  ``PTDF[:, k != s] = B_f[:, k != s] B_bus[k != s, k != s]^-1`` and ``PTDF[:, s] = 0``.
  ``PTDF[l, k]`` is the MW flow on line ``l`` per MW injected at bus ``k`` and withdrawn at
  the slack bus. For a balanced injection vector ``P`` (``sum(P) = 0``) the flows
  ``PTDF @ P`` do not depend on the choice of slack bus; the slack only fixes which bus's
  price is the "energy" component of the LMPs (``lambda`` in :mod:`.network`). The MVA base
  cancels: injections and flows are both in MW.

The network must be connected (one island): otherwise ``B_bus`` reduced at the slack is
singular and construction fails with a :class:`~gridshift.envs.grid.types.ParamError`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from gridshift.envs.grid.types import ParamError, _readonly

#: PTDF entries smaller than this (MW per MW) are set to exactly 0, so that radial parts of
#: the network give exact zeros instead of round-off.
PTDF_ZERO_TOL = 1e-10


def _fail(name: str, value, allowed: str) -> None:
    raise ParamError(f"NetworkParams.{name}={value!r} is invalid: allowed {allowed}")


def _share(name: str, v, n_bus: int, *, may_be_zero: bool) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.shape != (n_bus,):
        _fail(name, f"shape {a.shape}", f"shape ({n_bus},) (one share per bus)")
    bad = ~np.isfinite(a) | (a < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        _fail(f"{name}[{i}]", float(a[i]), "a finite share >= 0")
    s = a.sum()
    if s == 0.0 and may_be_zero:
        return a
    if abs(s - 1.0) > 1e-6:
        _fail(name, f"sum {s!r}", "shares summing to 1" + (" (or all 0: no such resource)" if may_be_zero else ""))
    return a / s


def compute_ptdf(n_bus: int, line_from: np.ndarray, line_to: np.ndarray, line_x_pu: np.ndarray,
                 slack: int) -> np.ndarray:
    """``[n_line, n_bus]`` PTDF for the given slack bus (module docstring)."""
    nl = line_from.shape[0]
    inc = np.zeros((nl, n_bus))
    inc[np.arange(nl), line_from] = 1.0
    inc[np.arange(nl), line_to] = -1.0
    bf = inc / line_x_pu[:, None]
    bbus = inc.T @ bf
    keep = np.arange(n_bus) != slack
    red = bbus[np.ix_(keep, keep)]
    # A connected network's reduced B_bus is positive definite; an island makes it singular.
    cond = np.linalg.cond(red) if red.size else 1.0
    if not np.isfinite(cond) or cond > 1e12:
        raise ParamError("NetworkParams: the branches do not connect every bus (B_bus reduced at the slack bus is "
                         f"singular, condition number {cond:.3g}): allowed one connected network")
    ptdf = np.zeros((nl, n_bus))
    ptdf[:, keep] = np.linalg.solve(red, bf[:, keep].T).T
    ptdf[np.abs(ptdf) < PTDF_ZERO_TOL] = 0.0
    return ptdf


@dataclass(frozen=True, eq=False)
class NetworkParams:
    """Buses, branches and resource locations of one network (module docstring).

    Shapes: ``n_bus`` buses, ``n_line`` branches, ``G`` fleet units (the same order as the
    :class:`~gridshift.envs.grid.types.FleetParams` the backend is given). Bus and line
    indices are 0-based positions; ``bus_id``/``line_id`` keep the case's own labels.
    """

    bus_id: tuple[str, ...]
    line_id: tuple[str, ...]
    line_from: np.ndarray
    """``[n_line]`` int: index of the from-bus."""
    line_to: np.ndarray
    """``[n_line]`` int: index of the to-bus."""
    line_x_pu: np.ndarray
    """``[n_line]`` series reactance (p.u., taps folded in), > 0."""
    line_limit_mw: np.ndarray
    """``[n_line]`` thermal limit (continuous rating, MVA read as MW), > 0."""
    gen_bus: np.ndarray
    """``[G]`` int: bus index of each fleet unit."""
    load_share: np.ndarray
    """``[n_bus]`` share of the exogenous (non-DC) load at each bus; sums to 1."""
    solar_share: np.ndarray
    """``[n_bus]`` share of the system's solar availability at each bus (sums to 1, or all 0)."""
    wind_share: np.ndarray
    """``[n_bus]`` share of the system's wind availability at each bus (sums to 1, or all 0)."""
    slack_bus: int = 0
    """Index of the reference bus of the PTDF (module docstring)."""
    renewable_share: np.ndarray | None = None
    """``[n_bus]`` share of *combined* solar + wind availability, used when only the total is
    known (the core's ``avail``); ``None``: the mean of the solar and wind shares that exist."""
    bus_area: np.ndarray | None = None
    """``[n_bus]`` int area/region label (``None``: all 1)."""
    bus_lat: np.ndarray | None = None
    """``[n_bus]`` latitude in degrees, NaN where unknown."""
    bus_lon: np.ndarray | None = None
    """``[n_bus]`` longitude in degrees, NaN where unknown."""
    name: str = "network"
    ptdf: np.ndarray = field(init=False, repr=False)
    """``[n_line, n_bus]`` power transfer distribution factors (computed, read-only)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "bus_id", tuple(str(b) for b in self.bus_id))
        object.__setattr__(self, "line_id", tuple(str(b) for b in self.line_id))
        nb, nl = len(self.bus_id), len(self.line_id)
        if nb < 2:
            _fail("bus_id", self.bus_id, "at least 2 buses")
        if len(set(self.bus_id)) != nb:
            dup = next(b for b in self.bus_id if self.bus_id.count(b) > 1)
            _fail("bus_id", dup, "each bus once")
        if nl < 1:
            _fail("line_id", self.line_id, "at least 1 branch")
        for k in ("line_from", "line_to"):
            a = np.asarray(getattr(self, k))
            if a.shape != (nl,) or not np.issubdtype(a.dtype, np.integer):
                _fail(k, f"shape {a.shape} dtype {a.dtype}", f"({nl},) integer bus indices")
            bad = (a < 0) | (a >= nb)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                _fail(f"{k}[{i}]", int(a[i]), f"a bus index in [0, {nb})")
            object.__setattr__(self, k, _readonly(a.astype(np.int64)))
        loop = self.line_from == self.line_to
        if loop.any():
            i = int(np.flatnonzero(loop)[0])
            _fail(f"line_to[{i}]", int(self.line_to[i]), "a bus other than line_from (no self-loops)")
        for k in ("line_x_pu", "line_limit_mw"):
            a = np.asarray(getattr(self, k), dtype=np.float64)
            if a.shape != (nl,):
                _fail(k, f"shape {a.shape}", f"shape ({nl},)")
            bad = ~np.isfinite(a) | (a <= 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                _fail(f"{k}[{i}]", float(a[i]), "a finite value > 0")
            object.__setattr__(self, k, _readonly(a))
        g = np.asarray(self.gen_bus)
        if g.ndim != 1 or g.size == 0 or not np.issubdtype(g.dtype, np.integer):
            _fail("gen_bus", f"shape {g.shape} dtype {g.dtype}", "a non-empty 1-D array of integer bus indices")
        bad = (g < 0) | (g >= nb)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            _fail(f"gen_bus[{i}]", int(g[i]), f"a bus index in [0, {nb})")
        object.__setattr__(self, "gen_bus", _readonly(g.astype(np.int64)))
        if not (0 <= int(self.slack_bus) < nb):
            _fail("slack_bus", self.slack_bus, f"a bus index in [0, {nb})")
        object.__setattr__(self, "slack_bus", int(self.slack_bus))
        object.__setattr__(self, "load_share", _readonly(_share("load_share", self.load_share, nb, may_be_zero=False)))
        object.__setattr__(self, "solar_share", _readonly(_share("solar_share", self.solar_share, nb, may_be_zero=True)))
        object.__setattr__(self, "wind_share", _readonly(_share("wind_share", self.wind_share, nb, may_be_zero=True)))
        if self.renewable_share is None:
            parts = [s for s in (self.solar_share, self.wind_share) if s.sum() > 0]
            ren = np.mean(parts, axis=0) if parts else np.asarray(self.load_share)
        else:
            ren = _share("renewable_share", self.renewable_share, nb, may_be_zero=False)
        object.__setattr__(self, "renewable_share", _readonly(ren))
        area = np.ones(nb, np.int64) if self.bus_area is None else np.asarray(self.bus_area)
        if area.shape != (nb,):
            _fail("bus_area", f"shape {area.shape}", f"shape ({nb},)")
        object.__setattr__(self, "bus_area", _readonly(area.astype(np.int64)))
        for k in ("bus_lat", "bus_lon"):
            v = getattr(self, k)
            a = np.full(nb, np.nan) if v is None else np.asarray(v, dtype=np.float64)
            if a.shape != (nb,):
                _fail(k, f"shape {a.shape}", f"shape ({nb},)")
            object.__setattr__(self, k, _readonly(a))
        object.__setattr__(self, "ptdf", _readonly(compute_ptdf(nb, self.line_from, self.line_to, self.line_x_pu,
                                                                self.slack_bus)))

    @property
    def n_bus(self) -> int:
        return len(self.bus_id)

    @property
    def n_line(self) -> int:
        return len(self.line_id)

    @property
    def n_units(self) -> int:
        return int(self.gen_bus.shape[0])

    def bus_index(self, bus: str | int) -> int:
        """Index of a bus given by its id (``"113"`` or ``113``)."""
        key = str(bus)
        if key not in self.bus_id:
            raise ParamError(f"bus={bus!r} is invalid: allowed one of the {self.n_bus} bus ids of network "
                             f"{self.name!r} (e.g. {list(self.bus_id[:5])})")
        return self.bus_id.index(key)

    def flows_mw(self, injection_mw: np.ndarray) -> np.ndarray:
        """Line flows ``[..., n_line]`` of balanced net injections ``[..., n_bus]`` (MW)."""
        return np.asarray(injection_mw) @ self.ptdf.T

    def replace(self, **changes) -> NetworkParams:
        return dataclasses.replace(self, **changes)
