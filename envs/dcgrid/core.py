"""The batched simulator core of ``datacenter_grid_v0``: arrays over ``[B envs, N DCs, J jobs]``.

Functions of ``(params, state, actions, rng)``: :func:`reset` builds a state (warm-up
included) and :func:`step` advances every env by one step. For speed the state's arrays are
updated in place by :func:`step`; :meth:`CoreState.copy` branches a state. No globals, no
I/O: the only randomness is the ``numpy.random.Generator`` passed in.

One step of one env (DESIGN §2-§6):

1. Emergency orders in force cap each DC's facility load at ``emergency_fraction x`` its
   customer baseline.
2. Each DC's scheduler runs (:mod:`.jobs`) with the agent's release fractions.
3. IT power ``P = P_idle + sum(running job power)`` (TSCO eq. 9, with ``P_peak`` the IT
   capacity); facility load ``PUE x P``; the battery (TSCO eq. 2) adds its charge.
4. **The grid clears on the same step's aggregate load**, DC load included, so price, carbon,
   reserve and curtailment respond to the agents.
5. Per-DC costs: energy bill, carbon cost (average intensity), SLA penalties, DR revenue
   against the customer baseline, emergency non-compliance penalty; then rewards.
6. Grid-operator signals for the next step: DR announcement from the day-ahead reserve
   forecast, emergency order from real reserve, telemetry delay and anomalies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gridshift.envs.dcgrid import geo as geo_kernels
from gridshift.envs.dcgrid import jobs as J
from gridshift.envs.dcgrid import kernels as K
from gridshift.envs.dcgrid.generators import ExogenousGenerator, WorkloadGenerator
from gridshift.envs.dcgrid.observation import ObservationLayout, build_layout
from gridshift.envs.dcgrid.scenario import Scenario, cooperative_weight
from gridshift.envs.dcgrid.settlement import BATTERY_START_SOC
from gridshift.envs.dcgrid.workload import DCParams, JobTable, dc_params
from gridshift.envs.grid.backend import GridBackend
from gridshift.envs.grid.commitment import commit_schedule
from gridshift.envs.grid.copper_plate import _OUT_FIELDS as _GRID_ROWS
from gridshift.envs.grid.types import GridParams, GridState

#: Per-DC per-step outputs: the scheduler's, then power, then economics (rows of ``StepInfo.dc``).
POWER_FIELDS = ("it_mw", "facility_mw", "battery_charge_mw", "battery_discharge_mw", "load_mw")
ECON_FIELDS = ("baseline_mw", "bill_usd", "carbon_t", "carbon_cost_usd", "sla_penalty_usd", "dr_revenue_usd",
               "emergency_penalty_usd", "dc_cost_usd", "reward")
DC_FIELDS = J.OUT_FIELDS + POWER_FIELDS + ECON_FIELDS + ("emergency_cap_mw",)
DC_INDEX = {k: i for i, k in enumerate(DC_FIELDS)}
_NJ, _NP, _NE = len(J.OUT_FIELDS), len(POWER_FIELDS), len(ECON_FIELDS)


class StepInfo(Mapping):
    """What :func:`step` returns: per-DC ``[B, N]`` arrays by name (views into one
    ``dc [K, B, N]`` table, rows ``DC_FIELDS``) and per-env values (``grid``, the
    :class:`ClearingResult`; ``dc_load_total_mw``; event flags; ``social_cost_usd``)."""

    __slots__ = ("dc", "env")

    def __init__(self, dc: np.ndarray, env: dict):
        self.dc = dc
        self.env = env

    def __getitem__(self, key):
        i = DC_INDEX.get(key)
        if i is not None:
            return self.dc[i]
        return self.env[key]

    def __iter__(self):
        yield from DC_FIELDS
        yield from self.env

    def __len__(self) -> int:
        return len(DC_FIELDS) + len(self.env)

    def __contains__(self, key) -> bool:
        return key in DC_INDEX or key in self.env


#: True grid signals kept for telemetry (rows of ``signal_hist``).
SIGNALS = ("price", "renewable_fraction", "avg_ci", "marginal_ci", "total_demand_mw", "reserve_mw")
ANOMALY_KINDS = ("stuck", "spike", "renewable_high", "demand_low")
_SIG_ROWS = [_GRID_ROWS.index(k) for k in ("price_usd_per_mwh", "renewable_fraction", "avg_ci_g_per_kwh",
                                           "marginal_ci_g_per_kwh", "total_demand_mw", "reserve_mw")]


@dataclass(frozen=True, eq=False)
class CoreParams:
    """Everything static: the scenario, the grid, the DCs, and derived constants."""

    scenario: Scenario
    grid: GridParams
    dcs: DCParams
    backend: GridBackend
    """The grid the DCs clear on (:mod:`gridshift.envs.grid.backend`): the only way the core
    reaches the market."""
    exogenous: ExogenousGenerator
    """Draws each episode's non-DC demand and renewables (:mod:`.generators`)."""
    workload: WorkloadGenerator
    """Draws each episode's jobs (:mod:`.generators`)."""
    layout: ObservationLayout
    horizon_steps_fc: tuple[int, ...]
    max_ci_g_per_kwh: float
    expected_dc_load_mw: float
    offs_rel_h: np.ndarray
    """DC local time minus grid time (hours), ``[N]``."""
    hsteps_arr: np.ndarray
    hhours_arr: np.ndarray
    max_def_e123: np.ndarray
    obs_low: np.ndarray
    obs_high: np.ndarray
    local_signals: bool = False
    """A network backend: each DC also observes its own bus's price and marginal carbon
    (``local_price``, ``local_marginal_ci``), delayed like the system signals."""
    load_loss_start: int = -1
    """Absolute step of the forced drop-and-return event (``Scenario.load_loss_at_h``), -1 none."""
    load_loss_end: np.ndarray | None = None
    """Step at which each DC is back on the grid ``[N]``."""

    @property
    def expected_dc_mw(self) -> np.ndarray:
        """Each DC's expected facility load at the target utilisation ``[N]`` (sums to
        ``expected_dc_load_mw``): the load the operator's day-ahead plan assumes."""
        sc, dcs = self.scenario, self.dcs
        return dcs.pue * (dcs.idle_mw + sc.target_utilization * dcs.dynamic_mw)

    @property
    def n_agents(self) -> int:
        return self.dcs.n

    @property
    def total_steps(self) -> int:
        """Warm-up + horizon."""
        return self.scenario.warmup_steps + self.scenario.horizon_steps


