"""The BA's dispatchable fleet for the real-data grid: the powersimdata plants of its region
(:data:`~gridshift.data.scenario_builder.BA_REGIONS`), narrowed to the BA's own output and
priced as ``gridshift calibrate`` fits it.

Fleet (:func:`region_fleet`): the powersimdata plants of the BA's region (an interconnect,
states or load zones of the TAMU network), the fuel groups the merit order dispatches only
(:data:`DISPATCHED_GROUPS`: gas, coal, oil; see :mod:`gridshift.data.powersimdata`). Fuel
cost: gas units pay the Henry Hub spot price (mean over the window, or over the year) times
``gas_price_scale`` plus the regional basis ``gas_basis_usd_per_mmbtu``; coal and oil keep
the table's ``GenFuelCost`` times ``coal_price_scale`` / 1. ``pmin_scale`` scales the
table's minimum outputs: 0 (the default) without unit commitment (every unit online could
not go below its minimum), 1 with it.

The real-data scenarios run :func:`calibrated_fleet`: that fleet narrowed to the BA's own
January-June output (:func:`footprint_capacity`), with the basis and coal-to-gas index that
``gridshift calibrate`` fits (:data:`~gridshift.data.gas_prices.GAS_BASIS_USD_PER_MMBTU`,
:data:`COAL_GAS_INDEX`).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from gridshift.data.gas_prices import (
    GAS_BASIS_USD_PER_MMBTU,
    HH_CARRY_DAYS,
    henry_hub_price,
    hh_last_day,
)
from gridshift.data.scenario_builder import build_real_grid, check_ba
from gridshift.envs.grid.types import FleetParams


@functools.lru_cache(maxsize=4)
def _plants():
    from gridshift.data.powersimdata import read_plant_table

    return read_plant_table()


#: Coal's fuel price as a multiple of the delivered gas price (:func:`index_coal_to_gas`),
#: fitted by ``gridshift calibrate --ba BA --year 2022`` on the fit half so that the simulated
#: coal share of generation matches EIA-930's; absent where the footprint has no coal.
COAL_GAS_INDEX: dict[str, float] = {"ERCO": 0.674, "CISO": 0.533, "PJM": 0.553, "MISO": 0.583, "SOCO": 0.563,
                                     "AZPS": 0.674}
#: EIA-930 fuel groups of the fleet's units (``other`` holds geothermal and biomass, as EIA's "other").
FUEL_GROUP: dict[str, str] = {"coal": "coal", "gas": "gas", "oil": "oil", "other": "other", "geothermal": "other",
                              "biomass": "other"}
#: The fuel groups the merit order dispatches. EIA's "other" (geothermal, biomass, batteries)
#: is a real profile instead (module docstring): the fleet keeps none of its units.
DISPATCHED_GROUPS: tuple[str, ...] = ("coal", "gas", "oil")
#: Footprint margins (:func:`footprint_capacity`): capacity over the observed maximum output.
#: Coal and oil: 15 %, the planning reserve margin of NERC's reference levels (the
#: maximum of half a year's hourly output is near the fleet's available capacity). Gas: 50 %,
#: because gas also serves the summer peak, which a January-June window does not contain
#: (EIA-930 2022: the July-December thermal peak is 4-38 % above January-June's in these BAs;
#: this allowance was chosen knowing the annual peaks, so it is the one footprint choice not
#: made on the fit half alone).
FOOTPRINT_MARGIN: dict[str, float] = {"coal": 0.15, "oil": 0.15, "gas": 0.5}


def footprint_capacity(ba: str, start, end, year: int = 2022) -> dict[str, float]:
    """The BA's dispatchable capacity by fuel group (MW), sized to its own EIA-930 output:
    ``(1 + FOOTPRINT_MARGIN[f]) x`` the maximum hourly generation of fuel group ``f`` over
    ``[start, end)`` (UTC). The powersimdata regions are states or load zones, not the BA's
    footprint (Arizona's fleet is ~5x APS's observed output, Washington + Oregon ~6x BPA's,
    MISO's zones ~1.6x MISO's), so :func:`region_fleet` with ``footprint=`` rescales each fuel
    group's units to these totals and drops a group the BA did not run (New York's and
    California's coal, retired before 2022)."""
    g = build_real_grid(ba, year).window(start, end, 60.0)
    if len(g) == 0:
        raise ValueError(f"start={start!r} end={end!r}: empty window for the {ba} footprint")
    return {f: float((1.0 + m) * np.nan_to_num(g[f"{f}_mw"].max(), nan=0.0)) for f, m in FOOTPRINT_MARGIN.items()}


