"""Coercion and validation of :class:`~gridshift.envs.dcgrid.scenario.Scenario` fields.

Every check names the field, the value and what is allowed (:class:`ParamError`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from gridshift.envs.grid.types import ParamError


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
        if f.name == "dc_buses":
            if isinstance(v, np.ndarray):
                v = v.tolist()
            if not isinstance(v, (list, tuple)) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
                raise ParamError(f"scenario field dc_buses={v!r} is invalid: allowed a list of bus ids")
            v = tuple(str(x) for x in v)
        elif f.name in _TUPLE_FIELDS:
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


def validate(sc) -> None:
    """Coerce every field to its declared type, then check its range (called by ``Scenario``)."""
    from gridshift.envs.dcgrid import scenario as _sc

    _coerce_fields(sc)
    _in("step_minutes", sc.step_minutes, 1, 60)
    _in("horizon_steps", sc.horizon_steps, 1, 100_000, integer=True)
    _in("warmup_steps", sc.warmup_steps, 0, 100_000, integer=True)
    _in("month", sc.month, 0, 12, integer=True)
    _in("fleet_capacity_scale", sc.fleet_capacity_scale, 0.1, 10)
    _in("peak_demand_mw", sc.peak_demand_mw, 1, 1e7)
    _in("solar_capacity_mw", sc.solar_capacity_mw, 0, 1e7)
    _in("wind_capacity_mw", sc.wind_capacity_mw, 0, 1e7)
    _in("exogenous_noise", sc.exogenous_noise, 0, 5)
    _in("gas_price_scale", sc.gas_price_scale, 0.05, 20)
    _in("coal_price_scale", sc.coal_price_scale, 0.05, 20)
    _in("voll_usd_per_mwh", sc.voll_usd_per_mwh, 0, 1e6, lo_open=True)
    _in("floor_price_usd_per_mwh", sc.floor_price_usd_per_mwh, -sc.voll_usd_per_mwh, 0)
    _in("ordc_mu_frac", sc.ordc_mu_frac, 0, 0.5)
    _in("ordc_sigma_frac", sc.ordc_sigma_frac, 0, 0.5, lo_open=True)
    _in("min_contingency_frac", sc.min_contingency_frac, 0, 0.5)
    _in("carbon_price_usd_per_t", sc.carbon_price_usd_per_t, 0, 10_000)
    _in("n_datacenters", sc.n_datacenters, 1, 100_000, integer=True)
    _in("penetration", sc.penetration, 0, 2, lo_open=True)
    _in("dc_size_spread", sc.dc_size_spread, 0, 2)
    _in("pue", sc.pue, 1, 3)
    _in("idle_power_frac", sc.idle_power_frac, 0, 0.95)
    _in("target_utilization", sc.target_utilization, 0.01, 1.0)
    if not sc.dc_utc_offsets_h:
        raise ParamError("scenario field dc_utc_offsets_h=() is invalid: allowed a non-empty list of UTC offsets in [-12, 14]")
    for i, o in enumerate(sc.dc_utc_offsets_h):
        _in(f"dc_utc_offsets_h[{i}]", o, -12, 14)
    _in("grid_utc_offset_h", sc.grid_utc_offset_h, -12, 14)
    _in("battery_hours", sc.battery_hours, 0, 24)
    _in("battery_power_frac", sc.battery_power_frac, 0, 1, lo_open=True)
    _in("battery_efficiency", sc.battery_efficiency, 0.5, 1)
    if sc.elasticity_preset not in _sc.ELASTICITY_PRESETS:
        raise ParamError(f"scenario field elasticity_preset={sc.elasticity_preset!r} is invalid: allowed one of {tuple(_sc.ELASTICITY_PRESETS)}")
    for k in ("job_mix", "job_duration_h", "job_power_frac", "diurnal_amplitude"):
        v = getattr(sc, k)
        if len(v) != _sc.N_CLASSES:
            raise ParamError(f"scenario field {k}={list(v)!r} is invalid: allowed exactly {_sc.N_CLASSES} values (E0..E3)")
    for i, x in enumerate(sc.job_mix):
        _in(f"job_mix[{i}]", x, 0, 1)
    if abs(sum(sc.job_mix) - 1.0) > 1e-6:
        raise ParamError(f"scenario field job_mix={list(sc.job_mix)!r} is invalid: allowed shares that sum to 1")
    for i, x in enumerate(sc.job_duration_h):
        _in(f"job_duration_h[{i}]", x, 0, 24 * 14, lo_open=True)
    for i, x in enumerate(sc.job_power_frac):
        _in(f"job_power_frac[{i}]", x, 0, 1, lo_open=True)
    for i, x in enumerate(sc.diurnal_amplitude):
        _in(f"diurnal_amplitude[{i}]", x, 0, 1)
    _in("job_duration_sigma", sc.job_duration_sigma, 0, 3)
    _in("job_power_sigma", sc.job_power_sigma, 0, 3)
    _in("weekend_factor", sc.weekend_factor, 0, 5)
    _in("e3_checkpoint_overhead_steps", sc.e3_checkpoint_overhead_steps, 0, 100, integer=True)
    _in("late_penalty_usd_per_mwh", sc.late_penalty_usd_per_mwh, 0, 1e6)
    _in("drop_penalty_usd_per_mwh", sc.drop_penalty_usd_per_mwh, 0, 1e6)
    _in("dr_price_usd_per_mwh", sc.dr_price_usd_per_mwh, 0, 10_000)
    _in("dr_reserve_threshold_mw", sc.dr_reserve_threshold_mw, 0, 1e6)
    _in("dr_lead_steps", sc.dr_lead_steps, 0, 1000, integer=True)
    _in("dr_duration_steps", sc.dr_duration_steps, 1, 1000, integer=True)
    _in("emergency_reserve_threshold_mw", sc.emergency_reserve_threshold_mw, 0, 1e6)
    _in("emergency_fraction", sc.emergency_fraction, 0, 1)
    _in("emergency_duration_steps", sc.emergency_duration_steps, 1, 1000, integer=True)
    _in("emergency_release_margin_mw", sc.emergency_release_margin_mw, 0, 1e6)
    _in("emergency_release_steps", sc.emergency_release_steps, 1, 1000, integer=True)
    _in("forecast_noise_corr_h", sc.forecast_noise_corr_h, 0, 1000, lo_open=True)
    _in("geo_transfer_delay_h", sc.geo_transfer_delay_h, 0, 48)
    _in("geo_transfer_energy_frac", sc.geo_transfer_energy_frac, 0, 1)
    if sc.dc_buses and len(sc.dc_buses) != sc.n_datacenters:
        raise ParamError(f"scenario field dc_buses has {len(sc.dc_buses)} buses for n_datacenters={sc.n_datacenters}: "
                         "allowed one bus per DC (or none for the case's defaults)")
    if sc.grid_backend == "network" and (sc.grid_data or sc.fleet != "synthetic"):
        raise ParamError(f"scenario field grid_backend='network' is invalid with grid_data={sc.grid_data!r} / "
                         f"fleet={sc.fleet!r}: allowed with the case's own fleet and profiles (grid_data='', "
                         "fleet='synthetic')")
    if sc.gas_price_daily and not sc.grid_data:
        raise ParamError("scenario field gas_price_daily=True is invalid without grid_data (the synthetic profiles have "
                         "no dates): allowed with grid_data='BA:YEAR'")
    if sc.geo_shift and sc.n_datacenters < 2:
        raise ParamError(f"scenario field geo_shift=True is invalid with n_datacenters={sc.n_datacenters}: allowed with 2 or more DCs")
    _in("load_loss_at_h", sc.load_loss_at_h, -1e9, 1e6)
    _in("load_loss_duration_h", sc.load_loss_duration_h, 0, 1e4, lo_open=True)
    _in("load_loss_return_window_h", sc.load_loss_return_window_h, 0, 1e4)
    for k, allowed in (("fleet_adequacy", _sc.FLEET_ADEQUACY), ("emergency_rule", _sc.EMERGENCY_RULES),
                       ("signal_feedback", _sc.SIGNAL_FEEDBACK), ("reward_design", _sc.REWARD_DESIGNS),
                       ("grid_backend", _sc.GRID_BACKENDS), ("network_case", _sc.NETWORK_CASES)):
        if getattr(sc, k) not in allowed:
            raise ParamError(f"scenario field {k}={getattr(sc, k)!r} is invalid: allowed one of {allowed}")
    _in("emergency_penalty_usd_per_mwh", sc.emergency_penalty_usd_per_mwh, 0, 1e6)
    if not sc.forecast_horizons_h:
        raise ParamError("scenario field forecast_horizons_h=() is invalid: allowed a non-empty list of hours in (0, 48]")
    if len(set(sc.forecast_horizons_h)) != len(sc.forecast_horizons_h):
        raise ParamError(f"scenario field forecast_horizons_h={list(sc.forecast_horizons_h)!r} is invalid: "
                         "allowed distinct hours (each horizon is one observation field)")
    for i, h in enumerate(sc.forecast_horizons_h):
        _in(f"forecast_horizons_h[{i}]", h, 0, 48, lo_open=True)
    _in("forecast_noise", sc.forecast_noise, 0, 1)
    _in("signal_delay_steps", sc.signal_delay_steps, 0, 96, integer=True)
    _in("anomaly_prob", sc.anomaly_prob, 0, 1)
    _in("collapse_rate_per_day", sc.collapse_rate_per_day, 0, 24)
    _in("collapse_depth", sc.collapse_depth, 0, 1)
    _in("collapse_duration_steps", sc.collapse_duration_steps, 1, 1000, integer=True)
    if sc.workload_trace not in _sc.WORKLOAD_TRACES:
        raise ParamError(f"scenario field workload_trace={sc.workload_trace!r} is invalid: allowed one of {_sc.WORKLOAD_TRACES}")
    if sc.grid_data and not (isinstance(sc.grid_data, str) and len(sc.grid_data.split(":")) == 2
                               and sc.grid_data.split(":")[1].isdigit()):
        raise ParamError(f"scenario field grid_data={sc.grid_data!r} is invalid: allowed '' or 'BA:YEAR' such as 'ERCO:2022'")
    if sc.grid_data:
        ba = sc.grid_data.split(":")[0].upper()
        if ba not in _sc.GRID_DATA_BAS:
            raise ParamError(f"scenario field grid_data={sc.grid_data!r} is invalid: allowed BA one of {sorted(_sc.GRID_DATA_BAS)}")
        if 60.0 % sc.step_minutes != 0:
            raise ParamError(f"scenario field step_minutes={sc.step_minutes!r} is invalid with grid_data (hourly data): "
                             "allowed a divisor of 60")
    if sc.fleet == "powersimdata" and not sc.grid_data:
        raise ParamError("scenario field fleet='powersimdata' is invalid without grid_data: allowed with grid_data='BA:YEAR'")
    if sc.action_mode not in _sc.ACTION_MODES:
        raise ParamError(f"scenario field action_mode={sc.action_mode!r} is invalid: allowed one of {_sc.ACTION_MODES}")
    if sc.reward_mode not in _sc.REWARD_MODES:
        raise ParamError(f"scenario field reward_mode={sc.reward_mode!r} is invalid: allowed one of {_sc.REWARD_MODES}")
    _in("reward_mix", sc.reward_mix, 0, 1)
    # Below $0.001 per reward unit a system-wide social cost overflows float32 rewards.
    _in("reward_scale_usd", sc.reward_scale_usd, 1e-3, 1e9)
    _in("max_jobs_per_dc", sc.max_jobs_per_dc, 0, 10_000_000, integer=True)
    for k in ("sla_guard", "dr_enabled", "emergency_enabled", "backlog_terminal_value", "carbon_in_dispatch",
              "unit_commitment", "gas_price_daily", "geo_shift"):
        if not isinstance(getattr(sc, k), bool):
            raise ParamError(f"scenario field {k}={getattr(sc, k)!r} is invalid: allowed true or false")