def _load_loss_steps(sc: Scenario, n: int) -> tuple[int, np.ndarray]:
    """Absolute step at which the forced drop starts (-1 = none) and each DC's return step ``[N]``."""
    if sc.load_loss_at_h < 0:
        return -1, np.full(n, -1, np.int64)
    start = sc.warmup_steps + int(round(sc.load_loss_at_h / sc.step_hours))
    back = start + max(1, int(round(sc.load_loss_duration_h / sc.step_hours)))
    window = int(round(sc.load_loss_return_window_h / sc.step_hours))
    frac = np.arange(n) / (n - 1) if n > 1 else np.zeros(1)
    return start, back + np.round(frac * window).astype(np.int64)


def make_params(sc: Scenario) -> CoreParams:
    """The params of a scenario: :func:`gridshift.builder.make_params` (kept here for callers
    of the first round's API; the builder is where fleets, data and traces are chosen)."""
    from gridshift.builder import make_params as _make

    return _make(sc)


def assemble(sc: Scenario, grid: GridParams, backend: GridBackend, exogenous: ExogenousGenerator,
             workload: WorkloadGenerator, dcs: DCParams | None = None, *, local_signals: bool = False) -> CoreParams:
    """Core params from a scenario and its already-built parts (the builder's last step);
    ``local_signals`` for a backend whose DCs see different prices (a network)."""
    dcs = dcs if dcs is not None else dc_params(sc)
    layout = build_layout(sc.forecast_horizons_h, sc.floor_price_usd_per_mwh / 100.0, sc.voll_usd_per_mwh / 100.0,
                          local=local_signals)
    hsteps = tuple(max(1, int(round(h / sc.step_hours))) for h in sc.forecast_horizons_h)
    max_ci = 1000.0 * float(max(grid.fleet.emission_t_co2_per_mwh.max(), 1e-9))
    exp_load = float((dcs.pue * (dcs.idle_mw + sc.target_utilization * dcs.dynamic_mw)).sum())
    loss_start, loss_end = _load_loss_steps(sc, dcs.n)
    return CoreParams(
        sc, grid, dcs, backend, exogenous, workload, layout, hsteps, max_ci, exp_load,
        offs_rel_h=dcs.utc_offset_h - sc.grid_utc_offset_h,
        hsteps_arr=np.array(hsteps, np.int64),
        hhours_arr=np.array(sc.forecast_horizons_h, np.float64),
        max_def_e123=np.array(sc.max_deferral_steps()[1:], np.float64),
        obs_low=layout.low,
        obs_high=layout.high,
        local_signals=local_signals,
        load_loss_start=loss_start,
        load_loss_end=loss_end,
    )