def region_fleet(ba: str, *, start=None, end=None, year: int = 2022, gas_price_scale: float = 1.0,
                 coal_price_scale: float = 1.0, pmin_scale: float = 0.0, in_service_only: bool = True,
                 gas_basis_usd_per_mmbtu: float = 0.0, cost_model: str = "table",
                 footprint: dict[str, float] | None = None) -> FleetParams:
    """The dispatchable powersimdata fleet of ``ba``'s region, gas priced at Henry Hub.

    The gas price is the Henry Hub mean over ``[start, end)`` (default: the whole ``year``;
    the file ends 2022-12-13, so a December window uses the days available) times
    ``gas_price_scale`` plus ``gas_basis_usd_per_mmbtu``; it is recorded in the fleet
    (``fuel_price_usd_per_mmbtu``), so a daily price passed to the clearing rescales it.
    ``pmin_scale``: 0 without unit commitment, 1 with it (module docstring). ``cost_model``:
    see :func:`gridshift.data.powersimdata.fleet_from_plants`. ``in_service_only``
    (default): keep only the TAMU case's ``status == 1`` plants. This drops retired units
    (PJM-region coal 58 -> 41 GW, closer to PJM's ~40 GW of 2022) but also ~4 GW of ERCOT
    coal that still ran in 2022 (14.5 -> 10.6 GW); one rule for all BAs, not tuned per BA.
    ``footprint`` (e.g. :func:`footprint_capacity`): MW per fuel group (:data:`FUEL_GROUP`);
    a group whose region capacity exceeds its footprint is scaled down to it
    (:meth:`FleetParams.scaled`: capacity, minimum output, ramp, start cost), a group at 0 is
    dropped, any other group is kept as it is: the footprint only narrows the region's fleet,
    it never invents capacity the table does not have (ERCOT's retired-in-the-table coal).
    Units outside :data:`DISPATCHED_GROUPS` (geothermal, biomass, other) are left out: EIA's
    "other" output is an input of :func:`build_real_grid`.
    """
    from gridshift.data.powersimdata import TYPE_FUEL, fleet_from_plants, select_plants

    region = check_ba(ba)
    for name, v in (("gas_price_scale", gas_price_scale), ("coal_price_scale", coal_price_scale)):
        if not (np.isfinite(v) and 0.05 <= v <= 20):
            raise ValueError(f"{name}={v!r} is invalid: allowed 0.05 <= value <= 20")
    s = pd.Timestamp(start) if start is not None else pd.Timestamp(f"{year}-01-01")
    e = pd.Timestamp(end) if end is not None else pd.Timestamp(f"{year + 1}-01-01")
    hh_end = min(e.tz_localize(None) if e.tzinfo else e, hh_last_day() + pd.Timedelta(days=1))
    hh_start = s.tz_localize(None) if s.tzinfo else s
    if hh_start >= hh_end:  # a window just after the file's last day (late December 2022): its last month
        if hh_start - hh_end > pd.Timedelta(days=HH_CARRY_DAYS):
            raise ValueError(f"start={start!r} is out of range for Henry Hub daily prices: allowed dates within "
                             "[1997-01-07, 2022-12-13] (or up to a month after)")
        hh_start = hh_end - pd.Timedelta(days=31)
    gas = henry_hub_price(hh_start, hh_end) * gas_price_scale + float(gas_basis_usd_per_mmbtu)
    if not (np.isfinite(gas) and gas > 0):
        raise ValueError(f"gas_basis_usd_per_mmbtu={gas_basis_usd_per_mmbtu!r} is invalid: the delivered gas price "
                         f"({gas:.2f} $/MMBtu) must stay > 0")
    df = _plants()
    if in_service_only:
        df = df[df["status"] == 1]
    sel = select_plants(df.assign(status=1), states=region.states, zones=region.zones,
                        interconnects=region.interconnects)
    group = sel["type"].map(lambda t: FUEL_GROUP.get(TYPE_FUEL.get(t) or "", ""))
    keep = group.isin(DISPATCHED_GROUPS)
    if footprint is not None:
        bad = {k: v for k, v in footprint.items() if k not in FOOTPRINT_MARGIN or not (np.isfinite(v) and v >= 0)}
        if bad:
            k, v = next(iter(bad.items()))
            raise ValueError(f"footprint[{k!r}]={v!r} is invalid: allowed keys {sorted(FOOTPRINT_MARGIN)} with "
                             "finite MW >= 0")
        keep &= ~group.isin([k for k, v in footprint.items() if v <= 0.0])
    sel = sel[keep]
    fleet = fleet_from_plants(sel, fuel_price_usd_per_mmbtu={"gas": gas},
                              fuel_price_scale={"coal": coal_price_scale},
                              pmin_scale=pmin_scale, name_prefix=ba.lower(), cost_model=cost_model)
    if footprint is not None:
        grp = np.array([FUEL_GROUP.get(f, "") for f in fleet.fuel])
        scale = np.ones(fleet.n_units)
        for k, target in footprint.items():
            units = grp == k
            have = float(fleet.capacity_mw[units].sum())
            if 0.0 < target < have:
                scale[units] = target / have
        fleet = fleet.scaled(scale)
    return fleet


