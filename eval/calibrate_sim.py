"""The simulation side of :mod:`gridshift.eval.calibrate`: clear a BA's real year with the
model as the environment runs it (commitment, daily gas, scaled ORDC, ramp limits), and the
real signals it is compared with.

Settlements (:data:`PRICE_SETTLEMENT`): the real price series of ERCO (ERCOT DAM HB_HUBAVG),
CISO (CAISO DAM TH_NP15) and NYIS (NYISO DAM zone CAPITL) are **day-ahead**; PJM's (zone
DOM) is **real-time**. The day-ahead simulation clears hourly: the units committed against
the day's forecast (:func:`gridshift.envs.grid.commitment.commit_schedule`), hourly ramp
limits. The real-time simulation clears every 15 minutes on the hourly profiles interpolated
linearly, with the same commitment and 15-minute ramp limits; its hourly price is the mean of
the four intervals (an ISO's hourly real-time LMP is the mean of its 5-minute prices). No
day-ahead forecast of load or renewables is in the data, so the commitment sees the actual
hourly profiles (a perfect forecast): the two settlements differ by their time resolution and
ramp limits, not by forecast error.

Market carbon prices (:data:`MARKET_CARBON_USD_PER_T`): offers include the carbon price each
market actually had in 2022 (the model's ``carbon_in_dispatch`` switch, with the market's own
price, not the social cost): California cap-and-trade (CARB quarterly auctions 2022 settled
around $27-31/t: $28), RGGI for New York (2022 auctions $13.00-13.90: $13); none in ERCOT,
MISO, SOCO, Arizona and the Northwest (Washington's program began in 2023). PJM is counted at
0: Virginia, Maryland, Delaware and New Jersey were in RGGI in 2022, but most of PJM's
thermal fleet (Pennsylvania, Ohio, West Virginia, Illinois) was not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridshift.data.gas_prices import GAS_BASIS_USD_PER_MMBTU, daily_gas_price
from gridshift.data.region_fleet import index_coal_to_gas, region_fleet
from gridshift.data.scenario_builder import build_real_grid, check_ba, peaks
from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.commitment import commit_schedule
from gridshift.envs.grid.types import Exogenous, GridParams, MarketParams

#: Settlement of each BA's real price series (data README).
PRICE_SETTLEMENT: dict[str, str] = {"ERCO": "day-ahead", "CISO": "day-ahead", "NYIS": "day-ahead", "PJM": "real-time"}
#: Carbon price in each market's offers in 2022, $/t (module docstring).
MARKET_CARBON_USD_PER_T: dict[str, float] = {"CISO": 28.0, "NYIS": 13.0}
#: Thermal fuels reported by EIA-930 whose output the simulation reports: the fleet dispatches
#: gas, coal and oil; "other" is its real profile, an input like hydro and nuclear
#: (:data:`~gridshift.data.region_fleet.DISPATCHED_GROUPS`).
SIM_FUELS = ("gas", "coal", "oil", "other")
#: Life-cycle emission factors (gCO2eq/kWh) behind the reference intensity: the EIA-930
#: ``avg_CI`` of the shared fuel-mix files is exactly these IPCC AR5 (2014, Annex III)
#: medians times the hourly EIA-930 mix (a least-squares fit of avg_CI on the eight fuels
#: returns them to the unit, r > 0.9999 in every BA): coal 820, gas 490, oil 650,
#: other (biomass) 230, nuclear 12, hydro 24, wind 11, solar 41. The model's own intensity is
#: direct combustion CO2 per unit (``avg_ci_g_per_kwh``), a different convention; the
#: like-for-like comparison applies these factors to the model's fuel mix
#: (``avg_ci_lifecycle_g_per_kwh``).
LIFECYCLE_G_PER_KWH: dict[str, float] = {"coal": 820.0, "gas": 490.0, "oil": 650.0, "other": 230.0, "nuclear": 12.0,
                                         "hydro": 24.0, "wind": 11.0, "solar": 41.0}


def market_for(ba: str, year: int = 2022, step_minutes: float = 60.0, **kw) -> MarketParams:
    """The BA's market rules: ORDC scaled to the annual peak of the load the fleet and the
    renewables serve (:meth:`MarketParams.scaled_to_peak`), and the market's own carbon price
    in the offers."""
    pk = peaks(build_real_grid(ba, year))["residual_demand_mw"]
    carbon = MARKET_CARBON_USD_PER_T.get(ba, 0.0)
    kw = {"carbon_price_usd_per_t": carbon, "carbon_in_dispatch": carbon > 0} | kw
    return MarketParams.scaled_to_peak(pk, step_minutes=step_minutes, **kw)


def simulate(ba: str, year: int, start, end, *, gas_price_scale: float = 1.0, coal_price_scale: float = 1.0,
             gas_basis_usd_per_mmbtu: float | None = None, market: MarketParams | None = None,
             unit_commitment: bool = True, gas_price_daily: bool = True, settlement: str = "day-ahead",
             cost_model: str = "average", thermal_availability: float = 1.0,
             ordc_sigma_frac: float | None = None, footprint: dict[str, float] | None = None,
             coal_availability: float = 1.0, coal_gas_index: float | None = None) -> pd.DataFrame:
    """Clear the BA's grid over ``[start, end)`` (UTC) and return hourly signals: price, energy
    price, scarcity adder, average CI (same generation boundary as EIA: fleet + renewables
    used + real hydro, nuclear and "other"; direct CO2, and with the reference's life-cycle factors
    :data:`LIFECYCLE_G_PER_KWH`), the EIA CI, generation by fuel and that boundary's total
    (``generation_mw``), MW.

    Gas costs ``Henry Hub x gas_price_scale + basis`` (``basis`` default
    :data:`~gridshift.data.gas_prices.GAS_BASIS_USD_PER_MMBTU`), daily when
    ``gas_price_daily`` else the window's mean. ``unit_commitment``: commit against the day's
    profiles (fleet minimum outputs as in the table) or keep every unit online (minimum
    outputs 0, the pre-commitment model). ``thermal_availability``: the share of every unit's
    capacity that is available (forced and planned outages, ambient derates), applied as
    :meth:`FleetParams.scaled`. ``coal_availability``: the same for the coal units only, on
    top of it (outages, derates and, in 2022, fuel-delivery limits that kept coal plants below
    their capacity). ``coal_gas_index``: coal priced at that multiple of the delivered gas
    price (:func:`gridshift.data.region_fleet.index_coal_to_gas`; None = the table's coal
    price times ``coal_price_scale``). ``ordc_sigma_frac``: the ORDC's sigma as a fraction of peak
    (default :data:`~gridshift.envs.grid.types.ORDC_SIGMA_FRAC`). ``cost_model``: see
    :func:`gridshift.data.powersimdata.fleet_from_plants`. ``footprint``: capacity by fuel group
    (:func:`gridshift.data.region_fleet.footprint_capacity`), None = the region's fleet as
    the table has it."""
    for name, v in (("thermal_availability", thermal_availability), ("coal_availability", coal_availability)):
        if not (np.isfinite(v) and 0.3 <= v <= 1.0):
            raise ValueError(f"{name}={v!r} is invalid: allowed 0.3 <= value <= 1")
    if settlement not in ("day-ahead", "real-time"):
        raise ValueError(f"settlement={settlement!r} is invalid: allowed 'day-ahead' or 'real-time'")
    region = check_ba(ba)
    grid = build_real_grid(ba, year)
    step = 60.0 if settlement == "day-ahead" else 15.0
    f = grid.window(start, end, step).interpolate(limit_direction="both")
    if len(f) == 0:
        raise ValueError(f"start={start!r} end={end!r}: empty window")
    basis = GAS_BASIS_USD_PER_MMBTU.get(ba, 0.0) if gas_basis_usd_per_mmbtu is None else float(gas_basis_usd_per_mmbtu)
    fleet = region_fleet(ba, start=f.index[0], end=f.index[-1] + pd.Timedelta(minutes=step), year=year,
                         gas_price_scale=gas_price_scale, coal_price_scale=coal_price_scale,
                         pmin_scale=1.0 if unit_commitment else 0.0, gas_basis_usd_per_mmbtu=basis,
                         cost_model=cost_model, footprint=footprint)
    if coal_gas_index is not None:
        fleet = index_coal_to_gas(fleet, coal_gas_index)
    if thermal_availability != 1.0 or coal_availability != 1.0:
        coal = np.array(fleet.fuel) == "coal"
        fleet = fleet.scaled(thermal_availability * np.where(coal, coal_availability, 1.0))
    if market is None:
        market = market_for(ba, year, step, **({} if ordc_sigma_frac is None else {"ordc_sigma_frac": ordc_sigma_frac}))
    params = GridParams(fleet=fleet, market=market)
    n = len(f)
    dem = np.ascontiguousarray(f["residual_demand_mw"].to_numpy(np.float64))
    av = np.ascontiguousarray((f["solar_mw"] + f["wind_mw"]).to_numpy(np.float64))
    other = f["other_mw"].to_numpy(np.float64)  # EIA's "other": an input, as hydro (scenario_builder docstring)
    hydro_nuclear = (f["hydro_mw"] + f["nuclear_mw"]).to_numpy()
    must = hydro_nuclear + other
    gas = None
    if gas_price_daily:
        local = f.index.tz_convert(region.tz).tz_localize(None)
        gas = np.ascontiguousarray(daily_gas_price(local) * gas_price_scale + basis)
    online = None
    if unit_commitment:
        online = commit_schedule(params, dem[None, :], av[None, :], int(round(1440 / step)), gas_price=gas)[0]
    fuel_idx = {fu: np.flatnonzero(np.array(fleet.fuel) == fu) for fu in set(fleet.fuel)}
    onehot = np.zeros((fleet.n_units, len(SIM_FUELS)))
    for k, fu in enumerate(SIM_FUELS[:3]):  # the fleet's groups (DISPATCHED_GROUPS); "other" is the input
        if fu in fuel_idx:
            onehot[fuel_idx[fu], k] = 1.0
    out = np.empty((n, 7))
    by_fuel = np.empty((n, len(SIM_FUELS)))
    zero = np.zeros(1)
    prev = copper_plate.initial_state(params, Exogenous(dem[:1], av[:1], zero), 0.0,
                                      online=None if online is None else online[:1],
                                      gas_price=None if gas is None else gas[:1]).dispatch_mw
    for i in range(n):
        res = copper_plate.clear_arrays(params, prev, dem[i:i + 1], av[i:i + 1], zero,
                                        None if online is None else online[i:i + 1],
                                        gas_price=None if gas is None else gas[i:i + 1])
        prev = res.dispatch_mw
        gen = res.thermal_mw[0] + res.renewable_used_mw[0] + must[i]
        out[i] = (res.price_usd_per_mwh[0], res.system_lambda_usd_per_mwh[0], res.scarcity_adder_usd_per_mwh[0],
                  1000.0 * res.emissions_t_co2[0] / market.step_hours / gen if gen > 0 else np.nan,
                  res.renewable_used_mw[0], res.reserve_mw[0], res.unserved_mw[0])
        by_fuel[i] = prev[0] @ onehot
    by_fuel[:, 3] = other
    cols = ["price_usd_per_mwh", "energy_price_usd_per_mwh", "scarcity_adder_usd_per_mwh", "avg_ci_g_per_kwh",
            "renewable_used_mw", "reserve_mw", "unserved_mw"]
    sim = pd.DataFrame(out, index=f.index, columns=cols)
    for k, fu in enumerate(SIM_FUELS):
        sim[f"sim_{fu}_mw"] = by_fuel[:, k]
    f_life = LIFECYCLE_G_PER_KWH
    ren_av = av
    k_used = np.divide(out[:, 4], ren_av, out=np.zeros(n), where=ren_av > 0)  # curtailment pro rata
    life = (by_fuel @ np.array([f_life[x] for x in SIM_FUELS]) + f["nuclear_mw"].to_numpy() * f_life["nuclear"]
            + f["hydro_mw"].to_numpy() * f_life["hydro"]
            + k_used * (f["wind_mw"].to_numpy() * f_life["wind"] + f["solar_mw"].to_numpy() * f_life["solar"]))
    gen_all = by_fuel.sum(axis=1) + out[:, 4] + hydro_nuclear  # by_fuel holds "other"
    sim["generation_mw"] = gen_all
    sim["avg_ci_lifecycle_g_per_kwh"] = np.where(gen_all > 0, life / np.where(gen_all > 0, gen_all, 1.0), np.nan)
    if gas is not None:
        sim["gas_price_usd_per_mmbtu"] = gas
    if step != 60.0:
        sim = sim.resample("1h").mean()
    hourly = grid.window(start, end, 60.0).interpolate(limit_direction="both").reindex(sim.index)
    for c in ("avg_ci_eia_g_per_kwh", "hydro_mw", "nuclear_mw", "solar_mw", "wind_mw", "thermal_mw", "gas_mw",
              "coal_mw", "oil_mw", "other_mw", "residual_demand_mw"):
        sim[c] = hourly[c].to_numpy()
    sim.attrs.update(settlement=settlement, step_minutes=step, gas_basis_usd_per_mmbtu=basis,
                     carbon_price_usd_per_t=market.carbon_price_usd_per_t if market.carbon_in_dispatch else 0.0)
    return sim


def real_signals(ba: str, year: int) -> pd.DataFrame:
    """Real hourly price ($/MWh) and Electricity Maps direct CI of the BA, UTC."""
    from gridshift.data.loaders.grid import load_electricitymaps, load_iso_prices

    region = check_ba(ba)
    cols = {}
    if region.price_zone:
        p = load_iso_prices(region.price_zone, year).frame
        cols["price_usd_per_mwh"] = p.iloc[:, 0]
    if region.em_zone:
        try:
            cols["ci_em_g_per_kwh"] = load_electricitymaps(region.em_zone, year).frame["ci_direct_g_per_kwh"]
        except (FileNotFoundError, ValueError):
            pass
    return pd.DataFrame(cols)