@dataclass(eq=False)
class CoreState:
    """The changing state of a batch of envs. Arrays are updated in place by :func:`step`."""

    t: np.ndarray  # [B] absolute step, 0 = first warm-up step
    grid: GridState
    jobs: JobTable
    status: np.ndarray
    cause: np.ndarray
    remaining: np.ndarray
    start: np.ndarray
    finish: np.ndarray
    served_mwh: np.ndarray
    active: np.ndarray  # [B, N, J] open (queued/running) job indices
    n_active: np.ndarray  # [B, N]
    next_arrival: np.ndarray
    soc_mwh: np.ndarray  # [B, N]
    demand_mw: np.ndarray  # [B, T + H] true exogenous series
    solar_mw: np.ndarray
    wind_mw: np.ndarray
    da_price: np.ndarray  # [B, T + H] day-ahead (unconstrained, expected DC load) signals
    da_renewable_fraction: np.ndarray
    da_reserve_mw: np.ndarray
    month: np.ndarray  # [B]
    start_dow: np.ndarray  # [B]
    baseline_sum_mw: np.ndarray  # [B, N, steps_per_day] facility load summed over past days
    baseline_days: np.ndarray  # [B, steps_per_day] days counted per slot
    demand_ring: np.ndarray  # [B, steps_per_day] total demand of the last day
    signal_hist: np.ndarray  # [B, delay + 1, len(SIGNALS)] ring of true signals
    observed: np.ndarray  # [B, len(SIGNALS)] what the agents currently see
    anomaly: np.ndarray  # [B] int, -1 none, else index into ANOMALY_KINDS
    dr_start: np.ndarray  # [B] step of the announced/active DR event, -1 none
    dr_end: np.ndarray  # [B]
    em_end: np.ndarray  # [B] emergency order in force while t < em_end
    em_cap_mw: np.ndarray  # [B, N] facility cap of the order in force
    em_mode: np.ndarray  # [B] hysteresis rule: 0 none, 1 held, 2 release ramp
    em_hold_until: np.ndarray  # [B] step before which a held order cannot start its release
    em_k: np.ndarray  # [B] step of the release ramp
    fc_err_renewable: np.ndarray  # [B, T + H] forecast-error path of the renewable share, N(0, 1) AR(1)
    fc_err_price: np.ndarray  # [B, T + H] forecast-error path of the price
    shadow_sig: np.ndarray | None  # [B, T + H, len(SIGNALS)] open loop: the FIFO shadow grid's signals
    local_hist: np.ndarray  # [B, delay + 1, N, 2] ring of each DC's own bus price and marginal CI
    local_observed: np.ndarray  # [B, N, 2] what each DC currently sees of its own bus
    shadow_local: np.ndarray | None  # [B, T + H, N, 2] open loop: the shadow grid's local signals
    online: np.ndarray | None  # [B, T + H, G] the day-ahead unit commitment of every step (None: all online)
    gas_price: np.ndarray | None  # [B, T + H] delivered gas price $/MMBtu (None: the fleet's own)
    n_slots: np.ndarray  # [B, N] job slots in use (arrived or pending jobs, plus jobs moved in)
    origin: np.ndarray | None  # [B, N, J] geo-shifting: the DC a moved-in job came from, -1 none
    moved_to: np.ndarray | None  # [B, N, J] geo-shifting: the DC a moved-out job went to, -1 none
    origin_slot: np.ndarray | None  # [B, N, J] geo-shifting: a moved-in job's slot at its source DC, -1 none
    last: StepInfo | None  # last step's outputs (for observations)

    def copy(self) -> CoreState:
        kw = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                kw[f.name] = v.copy()
            elif f.name == "last":
                kw[f.name] = StepInfo(v.dc.copy(), dict(v.env)) if isinstance(v, StepInfo) else v
            else:
                kw[f.name] = v  # the grid state is replaced, never mutated
        if self.origin is not None:  # geo-shifting writes moved jobs into the job table
            kw["jobs"] = dataclasses.replace(self.jobs, **{f.name: getattr(self.jobs, f.name).copy()
                                                             for f in dataclasses.fields(self.jobs)})
        return CoreState(**kw)

    @property
    def batch_size(self) -> int:
        return int(self.t.shape[0])


# ---------------------------------------------------------------------------- reset