def index_coal_to_gas(fleet: FleetParams, k: float) -> FleetParams:
    """``fleet`` with its coal units' fuel priced at ``k`` times the gas units' fuel price
    (and following the daily gas price as they do: ``gas_indexed``).

    Why: in 2022 coal plants ran well below what their delivered coal cost implied (rail
    and stockpile limits made operators conserve coal, pricing it at its opportunity cost),
    and their output followed load (EIA-930 2022 fit half: hourly correlation of coal output
    with thermal load 0.85 in MISO, 0.78 in SOCO). At its table price (about a third of the gas
    price per MMBtu) coal is flat base load; at a fixed higher price the whole coal block
    switches with each day's gas price. Indexed to gas, coal units keep their place among
    the gas units whatever the gas price, and the ones in the shoulder of the stack follow
    load. Each coal unit keeps its heat rate (``b`` / its table fuel price) and emission
    factor; ``a``, ``c`` and the start cost's fuel part scale with the fuel price."""
    if not (np.isfinite(k) and 0.05 <= k <= 5.0):
        raise ValueError(f"coal_gas_index={k!r} is invalid: allowed 0.05 <= value <= 5")
    fuel = np.array(fleet.fuel)
    coal, gas = fuel == "coal", fleet.gas_units() & (fuel == "gas")
    if not coal.any():
        return fleet
    if not gas.any():
        raise ValueError("index_coal_to_gas: the fleet has no gas unit with a known fuel price to index coal to")
    if (fleet.fuel_price_usd_per_mmbtu[coal] <= 0).any():
        raise ValueError("index_coal_to_gas: a coal unit has no recorded fuel price (fuel_price_usd_per_mmbtu = 0)")
    gas_ref = float(fleet.fuel_price_usd_per_mmbtu[gas].mean())
    r = np.where(coal, k * gas_ref / np.where(coal, fleet.fuel_price_usd_per_mmbtu, 1.0), 1.0)
    vom = fleet.vom_usd_per_mwh
    return fleet.replace(cost_a_usd_per_mw2h=fleet.cost_a_usd_per_mw2h * r,
                         cost_b_usd_per_mwh=vom + (fleet.cost_b_usd_per_mwh - vom) * r,
                         cost_c_usd_per_h=fleet.cost_c_usd_per_h * r, startup_cost_usd=fleet.startup_cost_usd * r,
                         fuel_price_usd_per_mmbtu=np.where(coal, gas_ref, fleet.fuel_price_usd_per_mmbtu),
                         gas_indexed=fleet.gas_indexed | coal)


def calibrated_fleet(ba: str, year: int = 2022, **kw) -> FleetParams:
    """The fleet ``gridshift calibrate`` validates, as the real-data scenarios run it: the
    region's fleet narrowed to the BA's January-June footprint (:func:`footprint_capacity`),
    gas at Henry Hub plus the fitted :data:`GAS_BASIS_USD_PER_MMBTU`, and coal indexed to gas
    at the fitted :data:`COAL_GAS_INDEX` (:func:`index_coal_to_gas`). ``kw`` go to
    :func:`region_fleet` (and may override the basis)."""
    check_ba(ba)
    kw = {"gas_basis_usd_per_mmbtu": GAS_BASIS_USD_PER_MMBTU[ba]} | kw
    fleet = region_fleet(ba, year=year, footprint=footprint_capacity(ba, f"{year}-01-01", f"{year}-07-01", year),
                         **kw)
    if ba in COAL_GAS_INDEX:
        fleet = index_coal_to_gas(fleet, COAL_GAS_INDEX[ba])
    return fleet
