"""Scenario -> simulator params: the one place that chooses fleets, data and traces.

:func:`make_params` is the only module of the simulator that branches on ``fleet``,
``grid_data`` and ``workload_trace`` and the only one that imports :mod:`gridshift.data`; the
core (:mod:`gridshift.envs.dcgrid.core`) receives what it builds, each part behind a small
protocol:

* the grid backend (:class:`gridshift.envs.grid.backend.GridBackend`): the copper plate over
  the scenario's fleet and market rules, or the network DC-OPF of ``network_case`` with each
  DC at its bus (``grid_backend = "network"``);
* the exogenous generator (:class:`gridshift.envs.dcgrid.generators.ExogenousGenerator`):
  synthetic typical days, or windows of a real BA-year when ``grid_data`` is set;
* the workload generator (:class:`gridshift.envs.dcgrid.generators.WorkloadGenerator`):
  synthetic Poisson arrivals, or a real trace when ``workload_trace`` is set.
"""

from __future__ import annotations

from gridshift.envs.dcgrid import core
from gridshift.envs.dcgrid.scenario import Scenario
from gridshift.envs.dcgrid.workload import SyntheticWorkload, dc_params
from gridshift.envs.grid.backend import CopperPlateBackend
from gridshift.envs.grid.types import FleetParams, GridParams, MarketParams


def fleet_scale(sc: Scenario) -> float:
    """Multiplier of the thermal fleet's capacity, minimum output and ramp rates:
    ``fleet_capacity_scale``, times ``1 + penetration`` when ``fleet_adequacy = "scaled"`` (the
    peak load with the DCs at peak facility power over the peak without them, so the planning
    reserve margin of the no-DC system is kept)."""
    return sc.fleet_capacity_scale * ((1.0 + sc.penetration) if sc.fleet_adequacy == "scaled" else 1.0)


def build_fleet(sc: Scenario) -> FleetParams:
    """The scenario's dispatchable fleet, scaled by :func:`fleet_scale`."""
    s = fleet_scale(sc)
    if sc.fleet == "synthetic":
        from gridshift.data.synthetic import build_fleet as synthetic_fleet

        return synthetic_fleet(capacity_scale=s)
    if sc.fleet == "powersimdata":
        from gridshift.data.region_fleet import calibrated_fleet
        from gridshift.data.scenario_builder import parse_grid_data

        ba, year = parse_grid_data(sc.grid_data)
        # the calibrated fleet (footprint, fitted basis, coal indexed to gas); minimum outputs
        # only bind with a commitment (an always-online fleet would run every plant at its
        # minimum); average heat rates (see region_fleet's cost_model)
        fleet = calibrated_fleet(ba, year, gas_price_scale=sc.gas_price_scale, coal_price_scale=sc.coal_price_scale,
                                 pmin_scale=1.0 if sc.unit_commitment else 0.0, cost_model="average")
    else:
        from gridshift.data.fleets import load_fleet_csv

        fleet = load_fleet_csv(sc.fleet)
    # s identical units side by side: capacity, minimum output, ramp, no-load and start-up costs
    # scale with s; the marginal-cost curve over the scaled range stays the same (a / s)
    return fleet.scaled(s) if s != 1.0 else fleet


def build_grid(sc: Scenario) -> GridParams:
    return GridParams(fleet=build_fleet(sc), market=_market(sc))


def _market(sc: Scenario) -> MarketParams:
    return MarketParams.scaled_to_peak(
        sc.peak_demand_mw,
        ordc_mu_frac=sc.ordc_mu_frac,
        ordc_sigma_frac=sc.ordc_sigma_frac,
        min_contingency_frac=sc.min_contingency_frac,
        step_minutes=sc.step_minutes,
        voll_usd_per_mwh=sc.voll_usd_per_mwh,
        floor_price_usd_per_mwh=sc.floor_price_usd_per_mwh,
        carbon_price_usd_per_t=sc.carbon_price_usd_per_t,
        carbon_in_dispatch=sc.carbon_in_dispatch,
    )


def _workload(sc: Scenario, dcs):
    if sc.workload_trace:
        from gridshift.data.traces_workload import TraceWorkload

        return TraceWorkload(sc, dcs)
    return SyntheticWorkload(sc, dcs)


def _network_params(sc: Scenario) -> core.CoreParams:
    """``grid_backend = "network"``: the case's network and fleet, each DC at its bus with that
    bus's time zone, the case's own profiles (RTS-GMLC) or the typical days scaled to it."""
    from gridshift.data.exogenous import RtsExogenous, SyntheticExogenous
    from gridshift.data.network_cases import load_network_case
    from gridshift.envs.grid.network import NetworkBackend

    case = load_network_case(sc.network_case)
    sites = case.dc_sites(list(sc.dc_buses) or None, n=sc.n_datacenters)
    sc = sc.replace(dc_utc_offsets_h=sites.utc_offset_h)  # the effective scenario: each DC on its bus's clock
    s = fleet_scale(sc)
    fleet = case.fleet.scaled(s) if s != 1.0 else case.fleet
    grid = GridParams(fleet=fleet, market=_market(sc))
    backend = NetworkBackend(grid, case.network, dc_bus=sites.bus_index)
    exogenous = RtsExogenous(sc, case) if case.name == "rts_gmlc" else SyntheticExogenous(sc)
    dcs = dc_params(sc)
    return core.assemble(sc, grid, backend, exogenous, _workload(sc, dcs), dcs=dcs, local_signals=True)


def make_params(sc: Scenario) -> core.CoreParams:
    """Everything static of a scenario's simulator; fails at construction on a missing or
    malformed data file, an unknown BA or trace, or a workload too large to allocate."""
    if sc.grid_backend == "network":
        return _network_params(sc)
    dcs = dc_params(sc)
    workload = _workload(sc, dcs)
    grid = build_grid(sc)
    if sc.grid_data:
        from gridshift.data.exogenous import RealExogenous

        exogenous = RealExogenous(sc)
    else:
        from gridshift.data.exogenous import SyntheticExogenous

        exogenous = SyntheticExogenous(sc)
    return core.assemble(sc, grid, CopperPlateBackend(grid), exogenous, workload, dcs=dcs)