def reset(params: CoreParams, rng: np.random.Generator, batch_size: int = 1) -> CoreState:
    """A batch of fresh episodes, each after its FIFO warm-up (DESIGN §2)."""
    sc = params.scenario
    nb, n = batch_size, params.n_agents
    total = params.total_steps
    h_max = max(params.horizon_steps_fc) + 1
    t_len = total + h_max
    spd = sc.steps_per_day

    ex = params.exogenous.sample(rng, nb, t_len)
    month, start_dow = ex.month, ex.start_dow
    demand, solar, wind = ex.demand_mw, ex.solar_mw, ex.wind_mw
    gas = ex.gas_price_usd_per_mmbtu
    online = None
    if sc.unit_commitment:
        # the operator commits for the forecast of exogenous load plus the DCs' expected load
        # (not their response), once per simulated day (envs/grid/commitment.py)
        online = commit_schedule(params.grid, demand, solar + wind, spd, dc_load_mw=params.expected_dc_load_mw,
                                 gas_price=gas)
    g = params.grid.fleet.n_units
    da = params.backend.day_ahead(demand.reshape(-1), solar.reshape(-1), wind.reshape(-1), params.expected_dc_load_mw,
                                  online=None if online is None else online.reshape(-1, g),
                                  gas_price=None if gas is None else gas.reshape(-1))
    solar, wind = _apply_collapses(sc, rng, solar, wind)

    table = params.workload.sample(rng, nb, start_dow, total)
    if sc.geo_shift:
        table = _pad_slots(table, table.arrival.shape[2] // 2 + 16)
    fc_err = forecast_error_paths(rng, (nb, 2, t_len), sc.step_hours / sc.forecast_noise_corr_h)
    shape = table.arrival.shape
    st = CoreState(
        t=np.zeros(nb, np.int64),
        grid=GridState(dispatch_mw=params.backend.initial_dispatch(
            demand[:, 0], solar[:, 0] + wind[:, 0], np.ascontiguousarray(np.broadcast_to(params.expected_dc_mw, (nb, n))),
            online=None if online is None else online[:, 0], gas_price=None if gas is None else gas[:, 0],
            solar=solar[:, 0])),
        jobs=table,
        status=np.where(np.arange(shape[2])[None, None, :] < table.n_jobs[..., None], J.PENDING, J.EMPTY).astype(np.int8),
        cause=np.zeros(shape, np.int8),
        remaining=np.zeros(shape, np.int32),
        start=np.full(shape, -1, np.int32),
        finish=np.full(shape, -1, np.int32),
        served_mwh=np.zeros(shape, np.float64),
        active=np.zeros(shape, np.int32),
        n_active=np.zeros((nb, n), np.int64),
        next_arrival=np.zeros((nb, n), np.int64),
        soc_mwh=BATTERY_START_SOC * np.broadcast_to(params.dcs.battery_mwh, (nb, n)).copy(),
        demand_mw=demand,
        solar_mw=solar,
        wind_mw=wind,
        da_price=da.price_usd_per_mwh.reshape(nb, t_len),
        da_renewable_fraction=da.renewable_fraction.reshape(nb, t_len),
        da_reserve_mw=da.reserve_mw.reshape(nb, t_len),
        month=month,
        start_dow=start_dow,
        baseline_sum_mw=np.zeros((nb, n, spd)),
        baseline_days=np.zeros((nb, spd)),
        demand_ring=np.broadcast_to(demand[:, :1], (nb, spd)).copy(),
        signal_hist=np.zeros((nb, sc.signal_delay_steps + 1, len(SIGNALS))),
        observed=np.zeros((nb, len(SIGNALS))),
        anomaly=np.full(nb, -1, np.int64),
        dr_start=np.full(nb, -1, np.int64),
        dr_end=np.full(nb, -1, np.int64),
        em_end=np.zeros(nb, np.int64),
        em_cap_mw=np.full((nb, n), np.inf),
        em_mode=np.zeros(nb, np.int64),
        em_hold_until=np.zeros(nb, np.int64),
        em_k=np.zeros(nb, np.int64),
        fc_err_renewable=fc_err[:, 0],
        fc_err_price=fc_err[:, 1],
        shadow_sig=None,
        local_hist=np.zeros((nb, sc.signal_delay_steps + 1, n, 2)),
        local_observed=np.zeros((nb, n, 2)),
        shadow_local=None,
        online=online,
        gas_price=gas,
        n_slots=table.n_jobs.astype(np.int64),
        origin=np.full(shape, -1, np.int32) if sc.geo_shift else None,
        moved_to=np.full(shape, -1, np.int32) if sc.geo_shift else None,
        origin_slot=np.full(shape, -1, np.int32) if sc.geo_shift else None,
        last=None,
    )
    fifo = np.ones((nb, n, 4))
    fifo[..., 3] = 0.0
    if sc.warmup_steps == 0:
        # Clear step 0 once on a copy in which no job arrives, so that every signal the first
        # observation reads is defined; keep only its grid and telemetry. The jobs of step 0
        # are simulated once, by the agents' first step (not twice).
        dry = st.copy()
        dry.next_arrival[:] = dry.jobs.n_jobs
        step(params, dry, fifo, rng)
        st.grid, st.last, st.signal_hist, st.observed, st.anomaly = dry.grid, dry.last, dry.signal_hist, dry.observed, dry.anomaly
        st.local_hist, st.local_observed = dry.local_hist, dry.local_observed
    for _ in range(sc.warmup_steps):
        step(params, st, fifo, rng)
    if sc.signal_feedback == "open":
        st.shadow_sig, st.shadow_local = _shadow_signals(params, st)
    return st


def _pad_slots(table: JobTable, extra: int) -> JobTable:
    """``table`` with ``extra`` empty slots per DC (room for jobs moved in by geo-shifting)."""
    def pad(a, fill):
        return np.concatenate([a, np.full(a.shape[:2] + (extra,), fill, a.dtype)], axis=2)

    return dataclasses.replace(
        table, job_class=pad(table.job_class, 0), arrival=pad(table.arrival, np.iinfo(np.int32).max),
        duration=pad(table.duration, 0), deadline=pad(table.deadline, 0), power_mw=pad(table.power_mw, 0.0))


def forecast_error_paths(rng: np.random.Generator, shape: tuple[int, ...], dt_over_tau: float) -> np.ndarray:
    """Standard-normal AR(1) paths along the last axis (a target time per step), correlation
    ``exp(-dt / tau)`` between neighbouring target times, stationary from the first element.

    The forecast of signal ``x`` for target step ``k`` made ``h`` hours ahead is
    ``x_da[k] x (1 + forecast_noise x h x z[k])``: as the lead shrinks, the forecast of one
    target hour converges smoothly to the day-ahead value, and the forecasts of neighbouring
    hours err together, as a weather-driven forecast does."""
    from scipy.signal import lfilter

    phi = float(np.exp(-dt_over_tau))
    eps = rng.standard_normal(shape)
    g = np.sqrt(1.0 - phi * phi)
    if g > 0:
        eps[..., 0] /= g
    return lfilter([g], [1.0, -phi], eps, axis=-1) if g > 0 else np.repeat(eps[..., :1], shape[-1], axis=-1)


def _shadow_signals(params: CoreParams, st: CoreState) -> np.ndarray:
    """Open loop: the grid signals of the same seed's episode under FIFO, from the current step to
    the end of the exogenous record, ``[B, T + H, len(SIGNALS)]`` (rows before the current step are
    never read). The physical run keeps its own random stream: the shadow draws nothing from it
    (its anomaly draws come from a throwaway generator and do not touch the true signals)."""
    sh = st.copy()
    nb, n = sh.batch_size, params.n_agents
    t_len = sh.demand_mw.shape[1]
    out = np.zeros((nb, t_len, len(SIGNALS)))
    local = np.zeros((nb, t_len, n, 2)) if params.local_signals else None
    fifo = np.ones((nb, n, 4))
    fifo[..., 3] = 0.0
    throwaway = np.random.default_rng(0)
    while int(sh.t.min()) < t_len:
        t = sh.t.copy()
        info = step(params, sh, fifo, throwaway)
        at = (np.arange(nb), np.minimum(t, t_len - 1))
        out[at] = info["grid"].packed[_SIG_ROWS].T
        if local is not None:
            local[at] = _true_local(params, info["grid"])
    return out, local


def _true_local(params: CoreParams, gr) -> np.ndarray:
    """Each DC's own bus price and marginal CI of a clearing, ``[B, N, 2]``."""
    n = params.n_agents
    return np.stack([params.backend.dc_price(gr, n), params.backend.dc_marginal_ci(gr, n)], axis=-1)


def _apply_collapses(sc: Scenario, rng, solar, wind):
    """Renewable-collapse events: wind or solar drops by ``collapse_depth`` within one step."""
    if sc.collapse_rate_per_day <= 0:
        return solar, wind
    solar, wind = solar.copy(), wind.copy()
    nb, t_len = solar.shape
    days = t_len / sc.steps_per_day
    counts = rng.poisson(sc.collapse_rate_per_day * days, nb)
    for b in range(nb):
        for _ in range(int(counts[b])):
            s = int(rng.integers(0, t_len))
            e = min(t_len, s + sc.collapse_duration_steps)
            target = wind if rng.random() < 0.5 else solar
            target[b, s:e] *= 1.0 - sc.collapse_depth
    return solar, wind


# ---------------------------------------------------------------------------- step


def step(params: CoreParams, st: CoreState, action: np.ndarray, rng: np.random.Generator) -> dict:
    """Advance every env one step with core actions ``[B, N, 4]`` (E1, E2, E3 release in [0, 1],
    battery setpoint in [-1, 1], + = charge). Returns the step's per-DC and grid arrays."""
    sc, dcs = params.scenario, params.dcs
    nb, n = st.batch_size, params.n_agents
    dt = sc.step_hours
    t = st.t
    rows = np.arange(nb)

    act = np.asarray(action, dtype=np.float64)
    release = np.ascontiguousarray(np.clip(act[..., :3], 0.0, 1.0))
    battery_cmd = np.ascontiguousarray(np.clip(act[..., 3], -1.0, 1.0))
    geo = _geo_shift(params, st, act) if st.origin is not None else None

    # 1. emergency order in force: facility cap -> dynamic IT cap
    table = np.empty((len(DC_FIELDS), nb, n))
    out, f, e, fac_cap = table[:_NJ], table[_NJ:_NJ + _NP], table[_NJ + _NP:_NJ + _NP + _NE], table[-1]
    em_active = t < st.em_end
    if em_active.any():
        fac_cap[:] = np.where(em_active[:, None], st.em_cap_mw, np.inf)
        dyn_cap_em = np.where(em_active[:, None], np.maximum(0.0, fac_cap / dcs.pue - dcs.idle_mw), np.inf)
    else:
        fac_cap[:] = np.inf
        dyn_cap_em = fac_cap

    # 2. schedulers
    tb = st.jobs
    J.step_jobs(
        t, release, dcs.dynamic_mw, dyn_cap_em, dt, sc.e3_checkpoint_overhead_steps, sc.sla_guard,
        tb.job_class, tb.arrival, tb.duration, tb.deadline, tb.power_mw, tb.n_jobs,
        st.status, st.cause, st.remaining, st.start, st.finish, st.served_mwh, st.active, st.n_active, st.next_arrival,
        out,
    )

    # 3. IT power (TSCO eq. 9), facility load, battery (TSCO eq. 2)
    dc_total = np.empty(nb)
    K.dc_power(out[J.OUT_INDEX["running_mw"]], dcs.idle_mw, dcs.pue, dcs.battery_mw, dcs.battery_mwh,
               dcs.battery_efficiency, em_active, battery_cmd, st.soc_mwh, dt, f[0], f[1], f[2], f[3], f[4], dc_total)
    load = f[4]
    if geo is not None:
        load += geo["geo_transfer_mw"]  # the network energy of this step's moves, at the source
        dc_total[:] = load.sum(axis=1)
    if params.load_loss_start >= 0:
        # forced drop-and-return: DCs on backup generation draw nothing from the grid
        on_backup = (t[:, None] >= params.load_loss_start) & (t[:, None] < params.load_loss_end[None, :])
        if on_backup.any():
            load[on_backup] = 0.0
            dc_total[:] = load.sum(axis=1)

    # 4. the grid clears on this step's aggregate load
    avail = st.solar_mw[rows, t] + st.wind_mw[rows, t]
    prev_dispatch, demand_t = st.grid.dispatch_mw, st.demand_mw[rows, t]
    online_t = st.online[rows, t] if st.online is not None else None
    gas_t = st.gas_price[rows, t] if st.gas_price is not None else None
    solar_t = st.solar_mw[rows, t]
    gr = params.backend.clear_step(prev_dispatch, demand_t, avail, load, online=online_t, gas_price=gas_t, solar=solar_t)
    st.grid = GridState(dispatch_mw=gr.dispatch_mw)

    # 5-6. per-DC economics and rewards, baselines, DR and emergency events
    social = np.empty(nb)
    dr_active = np.empty(nb, bool)
    em_new = np.empty(nb, bool)
    w = cooperative_weight(sc)
    pk = gr.packed
    true_sig = pk[_SIG_ROWS].T.copy()
    if st.shadow_sig is not None:
        # open loop: what the agents observe comes from the FIFO shadow grid
        inside = t < st.shadow_sig.shape[1]
        true_sig[inside] = st.shadow_sig[rows[inside], t[inside]]
    K.economics_and_events(
        t, sc.steps_per_day, dt, params.backend.dc_price(gr, n), gr.avg_ci_g_per_kwh, gr.system_cost_usd, gr.reserve_mw,
        load, out[J.OUT_INDEX["late_mwh"]], out[J.OUT_INDEX["dropped_mwh"]], em_active, fac_cap,
        st.baseline_sum_mw, st.baseline_days, st.demand_ring, true_sig[:, 4],
        st.dr_start, st.dr_end, st.em_end, st.em_cap_mw, st.da_reserve_mw,
        st.em_mode, st.em_hold_until, st.em_k,
        sc.carbon_price_usd_per_t, sc.late_penalty_usd_per_mwh, sc.drop_penalty_usd_per_mwh, sc.dr_price_usd_per_mwh,
        sc.emergency_penalty_usd_per_mwh, w, sc.reward_scale_usd,
        sc.dr_enabled, sc.dr_lead_steps, sc.dr_duration_steps, sc.dr_reserve_threshold_mw,
        sc.emergency_enabled, sc.emergency_reserve_threshold_mw, sc.emergency_fraction, sc.emergency_duration_steps,
        sc.emergency_rule == "hysteresis", sc.emergency_reserve_threshold_mw + sc.emergency_release_margin_mw,
        sc.emergency_release_steps,
        e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], social, dr_active, em_new,
    )

    if sc.reward_design == "difference":
        _difference_reward(params, prev_dispatch, demand_t, avail, load, out[J.OUT_INDEX["flex_mw"]], gr, table, w,
                           online_t, gas_t, solar_t)

    # 7. telemetry: what the agents will see
    if sc.anomaly_prob > 0:
        u, kind = rng.random(nb), rng.integers(0, len(ANOMALY_KINDS), nb)
    else:
        u, kind = np.ones(nb), np.zeros(nb, np.int64)
    K.telemetry(t, sc.signal_delay_steps, true_sig, st.signal_hist, st.observed, u, kind, sc.anomaly_prob, st.demand_ring, st.anomaly)
    if params.local_signals:
        true_local = _true_local(params, gr)
        if st.shadow_local is not None:
            inside = t < st.shadow_local.shape[1]
            true_local[inside] = st.shadow_local[rows[inside], t[inside]]
        d1 = sc.signal_delay_steps + 1
        st.local_hist[rows, t % d1] = true_local
        # before `delay` steps exist the agents see the oldest reading (step 0), as for the system signals
        st.local_observed[:] = st.local_hist[rows, np.where(t >= sc.signal_delay_steps, (t - sc.signal_delay_steps) % d1, 0)]

    info = StepInfo(table, {
        "t": t.copy(), "grid": gr, "dc_load_total_mw": dc_total, "social_cost_usd": social,
        "dr_active": dr_active, "emergency_active": em_active, "emergency_issued": em_new, "anomaly": st.anomaly.copy(),
        **(geo or {}),
    })
    st.last = info
    st.t += 1
    return info




