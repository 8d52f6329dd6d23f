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

import numpy as np

from gridshift.envs.grid.types import ParamError

#: Maximum deferral (hours) per class E0..E3 for the two presets of DESIGN §4.
ELASTICITY_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "elasticity_tiers": (0.0, 5.0 / 60.0, 2.0, 24.0),  # EM §IV table
    "em_job_mix": (0.0, 2.0, 12.0, 48.0),  # EM §III job generation
}
ACTION_MODES = ("discrete", "multidiscrete", "box")
REWARD_MODES = ("selfish", "cooperative", "mixed")
N_CLASSES = 4
#: Real job traces a scenario's DCs may replay instead of the synthetic generator ("" = synthetic).
WORKLOAD_TRACES = ("", "alibaba_gpu_2023", "azure_llm_2023", "google_2011", "philly")


def _in(name, v, lo, hi, *, lo_open=False, hi_open=False, integer=False):
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if ok and integer:
        ok = float(v).is_integer()
    if ok:
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        lb = "(" if lo_open else "["
        rb = ")" if hi_open else "]"
        kind = "an integer" if integer else "a number"
        raise ParamError(f"scenario field {name}={v!r} is invalid: allowed {kind} in {lb}{lo}, {hi}{rb}")


_TUPLE_FIELDS = ("dc_utc_offsets_h", "job_mix", "job_duration_h", "job_power_frac", "diurnal_amplitude",
                 "forecast_horizons_h")


