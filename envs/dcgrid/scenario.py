"""Scenarios: every knob of ``datacenter_grid_v0`` as one typed, validated dataclass.

A scenario is loaded from a TOML file in ``gridshift/data/scenarios/`` (``default.toml`` and
the suite of DESIGN §9) and then overridden by keyword: ``parallel_env(scenario="default",
n_datacenters=16)``. An unknown key or an out-of-range value fails at load time with the
field name, the value and the allowed range. Derived quantities (DC sizes, job rates) are
computed in functions from the scenario, never stored in it, so they cannot go stale.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from gridshift.envs.dcgrid.scenario_check import validate
from gridshift.envs.grid.types import ParamError

#: Maximum deferral (hours) per class E0..E3 for the two presets of DESIGN §4.
ELASTICITY_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "elasticity_tiers": (0.0, 5.0 / 60.0, 2.0, 24.0),  # EM §IV table
    "em_job_mix": (0.0, 2.0, 12.0, 48.0),  # EM §III job generation
}
ACTION_MODES = ("discrete", "multidiscrete", "box")
FLEET_ADEQUACY = ("fixed", "scaled")
EMERGENCY_RULES = ("hysteresis", "fixed")
SIGNAL_FEEDBACK = ("closed", "open")
GRID_BACKENDS = ("copper_plate", "network")
NETWORK_CASES = ("rts_gmlc", "ieee30")
REWARD_MODES = ("selfish", "cooperative", "mixed")
REWARD_DESIGNS = ("equal_share", "difference")
N_CLASSES = 4
#: Balancing authorities ``grid_data`` may name (the regions of :mod:`gridshift.data.scenario_builder`;
#: a test keeps the two lists equal).
GRID_DATA_BAS = ("AZPS", "BPAT", "CISO", "ERCO", "MISO", "NYIS", "PJM", "SOCO")
#: Real job traces a scenario's DCs may replay instead of the synthetic generator ("" = synthetic).
WORKLOAD_TRACES = ("", "alibaba_gpu_2023", "azure_llm_2023", "google_2011", "philly")


@dataclass(frozen=True)
class Scenario:
    """All scenario knobs. Units are in the names; each field is also a keyword override."""

    name: str = "default"
    """Scenario name (recorded in every result file)."""

    # ---- time (DESIGN §2)
    step_minutes: float = 15.0
    """Length of one step (minutes)."""
    horizon_steps: int = 288
    """Episode length in steps (288 x 15 min = 3 days); all agents truncate together."""
    warmup_steps: int = 96
    """Steps simulated with a FIFO policy before the episode starts (not returned to agents)."""
    month: int = 0
    """Month of the exogenous profiles (1-12); 0 draws one per episode from the seed."""

    # ---- grid (DESIGN §3)
    fleet: str = "synthetic"
    """``synthetic`` (the default ~60 GW system), ``powersimdata`` (the dispatchable powersimdata fleet
    of the ``grid_data`` BA's region, gas at the year's Henry Hub mean; needs ``grid_data``) or a path
    to a fleet CSV (gridshift format)."""
    fleet_capacity_scale: float = 1.0
    """Multiplies every fleet capacity (a tighter or looser system)."""
    fleet_adequacy: str = "fixed"
    """``fixed``: the fleet is what ``fleet`` and ``fleet_capacity_scale`` give, whatever the DC
    load (adding DCs tightens the system). ``scaled``: thermal capacity (and minimum output and
    ramp rates) is further multiplied by ``1 + penetration``, the ratio of the peak load with the
    DCs (``peak_demand_mw x (1 + penetration)``, DCs at peak facility power) to the peak without
    them, so the planning reserve margin ``capacity / peak load - 1`` of the no-DC system is kept
    at every penetration (adequacy held fixed)."""
    peak_demand_mw: float = 60000.0
    """Peak of the exogenous non-DC demand (MW)."""
    solar_capacity_mw: float = 8000.0
    """Solar availability at the profile's annual maximum (MW)."""
    wind_capacity_mw: float = 20000.0
    """Wind availability at the profile's annual maximum (MW)."""
    grid_backend: str = "copper_plate"
    """``copper_plate``: one system price (every DC sees the same signals). ``network``: a
    DC optimal power flow on the transmission network of ``network_case``
    (:mod:`gridshift.envs.grid.network`: PTDF, line limits, the same cost model, ramps and
    commitment); each DC sits at a bus, pays and observes that bus's LMP and marginal carbon
    intensity (``local_price``, ``local_marginal_ci`` in the observation)."""
    network_case: str = "rts_gmlc"
    """With ``grid_backend = "network"``: ``rts_gmlc`` (73 buses, 3 areas, 120 branches, its fleet
    and the 2020 regional load, solar and wind profiles) or ``ieee30`` (TSCO's IEEE 30-bus case,
    the synthetic typical-day profiles scaled to its peak). Needs the real-data directory."""
    dc_buses: tuple[str, ...] = ()
    """With a network: the bus of each DC (ids of the case, one per DC); empty = the case's
    defaults (:data:`gridshift.data.network_cases.DEFAULT_DC_BUSES`, cycled). The DCs then keep
    the time zone of their bus (``dc_utc_offsets_h`` is not used)."""
    grid_data: str = ""
    """Real exogenous profiles ``BA:YEAR`` (e.g. ``ERCO:2022``) built from EIA-930 in the data
    directory (``$GRIDSHIFT_DATA`` or ``../shared/data``); empty = the packaged typical-day profiles.
    Each episode replays a window of the real year starting at local midnight of a day drawn from
    the seed (within ``month`` when set). Demand is the residual load (demand - hydro - nuclear -
    EIA's "other" - net imports, see :mod:`gridshift.data.scenario_builder`), scaled so that its annual peak is
    ``peak_demand_mw``; solar and wind are scaled so that their annual maxima are
    ``solar_capacity_mw`` / ``wind_capacity_mw``. ``exogenous_noise`` is not applied (real data)."""
    gas_price_scale: float = 1.0
    """With ``fleet = "powersimdata"``: multiplies the Henry Hub gas price (delivered-price basis;
    fitted by ``gridshift calibrate``)."""
    coal_price_scale: float = 1.0
    """With ``fleet = "powersimdata"``: multiplies the plant table's coal fuel cost."""
    exogenous_noise: float = 1.0
    """Scale of the seeded AR(1) noise on demand and renewables, in profile standard deviations."""
    voll_usd_per_mwh: float = 5000.0
    floor_price_usd_per_mwh: float = -20.0
    ordc_mu_frac: float = 0.01
    """Mean of the ORDC's loss-of-load distribution of reserve, as a fraction of
    ``peak_demand_mw`` (order of ERCOT's figures; scarcity is sized to the system)."""
    ordc_sigma_frac: float = 0.02
    """Standard deviation of the ORDC's loss-of-load distribution, a fraction of ``peak_demand_mw``."""
    min_contingency_frac: float = 0.0375
    """Minimum contingency reserve, a fraction of ``peak_demand_mw`` (ERCOT: about 3,000 MW of an
    80 GW peak): at or below it the price is VOLL."""
    unit_commitment: bool = True
    """Commit thermal units once per simulated day against the day-ahead forecast of load (without
    the DCs' response, as an operator would), then dispatch only committed units (plus fast-start
    peakers) each step with their minimum output, minimum up/down times, start-up costs and
    ramp limits (:mod:`gridshift.envs.grid.commitment`, a priority list within 2-3 % of the
    HiGHS MILP). False: every unit is always online."""
    gas_price_daily: bool = False
    """With ``grid_data``: gas-fired units follow the daily Henry Hub price plus the BA's basis
    (:data:`gridshift.data.gas_prices.GAS_BASIS_USD_PER_MMBTU`); False: a constant gas
    price. Not available for the synthetic profiles, which have no dates."""
    carbon_price_usd_per_t: float = 50.0
    carbon_in_dispatch: bool = True
    """Units offer at fuel cost + ``carbon_price_usd_per_t`` x emission factor, so the merit order
    and the clearing price follow the marginal *social* cost (a carbon-priced market, e.g. RGGI or
    the EU ETS). False: offers are fuel cost only (an unpriced-carbon market such as ERCOT's) while
    social cost still counts carbon, so price and marginal social cost can point different ways.
    The real-data scenarios set it false, as their markets do."""

    # ---- data centers (DESIGN §4)
    n_datacenters: int = 8
    """Number of DC agents."""
    penetration: float = 0.12
    """Total DC peak facility power as a share of peak non-DC demand (TSCO: 0.044 in 2023, 0.12 in 2028)."""
    dc_size_spread: float = 0.3
    """Log-normal sigma of DC sizes around the mean (0 = identical DCs); sizes are renormalised to the penetration."""
    pue: float = 1.2
    """Power usage effectiveness (facility / IT power)."""
    idle_power_frac: float = 0.3
    """IT idle power as a share of IT peak power (TSCO eq. 9)."""
    target_utilization: float = 0.55
    """Mean dynamic utilisation the workload generator is sized for."""
    dc_utc_offsets_h: tuple[float, ...] = (-6.0, -5.0, -7.0, -8.0)
    """Local time zones of the DCs (cycled over agents); workload follows local time."""
    grid_utc_offset_h: float = -6.0
    """Time zone of the grid's profiles (ERCO: US Central)."""
    battery_hours: float = 0.0
    """Battery energy per MW of IT capacity (MWh/MW); 0 disables the battery action."""
    battery_power_frac: float = 0.25
    """Battery power rating as a share of IT capacity."""
    battery_efficiency: float = 0.92
    """One-way efficiency (charge and discharge), TSCO eq. 2."""
    geo_shift: bool = False
    """Geo-shifting (:mod:`gridshift.envs.dcgrid.geo`): the action gains a component ``shift`` in
    [0, 1], the share of the DC's queued E2/E3 work it offers to move; the environment routes
    each offered job to the cheapest DC (price + carbon), least loaded among equals."""
    geo_transfer_delay_h: float = 0.5
    """Hours a moved job spends in transit (checkpoint upload, transfer, re-queue) before it can
    start at its target; it keeps its deadline."""
    geo_transfer_energy_frac: float = 4e-4
    """Network energy of a move, per MWh of the job's remaining compute energy: about 100 GB of
    job state per MWh of compute (a large training checkpoint with optimizer state) times
    0.004 kWh/GB, the 0.06 kWh/GB that Aslan et al. (2018, J. Industrial Ecology 22(4),
    "Electricity intensity of internet data transmission") measured for 2015, halving every two
    years as they found, to 2023. Charged to the source's grid load in the step of the move."""

    # ---- jobs (DESIGN §4)
    workload_trace: str = ""
    """Replay a real job trace (one of ``WORKLOAD_TRACES``, mapped to E0-E3 and scaled to each DC)
    instead of the synthetic generator; empty = synthetic."""
    elasticity_preset: str = "em_job_mix"
    """Maximum deferral per class: ``elasticity_tiers`` (EM §IV) or ``em_job_mix`` (EM §III)."""
    job_mix: tuple[float, ...] = (0.15, 0.35, 0.30, 0.20)
    """Share of compute energy per class E0..E3 (EM §III)."""
    job_duration_h: tuple[float, ...] = (0.25, 0.5, 2.0, 8.0)
    """Median job duration per class (hours), log-normal."""
    job_duration_sigma: float = 0.6
    job_power_frac: tuple[float, ...] = (0.02, 0.02, 0.03, 0.08)
    """Median job power per class as a share of the DC's dynamic IT capacity, log-normal."""
    job_power_sigma: float = 0.5
    diurnal_amplitude: tuple[float, ...] = (0.5, 0.4, 0.2, 0.1)
    """Relative amplitude of the local-time diurnal arrival cycle per class (peak mid-afternoon)."""
    weekend_factor: float = 0.8
    """Arrival-rate multiplier on local weekends."""
    e3_checkpoint_overhead_steps: int = 1
    """Extra steps of work added to an E3 job each time it is preempted."""
    sla_guard: bool = True
    """Start a queued job regardless of the agent once its slack reaches zero."""
    late_penalty_usd_per_mwh: float = 200.0
    """SLA penalty per MWh of a job completed after its deadline."""
    drop_penalty_usd_per_mwh: float = 1000.0
    """SLA penalty per MWh of a dropped job."""
    backlog_terminal_value: bool = True
    """At truncation, charge each agent's final reward with an estimate of what settling its
    unfinished work will cost (DESIGN §12; :func:`gridshift.envs.dcgrid.core.backlog_value`), so a
    policy never gains reward by leaving work undone at the horizon. False = the horizon's
    rewards only (work left queued at the end is free)."""

    # ---- grid-operator signals (DESIGN §5)
    dr_enabled: bool = True
    dr_price_usd_per_mwh: float = 150.0
    """Payment per MWh below the customer baseline during a DR event (EM §IV: 50-300)."""
    dr_reserve_threshold_mw: float = 7000.0
    """A DR event is announced when forecast reserve falls below this."""
    dr_lead_steps: int = 4
    dr_duration_steps: int = 8
    emergency_enabled: bool = True
    emergency_reserve_threshold_mw: float = 2000.0
    """An emergency curtailment order is issued when reserve falls below this."""
    emergency_fraction: float = 0.7
    """Ordered DC load as a share of its baseline."""
    emergency_duration_steps: int = 4
    """``fixed`` rule: steps an order stays in force; ``hysteresis`` rule: the minimum hold."""
    emergency_rule: str = "hysteresis"
    """``hysteresis`` (default): an order is issued when reserve falls below
    ``emergency_reserve_threshold_mw``, held for at least ``emergency_duration_steps`` and until
    reserve recovers above that threshold plus ``emergency_release_margin_mw``, then the cap is raised linearly back
    to the baseline over ``emergency_release_steps`` (a new order is issued if reserve falls below
    the issue threshold during the ramp). ``fixed`` (the first round's rule): in force for exactly
    ``emergency_duration_steps`` and re-issued whenever reserve is still below the threshold,
    which releases every DC at once and can itself make a limit cycle."""
    emergency_release_margin_mw: float = 2000.0
    """``hysteresis`` rule: a held order starts its release ramp once reserve is above
    ``emergency_reserve_threshold_mw`` plus this margin."""
    emergency_release_steps: int = 4
    """``hysteresis`` rule: steps of the linear release ramp of the cap."""
    emergency_penalty_usd_per_mwh: float = 2000.0
    """Penalty per MWh above the ordered level (non-compliance)."""
    forecast_horizons_h: tuple[float, ...] = (1.0, 2.0, 4.0, 6.0)
    """Forecast horizons of the renewable-fraction and price forecasts (EM §IV: 4-6 h)."""
    forecast_noise: float = 0.04
    """Relative forecast error per hour of horizon (standard deviation)."""
    forecast_noise_corr_h: float = 6.0
    """Correlation time (hours) of the forecast-error path: each episode draws one AR(1) path
    over target times per forecast signal, so successive forecasts of the same hour move
    smoothly as the lead shrinks instead of flipping on fresh noise every step."""
    signal_feedback: str = "closed"
    """``closed``: the agents observe the grid that clears on the real load, their own included.
    ``open`` (a counterfactual for the cascade study): every grid signal the agents observe
    (price, renewable share, carbon, demand, reserve, hence forecasts' anchors and the demand
    ring) comes from a shadow grid cleared on the same seed's exogenous inputs with the FIFO DC
    load path; the physical grid, bills, emergency orders and every metric still clear on the
    real load. With FIFO both give identical trajectories."""
    load_loss_at_h: float = -1.0
    """Forced drop-and-return event (e.g. Virginia, 10 July 2024): hours after the horizon's
    start at which every DC moves to backup generation (its grid draw becomes 0; its jobs
    continue). Negative = no event."""
    load_loss_duration_h: float = 1.0
    """Hours the DCs stay on backup before they start returning."""
    load_loss_return_window_h: float = 0.0
    """0 = every DC returns to the grid in the same step; > 0 = the DCs return one after another,
    evenly spread over this many hours (DC ``i`` of ``N`` after ``i / (N - 1)`` of the window)."""
    signal_delay_steps: int = 0
    """Telemetry delay of the grid signals the agents observe."""
    anomaly_prob: float = 0.0
    """Per-step probability that the observed grid signals are anomalous (EM §IV.6)."""
    collapse_rate_per_day: float = 0.0
    """Expected renewable-collapse events per day."""
    collapse_depth: float = 0.8
    """Fraction of wind or solar lost in a collapse."""
    collapse_duration_steps: int = 8

    # ---- agent interface (DESIGN §6)
    action_mode: str = "discrete"
    reward_mode: str = "mixed"
    reward_mix: float = 0.5
    """Weight of the cooperative term in ``mixed`` mode (0 = selfish, 1 = cooperative)."""
    reward_scale_usd: float = 1000.0
    """Rewards are dollars divided by this."""
    reward_design: str = "equal_share"
    """How the two reward terms are priced. ``equal_share`` (the first round's): selfish = the
    DC's bill + carbon cost at the average intensity + SLA and emergency penalties - DR revenue;
    cooperative = the whole system's social cost (fuel + VOLL x unserved + carbon + every DC's
    penalties) / N, which exogenous demand dominates. ``difference``: selfish = the DC's load
    priced at the marginal social cost (the price when ``carbon_in_dispatch``, else price +
    carbon price x marginal intensity) + its penalties - DR revenue; cooperative = the DC's own
    contribution, a difference reward: the system's social cost minus the social cost of the
    same step re-cleared without this DC's flexible (E1-E3) load (one extra clearing per DC per
    step). Both exclude every KPI: metrics never read the reward."""
    max_jobs_per_dc: int = 0
    """Job-slot capacity per DC and episode; 0 sizes it from the expected arrivals."""

    def __post_init__(self) -> None:
        validate(self)

    # ------------------------------------------------------------- derived quantities
    @property
    def steps_per_day(self) -> int:
        return int(round(24 * 60 / self.step_minutes))

    @property
    def needs_data(self) -> bool:
        """True when the scenario reads the real-data directory (a BA's year, a job trace or a
        network case)."""
        return bool(self.grid_data or self.workload_trace or self.grid_backend == "network")

    @property
    def step_hours(self) -> float:
        return self.step_minutes / 60.0

    def max_deferral_steps(self) -> tuple[int, ...]:
        return tuple(int(math.ceil(h / self.step_hours - 1e-9)) for h in ELASTICITY_PRESETS[self.elasticity_preset])

    def replace(self, **overrides) -> Scenario:
        return with_overrides(self, overrides)

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v) for f in dataclasses.fields(self)}


_FIELDS = {f.name: f for f in dataclasses.fields(Scenario)}


def cooperative_weight(sc) -> float:
    """Weight of the cooperative term in the reward: 0 (selfish), 1 (cooperative) or ``reward_mix``."""
    return {"selfish": 0.0, "cooperative": 1.0}.get(sc.reward_mode, sc.reward_mix)


def with_overrides(base: Scenario, overrides: dict) -> Scenario:
    """``base`` with ``overrides`` applied; unknown keys fail, listing the allowed ones."""
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise ParamError(f"unknown scenario key(s) {unknown}: allowed keys are {sorted(_FIELDS)}")
    return dataclasses.replace(base, **overrides)


from gridshift.envs.dcgrid.scenario_io import available_scenarios, load_scenario, scenario_dir  # noqa: E402

__all__ = ["Scenario", "load_scenario", "available_scenarios", "scenario_dir", "with_overrides", "ELASTICITY_PRESETS", "field"]