def geo_broker_inputs(params: CoreParams, st: CoreState) -> tuple[np.ndarray, np.ndarray]:
    """What the geo-shifting broker (:mod:`.geo`) ranks targets by, from the last step: each
    DC's score (its price plus the carbon price times the marginal CI) and its busy power
    (running plus queued E1, which must start at once: the rest of a queue is deferrable, so
    it does not make a DC full), each ``[B, N]``."""
    sc, n, last = params.scenario, params.n_agents, st.last
    g = last["grid"]
    score = params.backend.dc_price(g, n) + sc.carbon_price_usd_per_t * g.marginal_ci_g_per_kwh[:, None] / 1000.0
    return score, last["running_mw"] + last["queued_mw_e1"]


def _geo_shift(params: CoreParams, st: CoreState, act: np.ndarray) -> dict[str, np.ndarray]:
    """Geo-shifting before the schedulers (:mod:`.geo`): moves offered jobs, returns ``[B, N]``
    arrays ``geo_moved_out_mw``, ``geo_moved_in_mw``, ``geo_transfer_mw``, ``geo_refused``."""
    sc = params.scenario
    nb, n = st.batch_size, params.n_agents
    shift = np.clip(act[..., 4], 0.0, 1.0) if act.shape[-1] >= 5 else np.zeros((nb, n))
    out = {k: np.zeros((nb, n)) for k in ("geo_moved_out_mw", "geo_moved_in_mw", "geo_transfer_mw", "geo_refused")}
    if st.last is None or not (shift > 0).any():
        return out
    score, busy = geo_broker_inputs(params, st)
    tb = st.jobs
    delay = max(0, int(round(sc.geo_transfer_delay_h / sc.step_hours)))
    geo_kernels.transfer(
        st.t, np.ascontiguousarray(shift), np.ascontiguousarray(score), np.ascontiguousarray(busy), params.dcs.dynamic_mw,
        delay, sc.geo_transfer_energy_frac,
        tb.job_class, tb.arrival, tb.duration, tb.deadline, tb.power_mw, st.status, st.remaining, st.start, st.finish,
        st.active, st.n_active, st.n_slots, st.origin, st.moved_to, st.origin_slot,
        out["geo_moved_out_mw"], out["geo_moved_in_mw"], out["geo_transfer_mw"], out["geo_refused"],
    )
    return out