def _is_real(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _coerce_fields(sc) -> None:
    """Bring every field to its declared type before validation: integer-valued floats and NumPy
    scalars become the ints or floats they are (``horizon_steps=48.0``, ``np.int64(8)``), lists
    become tuples of floats; anything else of the wrong type (``fleet=123``, ``None`` in
    ``job_mix``, a list for an enum) fails here, naming the field, the value and the type allowed."""
    for f in dataclasses.fields(sc):
        v = getattr(sc, f.name)
        kind = str(f.type)
        if f.name in _TUPLE_FIELDS:
            if isinstance(v, np.ndarray):
                v = v.tolist()
            if not isinstance(v, (list, tuple)):
                raise ParamError(f"scenario field {f.name}={v!r} is invalid: allowed a list of numbers")
            for i, x in enumerate(v):
                if not _is_real(x):
                    raise ParamError(f"scenario field {f.name}[{i}]={x!r} is invalid: allowed a number")
            v = tuple(float(x) for x in v)
        elif kind == "int":
            if _is_real(v) and float(v).is_integer():
                v = int(v)
            elif not _is_real(v):
                raise ParamError(f"scenario field {f.name}={v!r} is invalid: allowed an integer")
        elif kind == "float":
            if not _is_real(v):
                raise ParamError(f"scenario field {f.name}={v!r} is invalid: allowed a number")
            v = float(v)
        elif kind == "bool":
            if isinstance(v, np.bool_):
                v = bool(v)
            if not isinstance(v, bool):
                raise ParamError(f"scenario field {f.name}={v!r} is invalid: allowed true or false")
        elif kind == "str":
            if not isinstance(v, str):
                raise ParamError(f"scenario field {f.name}={v!r} is invalid: allowed a string")
        object.__setattr__(sc, f.name, v)


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
    peak_demand_mw: float = 60000.0
    """Peak of the exogenous non-DC demand (MW)."""
    solar_capacity_mw: float = 8000.0
    """Solar availability at the profile's annual maximum (MW)."""
    wind_capacity_mw: float = 20000.0
    """Wind availability at the profile's annual maximum (MW)."""
    grid_data: str = ""
    """Real exogenous profiles ``BA:YEAR`` (e.g. ``ERCO:2022``) built from EIA-930 in the data
    directory (``$GRIDSHIFT_DATA`` or ``../shared/data``); empty = the packaged typical-day profiles.
    Each episode replays a window of the real year starting at local midnight of a day drawn from
    the seed (within ``month`` when set). Demand is the residual load (demand - hydro - nuclear -
    net imports, see :mod:`gridshift.data.scenario_builder`), scaled so that its annual peak is
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
    ordc_mu_mw: float = 3000.0
    ordc_sigma_mw: float = 1500.0
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
    emergency_penalty_usd_per_mwh: float = 2000.0
    """Penalty per MWh above the ordered level (non-compliance)."""
    forecast_horizons_h: tuple[float, ...] = (1.0, 2.0, 4.0, 6.0)
    """Forecast horizons of the renewable-fraction and price forecasts (EM §IV: 4-6 h)."""
    forecast_noise: float = 0.04
    """Relative forecast error per hour of horizon (standard deviation)."""
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
    max_jobs_per_dc: int = 0
    """Job-slot capacity per DC and episode; 0 sizes it from the expected arrivals."""

    def __post_init__(self) -> None:
        _coerce_fields(self)
        _in("step_minutes", self.step_minutes, 1, 60)
        _in("horizon_steps", self.horizon_steps, 1, 100_000, integer=True)
        _in("warmup_steps", self.warmup_steps, 0, 100_000, integer=True)
        _in("month", self.month, 0, 12, integer=True)
        _in("fleet_capacity_scale", self.fleet_capacity_scale, 0.1, 10)
        _in("peak_demand_mw", self.peak_demand_mw, 1, 1e7)
        _in("solar_capacity_mw", self.solar_capacity_mw, 0, 1e7)
        _in("wind_capacity_mw", self.wind_capacity_mw, 0, 1e7)
        _in("exogenous_noise", self.exogenous_noise, 0, 5)
        _in("gas_price_scale", self.gas_price_scale, 0.05, 20)
        _in("coal_price_scale", self.coal_price_scale, 0.05, 20)
        _in("voll_usd_per_mwh", self.voll_usd_per_mwh, 0, 1e6, lo_open=True)
        _in("floor_price_usd_per_mwh", self.floor_price_usd_per_mwh, -self.voll_usd_per_mwh, 0)
        _in("ordc_mu_mw", self.ordc_mu_mw, 0, 1e6)
        _in("ordc_sigma_mw", self.ordc_sigma_mw, 0, 1e6, lo_open=True)
        _in("carbon_price_usd_per_t", self.carbon_price_usd_per_t, 0, 10_000)
        _in("n_datacenters", self.n_datacenters, 1, 100_000, integer=True)
        _in("penetration", self.penetration, 0, 2, lo_open=True)
        _in("dc_size_spread", self.dc_size_spread, 0, 2)
        _in("pue", self.pue, 1, 3)
        _in("idle_power_frac", self.idle_power_frac, 0, 0.95)
        _in("target_utilization", self.target_utilization, 0.01, 1.0)
        if not self.dc_utc_offsets_h:
            raise ParamError("scenario field dc_utc_offsets_h=() is invalid: allowed a non-empty list of UTC offsets in [-12, 14]")
        for i, o in enumerate(self.dc_utc_offsets_h):
            _in(f"dc_utc_offsets_h[{i}]", o, -12, 14)
        _in("grid_utc_offset_h", self.grid_utc_offset_h, -12, 14)
        _in("battery_hours", self.battery_hours, 0, 24)
        _in("battery_power_frac", self.battery_power_frac, 0, 1, lo_open=True)
        _in("battery_efficiency", self.battery_efficiency, 0.5, 1)
        if self.elasticity_preset not in ELASTICITY_PRESETS:
            raise ParamError(f"scenario field elasticity_preset={self.elasticity_preset!r} is invalid: allowed one of {tuple(ELASTICITY_PRESETS)}")
        for k in ("job_mix", "job_duration_h", "job_power_frac", "diurnal_amplitude"):
            v = getattr(self, k)
            if len(v) != N_CLASSES:
                raise ParamError(f"scenario field {k}={list(v)!r} is invalid: allowed exactly {N_CLASSES} values (E0..E3)")
        for i, x in enumerate(self.job_mix):
            _in(f"job_mix[{i}]", x, 0, 1)
        if abs(sum(self.job_mix) - 1.0) > 1e-6:
            raise ParamError(f"scenario field job_mix={list(self.job_mix)!r} is invalid: allowed shares that sum to 1")
        for i, x in enumerate(self.job_duration_h):
            _in(f"job_duration_h[{i}]", x, 0, 24 * 14, lo_open=True)
        for i, x in enumerate(self.job_power_frac):
            _in(f"job_power_frac[{i}]", x, 0, 1, lo_open=True)
        for i, x in enumerate(self.diurnal_amplitude):
            _in(f"diurnal_amplitude[{i}]", x, 0, 1)
        _in("job_duration_sigma", self.job_duration_sigma, 0, 3)
        _in("job_power_sigma", self.job_power_sigma, 0, 3)
        _in("weekend_factor", self.weekend_factor, 0, 5)
        _in("e3_checkpoint_overhead_steps", self.e3_checkpoint_overhead_steps, 0, 100, integer=True)
        _in("late_penalty_usd_per_mwh", self.late_penalty_usd_per_mwh, 0, 1e6)
        _in("drop_penalty_usd_per_mwh", self.drop_penalty_usd_per_mwh, 0, 1e6)
        _in("dr_price_usd_per_mwh", self.dr_price_usd_per_mwh, 0, 10_000)
        _in("dr_reserve_threshold_mw", self.dr_reserve_threshold_mw, 0, 1e6)
        _in("dr_lead_steps", self.dr_lead_steps, 0, 1000, integer=True)
        _in("dr_duration_steps", self.dr_duration_steps, 1, 1000, integer=True)
        _in("emergency_reserve_threshold_mw", self.emergency_reserve_threshold_mw, 0, 1e6)
        _in("emergency_fraction", self.emergency_fraction, 0, 1)
        _in("emergency_duration_steps", self.emergency_duration_steps, 1, 1000, integer=True)
        _in("emergency_penalty_usd_per_mwh", self.emergency_penalty_usd_per_mwh, 0, 1e6)
        if not self.forecast_horizons_h:
            raise ParamError("scenario field forecast_horizons_h=() is invalid: allowed a non-empty list of hours in (0, 48]")
        if len(set(self.forecast_horizons_h)) != len(self.forecast_horizons_h):
            raise ParamError(f"scenario field forecast_horizons_h={list(self.forecast_horizons_h)!r} is invalid: "
                             "allowed distinct hours (each horizon is one observation field)")
        for i, h in enumerate(self.forecast_horizons_h):
            _in(f"forecast_horizons_h[{i}]", h, 0, 48, lo_open=True)
        _in("forecast_noise", self.forecast_noise, 0, 1)
        _in("signal_delay_steps", self.signal_delay_steps, 0, 96, integer=True)
        _in("anomaly_prob", self.anomaly_prob, 0, 1)
        _in("collapse_rate_per_day", self.collapse_rate_per_day, 0, 24)
        _in("collapse_depth", self.collapse_depth, 0, 1)
        _in("collapse_duration_steps", self.collapse_duration_steps, 1, 1000, integer=True)
        if self.workload_trace not in WORKLOAD_TRACES:
            raise ParamError(f"scenario field workload_trace={self.workload_trace!r} is invalid: allowed one of {WORKLOAD_TRACES}")
        if self.grid_data and not (isinstance(self.grid_data, str) and len(self.grid_data.split(":")) == 2
                                   and self.grid_data.split(":")[1].isdigit()):
            raise ParamError(f"scenario field grid_data={self.grid_data!r} is invalid: allowed '' or 'BA:YEAR' such as 'ERCO:2022'")
        if self.grid_data:
            from gridshift.data.scenario_builder import BA_REGIONS

            ba = self.grid_data.split(":")[0].upper()
            if ba not in BA_REGIONS:
                raise ParamError(f"scenario field grid_data={self.grid_data!r} is invalid: allowed BA one of {sorted(BA_REGIONS)}")
            if 60.0 % self.step_minutes != 0:
                raise ParamError(f"scenario field step_minutes={self.step_minutes!r} is invalid with grid_data (hourly data): "
                                 "allowed a divisor of 60")
        if self.fleet == "powersimdata" and not self.grid_data:
            raise ParamError("scenario field fleet='powersimdata' is invalid without grid_data: allowed with grid_data='BA:YEAR'")
        if self.action_mode not in ACTION_MODES:
            raise ParamError(f"scenario field action_mode={self.action_mode!r} is invalid: allowed one of {ACTION_MODES}")
        if self.reward_mode not in REWARD_MODES:
            raise ParamError(f"scenario field reward_mode={self.reward_mode!r} is invalid: allowed one of {REWARD_MODES}")
        _in("reward_mix", self.reward_mix, 0, 1)
        # Below $0.001 per reward unit a system-wide social cost overflows float32 rewards.
        _in("reward_scale_usd", self.reward_scale_usd, 1e-3, 1e9)
        _in("max_jobs_per_dc", self.max_jobs_per_dc, 0, 10_000_000, integer=True)
        for k in ("sla_guard", "dr_enabled", "emergency_enabled", "backlog_terminal_value", "carbon_in_dispatch"):
            if not isinstance(getattr(self, k), bool):
                raise ParamError(f"scenario field {k}={getattr(self, k)!r} is invalid: allowed true or false")

    # ------------------------------------------------------------- derived quantities
    @property
    def steps_per_day(self) -> int:
        return int(round(24 * 60 / self.step_minutes))

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
