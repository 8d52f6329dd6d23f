"""Benchmark of the network backend (:class:`gridshift.envs.grid.network.NetworkBackend`) on RTS-GMLC.

:func:`bench_network` prints and returns (JSON-ready):

* **throughput of the OPF alone** (``clear_bus_arrays``, the call the environment core makes
  each step) at each batch size: env-steps/s, with 8 DCs at their default buses, 15-minute
  steps, per-bus load and renewables from the RTS-GMLC 2020 profiles (hourly, linearly
  interpolated), each batch row starting on a different day and DC loads drawn around a
  12 % penetration; the copper plate's clearing of the same inputs in the same run for
  reference;
* **where the time goes**: HiGHS (LP updates and solves), the active-set kernel (Numba), the
  copper plate's clearing that the fast path reuses (timed separately on the same inputs), and
  the rest (Python orchestration and NumPy); the share of rows per solve path (fast path,
  previous active set, copper-plate seed, LP, fallback);
* **congestion under the case's own profile**: the whole 2020 year at hourly steps without DCs,
  the share of hours with a binding line and the most often binding lines;
* optionally an **estimate through PettingZoo**: the copper-plate env's measured step time plus
  the network's extra cost per step (network OPF minus copper-plate clearing at batch 1). The
  environment is not yet wired to this backend, so this is an estimate, labelled as one.

Needs the shared data (``fleets/rts_gmlc``). Speed figures are printed here, never asserted in
unit tests.
"""

from __future__ import annotations

import time

import numpy as np

from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.network import NetworkBackend, NetworkOptions
from gridshift.envs.grid.network_result import PATH_NAMES


def _interp(hourly: np.ndarray, per_hour: int) -> np.ndarray:
    """Hourly rows ``[T, n]`` linearly interpolated to ``per_hour`` steps per hour."""
    t = np.arange(hourly.shape[0] * per_hour) / per_hour
    h = np.arange(hourly.shape[0])
    return np.stack([np.interp(t, h, hourly[:, j]) for j in range(hourly.shape[1])], axis=1)


def _inputs(case, n_steps: int, batch: int, n_dcs: int, penetration: float, rng, days: int):
    from gridshift.data.network_cases import rts_bus_exogenous

    _, demand, solar, wind = rts_bus_exogenous(case)
    per_hour = 4
    starts = rng.integers(0, demand.shape[0] // 24 - days, batch) * 24
    span = n_steps // per_hour + 2
    rows = []
    for s in starts:
        rows.append([_interp(x[s:s + span], per_hour)[:n_steps] for x in (demand, solar + wind)])
    bus_demand = np.stack([r[0] for r in rows], axis=1)  # [T, B, n_bus]
    bus_avail = np.stack([r[1] for r in rows], axis=1)
    dc_peak = penetration * case.peak_load_mw / n_dcs
    dc = dc_peak * rng.uniform(0.4, 1.0, (n_steps, batch, n_dcs))
    return bus_demand, bus_avail, dc


def _run_network(backend, prev, bus_demand, bus_avail, dc_bus):
    p = prev
    for t in range(bus_demand.shape[0]):
        p = backend.clear_bus_arrays(p, bus_demand[t], bus_avail[t], dc_bus[t]).dispatch_mw
    return p


def _run_copper(params, prev, bus_demand, bus_avail, dc_bus):
    p = prev
    for t in range(bus_demand.shape[0]):
        p = copper_plate.clear_arrays(params, p, bus_demand[t].sum(axis=1), bus_avail[t].sum(axis=1),
                                      dc_bus[t].sum(axis=1)).dispatch_mw
    return p


def bench_network(batch_sizes=(1, 16, 64), n_steps: int = 192, n_dcs: int = 8, penetration: float = 0.12,
                  seed: int = 0, year: bool = True, pettingzoo: bool = True, stress: bool = True) -> dict:
    """Network-backend throughput, time split and congestion on RTS-GMLC (module docstring).
    ``stress``: also time every batch with the fast path off (each row through the exact
    active-set path or the LP), the cost of a grid congested at every step."""
    from gridshift.data.network_cases import load_rts_gmlc_case, rts_bus_exogenous

    case = load_rts_gmlc_case()
    sites = case.dc_sites(n=n_dcs)
    params = case.grid_params(step_minutes=15.0)
    rng = np.random.default_rng(seed)
    res: dict = {"benchmark": "network", "case": "rts_gmlc", "n_bus": case.network.n_bus,
                 "n_line": case.network.n_line, "n_units": case.fleet.n_units, "n_dcs": n_dcs,
                 "dc_buses": list(sites.bus_id), "steps_per_row": n_steps, "results": []}
    print(f"RTS-GMLC network backend: {case.network.n_bus} buses, {case.network.n_line} lines, "
          f"{case.fleet.n_units} units, {n_dcs} DCs at buses {', '.join(sites.bus_id)}")
    runs = [(nb, True) for nb in batch_sizes] + ([(nb, False) for nb in batch_sizes] if stress else [])
    for nb, fast in runs:
        if not fast and nb == batch_sizes[0]:
            print("fast path off (every row through the exact active-set path or the LP):")
        backend = NetworkBackend(params, case.network, dc_bus=sites.bus_index, options=NetworkOptions(fast_path=fast))
        backend.warm_up()
        bus_demand, bus_avail, dc = _inputs(case, n_steps + 8, nb, n_dcs, penetration, rng, days=4)
        dc_bus = np.stack([backend.dc_per_bus(dc[t], nb) for t in range(dc.shape[0])])
        prev = backend.clear_bus_arrays(
            np.ascontiguousarray(np.broadcast_to(params.fleet.min_output_mw, (nb, params.fleet.n_units))),
            bus_demand[0], bus_avail[0], dc_bus[0], ramp=False).dispatch_mw
        prev = _run_network(backend, prev, bus_demand[:8], bus_avail[:8], dc_bus[:8])  # warm-up (JIT, models)
        cp_prev = _run_copper(params, prev, bus_demand[:8], bus_avail[:8], dc_bus[:8])
        backend.reset_stats()
        t0 = time.perf_counter()
        _run_network(backend, prev, bus_demand[8:], bus_avail[8:], dc_bus[8:])
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        _run_copper(params, cp_prev, bus_demand[8:], bus_avail[8:], dc_bus[8:])
        cp_wall = time.perf_counter() - t0
        st = dict(backend.stats)
        rows = st["rows"]
        other = wall - st["lp_s"] - st["kkt_s"] - cp_wall
        row = {
            "batch": nb, "fast_path": fast, "env_steps_per_s": rows / wall, "us_per_env_step": 1e6 * wall / rows,
            "copper_plate_env_steps_per_s": rows / cp_wall,
            "paths": {k: st[k] / rows for k in PATH_NAMES}, "rows_with_binding_line": st["binding_rows"] / rows,
            "seconds": {"total": wall, "highs_lp": st["lp_s"], "active_set_kernel": st["kkt_s"],
                        "copper_plate_fast_path": cp_wall, "python_numpy_rest": other},
            "lp_simplex_iterations_per_lp": st["lp_iterations"] / max(st["lp"] + st["fallback"], 1),
        }
        res["results"].append(row)
        sh = {k: v / wall for k, v in row["seconds"].items() if k != "total"}
        print(f"batch {nb:>3}: {row['env_steps_per_s']:>8,.0f} env-steps/s ({row['us_per_env_step']:.0f} us/env-step); "
              f"copper plate {row['copper_plate_env_steps_per_s']:>10,.0f} env-steps/s")
        print("           paths " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in row["paths"].items())
              + f"; rows with a binding line {100 * row['rows_with_binding_line']:.1f}%")
        print("           time: " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in sh.items())
              + f"; {row['lp_simplex_iterations_per_lp']:.1f} simplex iterations per LP")
    if year:
        res["year_2020_hourly"] = _year(case, rts_bus_exogenous(case))
    if pettingzoo:
        res["pettingzoo"] = {name: _pz_rate(name, n_dcs) for name in ("default", "rts_gmlc")}
        r = res["pettingzoo"]
        print(f"PettingZoo env.step, {n_dcs} DCs, measured in the same run: copper plate (default) "
              f"{r['default']:,.0f} env-steps/s; network (rts_gmlc) {r['rts_gmlc']:,.0f} env-steps/s (target >= 500)")
    return res