def _difference_reward(params: CoreParams, prev, demand, avail, load, flex_it_mw, gr, table, w: float,
                       online=None, gas=None, solar=None) -> None:
    """``reward_design = "difference"`` (see the scenario field): rewrites the ``reward`` row.

    Selfish term: ``load x dt x marginal social cost`` + SLA and emergency penalties - DR
    revenue. Cooperative term: ``D_i = C(L) - C(L - f_i)``, the step's social cost (fuel + VOLL x
    unserved + carbon) minus the same step cleared from the same previous dispatch without DC
    ``i``'s flexible facility load ``f_i = min(PUE_i x flex_i, load_i)``."""
    sc = params.scenario
    nb, n = load.shape
    dt = sc.step_hours
    flex = np.minimum(params.dcs.pue * flex_it_mw, load)
    if w > 0:
        loads = np.repeat(load[:, None, :], n, axis=1)  # [B, N (removed DC), N]
        idx = np.arange(n)
        loads[:, idx, idx] -= flex
        wo = params.backend.clear_step(np.repeat(prev, n, axis=0), np.repeat(demand, n), np.repeat(avail, n),
                                       loads.reshape(nb * n, n),
                                       online=None if online is None else np.repeat(online, n, axis=0),
                                       gas_price=None if gas is None else np.repeat(gas, n),
                                       solar=None if solar is None else np.repeat(solar, n))
        contrib = gr.system_cost_usd[:, None] - wo.system_cost_usd.reshape(nb, n)
    else:
        contrib = np.zeros((nb, n))
    msc = params.backend.dc_price(gr, n)
    if not sc.carbon_in_dispatch:
        msc = msc + sc.carbon_price_usd_per_t * gr.marginal_ci_g_per_kwh[:, None] / 1000.0
    row = {k: DC_INDEX[k] for k in ("sla_penalty_usd", "emergency_penalty_usd", "dr_revenue_usd", "reward")}
    selfish = load * dt * msc + table[row["sla_penalty_usd"]] + table[row["emergency_penalty_usd"]] - table[row["dr_revenue_usd"]]
    table[row["reward"]] = -((1.0 - w) * selfish + w * contrib) / sc.reward_scale_usd


