"""The named layout of the flat ``float32`` observation (DESIGN §6).

Policies read fields by name: ``layout.get(obs, "price")`` or ``obs[..., layout["price"]]``,
so a heuristic does not break when a field is added. Every field has documented units and
bounds, and the observation is clipped into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Field:
    name: str
    low: float
    high: float
    doc: str


@dataclass(frozen=True, eq=False)
class ObservationLayout:
    """Field names, offsets, bounds and docs of the flat observation vector."""

    fields: tuple[Field, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate observation fields: {names}")
        object.__setattr__(self, "_index", {f.name: i for i, f in enumerate(self.fields)})

    @property
    def size(self) -> int:
        return len(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def __getitem__(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"unknown observation field {name!r}: allowed {list(self._index)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def get(self, obs: np.ndarray, name: str) -> np.ndarray:
        """The field ``name`` of one observation ``[D]`` or a stack ``[..., D]``."""
        return np.asarray(obs)[..., self[name]]

    def as_dict(self, obs: np.ndarray) -> dict[str, float]:
        o = np.asarray(obs)
        return {f.name: float(o[i]) for i, f in enumerate(self.fields)}

    @property
    def low(self) -> np.ndarray:
        return np.array([f.low for f in self.fields], np.float32)

    @property
    def high(self) -> np.ndarray:
        return np.array([f.high for f in self.fields], np.float32)

    def markdown_table(self) -> str:
        rows = ["| index | field | range | meaning |", "| --- | --- | --- | --- |"]
        for i, f in enumerate(self.fields):
            rows.append(f"| {i} | `{f.name}` | [{f.low:g}, {f.high:g}] | {f.doc} |")
        return "\n".join(rows)


def build_layout(horizons_h: tuple[float, ...], price_low: float, price_high: float, *,
                 local: bool = False) -> ObservationLayout:
    """The observation layout for a scenario's forecast horizons and price bounds ($/100).
    ``local`` (a network backend): two more fields at the end, the DC's own bus's price and
    marginal carbon intensity."""
    f = [
        Field("tod_sin", -1, 1, "sin of the DC's local time of day"),
        Field("tod_cos", -1, 1, "cos of the DC's local time of day"),
        Field("dow_sin", -1, 1, "sin of the DC's local day of week"),
        Field("dow_cos", -1, 1, "cos of the DC's local day of week"),
        Field("price", price_low, price_high, "observed system price, $/MWh / 100 (delayed, possibly faulty)"),
        Field("renewable_fraction", 0, 1, "observed renewable share of generation"),
        Field("avg_ci", 0, 1.5, "observed average carbon intensity / fleet max emission factor"),
        Field("marginal_ci", 0, 1.5, "observed marginal carbon intensity / fleet max emission factor"),
        Field("peak_demand_penalty", 0, 2, "max(0, (demand - baseline) / peak): EM §II PeakDemandPenalty"),
        Field("demand_vs_peak", 0, 3, "observed total demand / peak non-DC demand"),
        Field("reserve_margin", 0, 2, "observed reserve headroom / peak non-DC demand"),
        Field("dr_announced", 0, 1, "1 if a demand-response event is announced and not yet started"),
        Field("dr_active", 0, 1, "1 during a demand-response event"),
        Field("dr_lead", 0, 1, "steps until the announced DR event starts / lead steps"),
        Field("emergency", 0, 1, "1 while an emergency curtailment order is in force"),
    ]
    for h in horizons_h:
        f.append(Field(f"renewable_fraction_fc_{h:g}h", 0, 1, f"forecast renewable share {h:g} h ahead"))
    for h in horizons_h:
        f.append(Field(f"price_fc_{h:g}h", price_low, price_high, f"forecast price {h:g} h ahead, $/MWh / 100"))
    for c in (1, 2, 3):
        f.append(Field(f"queue_e{c}", 0, 1e3, f"queued E{c} work, MWh / (dynamic IT capacity x 1 h)"))
    for c in (1, 2, 3):
        f.append(Field(f"min_slack_e{c}", -1, 1, f"minimum slack of queued E{c} jobs / class max deferral (1 if empty; "
                                                  "< 0: already too late to finish on time)"))
    f += [
        Field("utilization", 0, 1, "running dynamic IT power / dynamic IT capacity"),
        Field("e0_load", 0, 1, "running E0 power / dynamic IT capacity"),
        Field("flex_load", 0, 1, "running E1-E3 power / dynamic IT capacity"),
        Field("soc", 0, 1, "battery state of charge (0 without a battery)"),
    ]
    if local:
        f += [
            Field("local_price", price_low, price_high, "observed price at the DC's own bus (LMP), $/MWh / 100 (delayed)"),
            Field("local_marginal_ci", -5, 5, "observed marginal carbon intensity at the DC's own bus (LMCI) / "
                                               "fleet max emission factor (delayed; with binding lines it can be "
                                               "negative or exceed the dirtiest unit's factor)"),
        ]
    return ObservationLayout(tuple(f))