def _pz_rate(scenario: str, n_dcs: int, busy_s: float = 3.0) -> float:
    """``env.step`` calls per second of ``parallel_env(scenario)`` (resets excluded), FIFO actions."""
    from gridshift.envs import datacenter_grid_v0
    from gridshift.eval.bench import _pz_steps_per_s

    return _pz_steps_per_s(datacenter_grid_v0.parallel_env(scenario=scenario, n_datacenters=n_dcs, infos="none"), busy_s)


def _year(case, profiles) -> dict:
    """The 2020 year at hourly steps (ramp limits over an hour), no DCs: how often lines bind."""
    _, demand, solar, wind = profiles
    params = case.grid_params(step_minutes=60.0)
    backend = NetworkBackend(params, case.network)
    backend.warm_up()
    avail = solar + wind
    zero = np.zeros((1, case.network.n_bus))
    p = backend.clear_bus_arrays(
        np.ascontiguousarray(params.fleet.min_output_mw[None]), demand[:1], avail[:1], zero, ramp=False).dispatch_mw
    counts = np.zeros(case.network.n_line)
    t0 = time.perf_counter()
    for t in range(demand.shape[0]):
        r = backend.clear_bus_arrays(p, demand[t:t + 1], avail[t:t + 1], zero)
        p = r.dispatch_mw
        counts += r.binding[0]
    wall = time.perf_counter() - t0
    st = backend.stats
    n = demand.shape[0]
    top = [(case.network.line_id[i], float(counts[i] / n)) for i in np.argsort(-counts)[:5] if counts[i] > 0]
    out = {"hours": n, "share_with_binding_line": st["binding_rows"] / n,
           "paths": {k: st[k] / n for k in PATH_NAMES}, "most_binding_lines": top, "seconds": wall}
    print(f"2020 hourly, own profiles, no DCs: a line binds in {100 * out['share_with_binding_line']:.1f}% of "
          f"{n} hours; most often: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in top)
          + f"; fast path {100 * out['paths']['fast']:.1f}%  ({n / wall:,.0f} steps/s)")
    return out


if __name__ == "__main__":  # pragma: no cover - `python -m gridshift.eval.bench_network`
    bench_network()