# ---------------------------------------------------------------------------- observation


def observe(params: CoreParams, st: CoreState, rng: np.random.Generator | None = None) -> np.ndarray:
    """Observations ``[B, N, D]`` (float32) for the current state: a pure read (observing the
    same state twice gives the same array). Forecast errors come from the episode's error paths
    drawn at reset (:func:`forecast_error_paths`); ``rng`` is not used and is accepted only so
    that callers written for the first round's signature keep working."""
    del rng
    sc, dcs, lay = params.scenario, params.dcs, params.layout
    nb, n = st.batch_size, params.n_agents
    obs = np.empty((nb, n, lay.size), np.float32)
    last = st.last
    q = np.stack([last["queued_mwh_e1"], last["queued_mwh_e2"], last["queued_mwh_e3"]])
    sl = np.stack([last["min_slack_e1"], last["min_slack_e2"], last["min_slack_e3"]])
    K.observe(
        st.t, sc.step_hours, params.offs_rel_h, st.start_dow, st.observed, st.demand_ring, sc.peak_demand_mw,
        params.max_ci_g_per_kwh, st.dr_start, st.dr_end, st.em_end, sc.dr_lead_steps,
        params.hsteps_arr, params.hhours_arr, sc.forecast_noise, st.da_renewable_fraction, st.da_price,
        st.fc_err_renewable, st.fc_err_price,
        sc.floor_price_usd_per_mwh / 100.0, sc.voll_usd_per_mwh / 100.0,
        q, sl, params.max_def_e123, last["running_mw"], last["e0_mw"], last["flex_mw"], dcs.dynamic_mw,
        st.soc_mwh, dcs.battery_mwh, params.obs_low, params.obs_high, obs,
    )
    if params.local_signals:
        lo, hi = params.obs_low[-2:], params.obs_high[-2:]
        obs[..., -2] = np.clip(st.local_observed[..., 0] / 100.0, lo[0], hi[0])
        obs[..., -1] = np.clip(st.local_observed[..., 1] / params.max_ci_g_per_kwh, lo[1], hi[1])
    return obs


def global_state(params: CoreParams, st: CoreState) -> np.ndarray:
    """The global state for centralised critics ``[B, S]`` (float32): true grid signals,
    the exogenous inputs of the step, events, and every DC's own features."""
    sc = params.scenario
    nb = st.batch_size
    rows = np.arange(nb)
    t = np.minimum(st.t, st.demand_mw.shape[1] - 1)
    g = st.last["grid"]
    peak = sc.peak_demand_mw
    grid_part = np.stack(
        [
            g.price_usd_per_mwh / 100.0,
            g.renewable_fraction,
            g.avg_ci_g_per_kwh / params.max_ci_g_per_kwh,
            g.marginal_ci_g_per_kwh / params.max_ci_g_per_kwh,
            g.total_demand_mw / peak,
            g.reserve_mw / peak,
            st.demand_mw[rows, t] / peak,
            st.solar_mw[rows, t] / peak,
            st.wind_mw[rows, t] / peak,
            ((st.dr_start >= 0) & (st.t >= st.dr_start)).astype(float),
            (st.t < st.em_end).astype(float),
        ],
        axis=1,
    )
    dyn = params.dcs.dynamic_mw
    own = np.stack(
        [st.last["running_mw"] / dyn, st.last["flex_mw"] / dyn]
        + [st.last[f"queued_mwh_e{c}"] / dyn for c in (1, 2, 3)],
        axis=2,
    ).reshape(nb, -1)
    parts = [grid_part, own]
    net = getattr(params.backend, "network", None)
    if net is not None:  # a network: every bus's LMP ($/MWh / 100) and every line's loading (flow / limit)
        parts += [g.lmp_usd_per_mwh / 100.0, g.flow_mw / net.line_limit_mw[None, :]]
    return np.concatenate(parts, axis=1).astype(np.float32)


def state_size(params: CoreParams) -> int:
    net = getattr(params.backend, "network", None)
    return 11 + 5 * params.n_agents + (0 if net is None else net.n_bus + len(net.line_id))
