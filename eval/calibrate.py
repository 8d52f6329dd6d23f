"""Calibrate the grid model against a real year, and say honestly whether it is calibrated.

``gridshift calibrate --ba ERCO --year 2022`` clears the BA's grid hour by hour on its real
exogenous inputs (:mod:`gridshift.data.scenario_builder`: EIA-930 residual demand, solar
and wind; hydro, nuclear, EIA's "other" and net imports as given) with the BA's gas, coal
and oil plants from powersimdata, as the environment runs it
(:mod:`gridshift.eval.calibrate_sim`: day-ahead unit commitment, daily Henry Hub gas plus a
regional basis, ORDC scaled to the BA's peak with a minimum contingency
level, the market's own carbon price in the offers, ramp limits; day-ahead or real-time to
match the BA's price series). It then reports, on the fit and the test half
(:mod:`gridshift.eval.calibrate_report`):

* price against the ISO series (ERCOT / CAISO / NYISO day-ahead, PJM real-time): Pearson r,
  MAE, bias, std ratio, price-duration-curve error, hours above $100 and $300;
* average CI against EIA-930's production-based intensity and Electricity Maps' direct
  intensity (where the zone has 2022 data): r and MAE; generation by fuel against EIA-930;
* two baselines fitted on the fit half (:mod:`gridshift.eval.calibrate_baselines`): a
  constant emission factor times the real thermal share, and a 4-parameter regression of
  price on daily gas and residual load; the model counts as calibrated only if it beats
  both (``verdict``);
* diagnostics outside the verdict: price r and std ratio of the model and of the regression
  over the hours whose local day has a Henry Hub quote (``price_hh_quoted``; the file ends
  2022-12-13, so the last 18 days of the test half run on a carried-forward gas price); the
  CI r with the real coal output put in for the simulated one's within-day profile, daily
  level, or both (``ci_coal_split``,
  :func:`~gridshift.eval.calibrate_report.coal_split_diagnostic`): what getting the hourly
  coal/gas split right would buy against the proxy; and the CI r of a dispatch with no skill
  in the fuel split (``ci_no_skill``, :func:`~gridshift.eval.calibrate_baselines.no_skill_ci`:
  all the fleet's output burnt as gas), which says how much of the CI the real inputs already
  give away.

Fleet (``footprint=True``, the default): the region's powersimdata fleet narrowed to the
BA (:func:`~gridshift.data.region_fleet.footprint_capacity` on the fit half: each fuel
group scaled down to its observed maximum output plus a margin, groups the BA did not run
dropped). The regions are states or load zones: without it Arizona's fleet is ~5x APS's
output, Washington + Oregon's ~6x BPA's, MISO's zones carry 63 GW of coal against MISO's
41 GW peak coal output, and New York and California keep coal that had retired.

Fitted parameters: the same three for every BA (ORDC sigma, gas basis, coal-to-gas index), on
statistics of the fit half only, in this order (one pass of coordinate descent):

1. ``ordc_sigma_frac`` and ``gas_basis_usd_per_mmbtu`` jointly: for each sigma on
   :data:`SIGMA_GRID` (the spread of the ORDC's reserve-error distribution as a fraction of
   peak), the basis in :data:`BASIS_BOUNDS` that zeroes the mean price bias (bisection);
   of these pairs, the one with the highest price r among those whose std ratio is within
   the target band [0.5, 2], or with none in the band the one closest to it
   (:func:`_pick_sigma`). The fit mirrors the targets on the fit half. (An earlier version
   chose sigma on the std ratio alone at basis 0 and then the basis: in PJM it used
   scarcity adders of ~$200/MWh as a std knob and then pushed the basis to its lower
   bound to undo their mean.)
2. ``coal_gas_index`` in :data:`COAL_INDEX_BOUNDS` (log-scale bisection): coal priced at
   that multiple of the delivered gas price
   (:func:`~gridshift.data.region_fleet.index_coal_to_gas`), at which the simulated coal
   share of generation equals the real one (skipped where the footprint has no coal). In 2022
   coal plants ran well below what their coal cost implied (rail and stockpile limits made
   operators conserve coal) and their output followed load; indexed to gas, coal units keep
   their place among the gas units whatever the day's gas price, and those in the stack's
   shoulder follow load. Two earlier versions, both with every figure reported in #14's
   notes: a fixed coal price scale (the whole coal block then switched on and off with the
   daily gas price: MISO fit half, simulated coal std 11.4 GW vs 5.0 real, correlation with
   real coal output -0.17), and a coal availability derate at the table price (coal then
   flat base load: correlation 0.35 in MISO, 0.22 in SOCO, 0.10 in AZPS, against 0.85, 0.74
   and 0.56 indexed).
3. step 1 again, at the fitted coal price.

BAs without a price series keep sigma at its default
(:data:`~gridshift.envs.grid.types.ORDC_SIGMA_FRAC`) and basis 0 (nothing to fit them on) and
fit only the coal-to-gas index. ``thermal_availability`` (share of nameplate thermal capacity
available) is an option, not fitted: an earlier version fitted it, and the simulated price
spread jumped from 0.5 to 4.6 times the real one between availabilities 0.90 and 0.85 on the
ERCO fit half, too sharp an edge to fit on one half-year and carry to the other. Default fit
period Jan-Jun, test period Jul-Dec; nothing is tuned on the test half, and every figure is
reported whatever it is. A full run of the eight BAs takes about 3 minutes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.gas_prices import GAS_BASIS_USD_PER_MMBTU, hh_last_day
from gridshift.data.paths import data_root
from gridshift.data.region_fleet import COAL_GAS_INDEX, footprint_capacity, region_fleet
from gridshift.data.scenario_builder import build_real_grid, check_ba
from gridshift.envs.grid.types import ORDC_SIGMA_FRAC
from gridshift.eval import calibrate_baselines as bl
from gridshift.eval.calibrate_report import (
    STD_RATIO_RANGE,
    Metrics,
    coal_split_diagnostic,
    compare,
    format_report,
    format_table,
    fuel_shares,
    price_metrics,
    verdict,
)
from gridshift.eval.calibrate_sim import PRICE_SETTLEMENT, real_signals, simulate

__all__ = ["BASIS_BOUNDS", "COAL_INDEX_BOUNDS", "SIGMA_GRID", "CalibrationResult", "Metrics", "calibrate",
           "calibrate_all", "compare", "format_report", "format_table", "real_signals", "simulate"]

SIGMA_GRID: tuple[float, ...] = (0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.10, 0.12)
BASIS_BOUNDS: tuple[float, float] = (-3.0, 12.0)
#: Range of the fitted coal-to-gas index and bisection steps (log scale; resolution
#: 10^(1/2^7) ~ 2 %).
COAL_INDEX_BOUNDS: tuple[float, float] = (0.2, 2.0)
COAL_STEPS = 7
#: Bisection steps for the basis (resolution (12 + 3) / 2^7 = 0.12 $/MMBtu).
BASIS_STEPS = 7


@dataclass
class CalibrationResult:
    ba: str
    year: int
    fit_period: tuple[str, str]
    test_period: tuple[str, str]
    params: dict[str, float]
    metrics: dict[str, dict] = field(default_factory=dict)
    """'fit' / 'test' -> signal -> metrics (dicts); 'verdict' -> test-half targets and flags."""
    search: list[dict] = field(default_factory=list)
    wall_s: float = 0.0
    settlement: str = "day-ahead"
    """Settlement of the real price series the simulated price is compared with."""
    options: dict = field(default_factory=dict)


def _period_metrics(sim: pd.DataFrame, real: pd.DataFrame, tz: str, base: dict, frame: pd.DataFrame) -> dict:
    out: dict = {"ci_vs_eia": asdict(compare(sim["avg_ci_lifecycle_g_per_kwh"], sim["avg_ci_eia_g_per_kwh"], tz)),
                 "ci_direct_vs_eia": asdict(compare(sim["avg_ci_g_per_kwh"], sim["avg_ci_eia_g_per_kwh"], tz))}
    if "ci_em_g_per_kwh" in real and real["ci_em_g_per_kwh"].reindex(sim.index).notna().sum() >= 3:
        out["ci_vs_electricitymaps"] = asdict(compare(sim["avg_ci_g_per_kwh"], real["ci_em_g_per_kwh"], tz))
    proxy = base["ci_proxy_k"] * bl.thermal_share(frame)
    out["baselines"] = {"ci_proxy": asdict(compare(proxy, frame["avg_ci_eia_g_per_kwh"], tz)) | {"k": base["ci_proxy_k"]}}
    out["ci_no_skill"] = asdict(compare(bl.no_skill_ci(frame), frame["avg_ci_eia_g_per_kwh"], tz))  # diagnostic
    if "price_usd_per_mwh" in real:
        rp = real["price_usd_per_mwh"]
        out["price"] = price_metrics(sim["price_usd_per_mwh"], rp, tz)
        reg = bl.predict_price_regression(base["beta"], bl.regression_inputs(frame, tz))
        out["baselines"]["price_regression"] = price_metrics(reg, rp, tz) | {"beta": [float(x) for x in base["beta"]]}
        # Diagnostic, not a target: the hours whose local day has a Henry Hub quote (the file
        # ends 2022-12-13; after it the gas price is carried forward), model and regression alike.
        last = hh_last_day()
        days = sim.index.tz_convert(tz).tz_localize(None).normalize()
        if (days > last).any() and (days <= last).sum() >= 24:
            keep = days <= last
            out["price_hh_quoted"] = price_metrics(sim["price_usd_per_mwh"][keep], rp, tz) | {
                "through": str(last.date()),
                "regression_pearson_r": price_metrics(reg.reindex(sim.index)[keep], rp, tz)["pearson_r"]}
    out["fuel_mix"] = fuel_shares(sim)
    if sim["coal_mw"].abs().sum() > 0 and sim["sim_coal_mw"].sum() > 0:
        out["ci_coal_split"] = coal_split_diagnostic(sim, tz)
    return out


def _bisect_basis(f_at, lo: float, hi: float, steps: int, *, log: bool = False) -> float:
    """The value in ``[lo, hi]`` where the increasing ``f_at`` (the price bias, for the basis)
    crosses zero: a bound where ``f_at`` does not change sign there, else the midpoint of the
    last of ``steps`` halvings, rounded to 3 decimals. ``log``: halve on a log scale."""
    if f_at(lo) >= 0:
        return lo
    if f_at(hi) <= 0:
        return hi
    to, back = (np.log, np.exp) if log else (float, float)
    a, b = to(lo), to(hi)
    for _ in range(steps):
        mid = 0.5 * (a + b)
        if f_at(float(back(mid))) < 0:
            a = mid
        else:
            b = mid
    return round(float(back(0.5 * (a + b))), 3)


def _bisect_coal(err_at) -> float:
    """The coal-to-gas index in :data:`COAL_INDEX_BOUNDS` (log scale) where the fit half's coal
    share error (sim - real, decreasing in the index) crosses zero."""
    return _bisect_basis(lambda k: -err_at(k), *COAL_INDEX_BOUNDS, COAL_STEPS, log=True)


def _pick_sigma(cands: list[dict]) -> tuple[float, float]:
    """``(sigma, basis)`` of the candidate (each with its bias-zeroing basis) with the highest
    fit-half price r among those whose std ratio is within the target band
    (:data:`~gridshift.eval.calibrate_report.STD_RATIO_RANGE`); with none in the band, the one
    whose std ratio is closest to it (|log ratio|)."""
    lo, hi = STD_RATIO_RANGE
    ok = [c for c in cands if lo <= c["std_ratio"] <= hi and np.isfinite(c["price_r"])]
    best = (max(ok, key=lambda c: c["price_r"]) if ok else
            min(cands, key=lambda c: abs(np.log(max(c["std_ratio"], 1e-9)))))
    return float(best["ordc_sigma_frac"]), float(best["gas_basis_usd_per_mmbtu"])


def _has_coal(ba: str, year: int, footprint: dict | None) -> bool:
    if footprint is not None:
        return footprint.get("coal", 0.0) > 0.0
    fleet = region_fleet(ba, year=year)
    return bool(np.any(np.array(fleet.fuel) == "coal"))


def calibrate(ba: str, year: int = 2022, *, fit: tuple[str, str] | None = None, test: tuple[str, str] | None = None,
              fit_params: bool = True, gas_price_scale: float = 1.0, coal_price_scale: float = 1.0,
              coal_availability: float = 1.0, coal_gas_index: float | None = None,
              gas_basis_usd_per_mmbtu: float | None = None, thermal_availability: float = 1.0,
              ordc_sigma_frac: float | None = None, unit_commitment: bool = True, gas_price_daily: bool = True,
              cost_model: str = "average", footprint: bool = True,
              out_dir: str | Path | None = None, plot: bool = True) -> CalibrationResult:
    """Fit (optionally, module docstring) on ``fit`` and report on ``fit`` and ``test`` (ISO
    dates, UTC, ``[start, end)``; default Jan-Jun / Jul-Dec of ``year``). With
    ``fit_params=False`` the given ``coal_price_scale``, ``gas_basis_usd_per_mmbtu`` and
    ``coal_gas_index`` (defaults: the fitted tables
    :data:`~gridshift.data.gas_prices.GAS_BASIS_USD_PER_MMBTU` and
    :data:`~gridshift.data.region_fleet.COAL_GAS_INDEX`), ``coal_availability``,
    ``thermal_availability`` and ``ordc_sigma_frac`` are used as they are; ``gas_price_scale`` multiplies Henry Hub (1 =
    none). ``unit_commitment``, ``gas_price_daily``, ``cost_model`` and ``footprint`` switch
    the model's parts (all on = the model as the environment runs it). Writes
    ``calibration_<BA>_<year>.json`` (and a PNG with matplotlib) into ``out_dir``."""
    t0 = time.perf_counter()
    region = check_ba(ba)
    fit = fit or (f"{year}-01-01", f"{year}-07-01")
    test = test or (f"{year}-07-01", f"{year + 1}-01-01")
    real = real_signals(ba, year)
    has_price = "price_usd_per_mwh" in real
    settlement = PRICE_SETTLEMENT.get(ba, "day-ahead")
    prm = {"ordc_sigma_frac": float(ORDC_SIGMA_FRAC if ordc_sigma_frac is None else ordc_sigma_frac),
           "thermal_availability": float(thermal_availability), "coal_price_scale": float(coal_price_scale),
           "coal_availability": float(coal_availability),
           "coal_gas_index": COAL_GAS_INDEX.get(ba) if coal_gas_index is None else float(coal_gas_index),
           "gas_basis_usd_per_mmbtu": float(GAS_BASIS_USD_PER_MMBTU.get(ba, 0.0) if gas_basis_usd_per_mmbtu is None
                                            else gas_basis_usd_per_mmbtu)}
    opts = {"gas_price_scale": gas_price_scale, "unit_commitment": unit_commitment, "gas_price_daily": gas_price_daily,
            "settlement": settlement, "cost_model": cost_model,
            "footprint": footprint_capacity(ba, *fit, year=year) if footprint else None}
    search: list[dict] = []

    def run(period, **over):
        return simulate(ba, year, *period, **(prm | over), **opts)

    def score(**over):
        sim = run(fit, **over)
        row = {**prm, **over,
               "ci_mae": compare(sim["avg_ci_lifecycle_g_per_kwh"], sim["avg_ci_eia_g_per_kwh"], region.tz).mae}
        if has_price:
            pm = price_metrics(sim["price_usd_per_mwh"], real["price_usd_per_mwh"], region.tz)
            row |= {"price_bias": pm["bias"], "price_mae": pm["mae"], "std_ratio": pm.get("std_ratio", np.nan),
                    "price_r": pm["pearson_r"]}
        mix = fuel_shares(sim)
        row["coal_share_error_pp"] = mix["error_pp"]["coal"]
        search.append(row)
        return row

    if fit_params:
        # The fit starts from the defaults, not from the table it produced (so that it reproduces it).
        prm["gas_basis_usd_per_mmbtu"] = 0.0 if gas_basis_usd_per_mmbtu is None else float(gas_basis_usd_per_mmbtu)
        prm["coal_gas_index"] = None if coal_gas_index is None else float(coal_gas_index)
        def fit_sigma_basis():
            cands = []
            for x in SIGMA_GRID:
                b = _bisect_basis(lambda b, x=x: score(ordc_sigma_frac=x, gas_basis_usd_per_mmbtu=b)["price_bias"],
                                  *BASIS_BOUNDS, BASIS_STEPS)
                row = score(ordc_sigma_frac=x, gas_basis_usd_per_mmbtu=b)
                row["candidate"] = True  # marks it in ``search`` too
                cands.append(row)
            prm["ordc_sigma_frac"], prm["gas_basis_usd_per_mmbtu"] = _pick_sigma(cands)

        if has_price:
            fit_sigma_basis()
        if _has_coal(ba, year, opts["footprint"]):
            prm["coal_gas_index"] = _bisect_coal(lambda k: score(coal_gas_index=k)["coal_share_error_pp"])
        if has_price:
            fit_sigma_basis()
    res = CalibrationResult(ba, year, fit, test, dict(prm), search=search, settlement=settlement, options=opts)
    grid = build_real_grid(ba, year)
    f_fit = grid.window(*fit, 60.0).interpolate(limit_direction="both")
    base = {"ci_proxy_k": bl.fit_ci_proxy(bl.thermal_share(f_fit), f_fit["avg_ci_eia_g_per_kwh"])}
    if has_price:
        base["beta"] = bl.fit_price_regression(bl.regression_inputs(f_fit, region.tz), real["price_usd_per_mwh"])
    sims = {}
    for name, period in (("fit", fit), ("test", test)):
        sims[name] = run(period)
        frame = grid.window(*period, 60.0).interpolate(limit_direction="both")
        res.metrics[name] = _period_metrics(sims[name], real, region.tz, base, frame)
    res.metrics["test"]["verdict"] = verdict(res.metrics["test"])
    res.metrics["verdict"] = res.metrics["test"]["verdict"]
    res.wall_s = time.perf_counter() - t0
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        from gridshift.eval.provenance import run_metadata

        doc = {"meta": run_metadata() | {"data_root": str(data_root())}} | asdict(res)
        (out / f"calibration_{ba}_{year}.json").write_text(json.dumps(doc, indent=2, default=float) + "\n")
        if plot:
            _plot(res, sims, real, region.tz, out / f"calibration_{ba}_{year}.png")
    return res


def calibrate_all(bas=("ERCO", "CISO", "PJM", "NYIS", "MISO", "SOCO", "AZPS", "BPAT"), year: int = 2022,
                  **kw) -> list[CalibrationResult]:
    """:func:`calibrate` for each BA (the eight with an EIA-930 fuel-mix file by default)."""
    return [calibrate(b, year, **kw) for b in bas]


def _plot(res: CalibrationResult, sims: dict, real: pd.DataFrame, tz: str, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(2, 2, figsize=(12, 7))
    sim = sims["test"]
    for row, (col, rcol, label) in enumerate((("avg_ci_g_per_kwh", None, "CI gCO2/kWh"),
                                              ("price_usd_per_mwh", "price_usd_per_mwh", f"price $/MWh ({res.settlement})"))):
        r = sim["avg_ci_eia_g_per_kwh"] if rcol is None else real.get(rcol)
        wk = slice(sim.index[0], sim.index[0] + pd.Timedelta(days=14))
        ax[row, 0].plot(sim[col].loc[wk], label="simulated")
        if r is not None:
            ax[row, 0].plot(r.loc[wk], label="real (EIA)" if rcol is None else "real (ISO)")
        ax[row, 0].set_ylabel(label)
        ax[row, 0].legend()
        h = sim.index.tz_convert(tz).hour
        ax[row, 1].plot(sim[col].groupby(h).mean(), label="simulated")
        if r is not None:
            ax[row, 1].plot(r.reindex(sim.index).groupby(h).mean(), label="real")
        ax[row, 1].set_xlabel("local hour")
        ax[row, 1].set_title("diurnal profile (test period)")
    fig.suptitle(f"{res.ba} {res.year}: test period {res.test_period[0]}..{res.test_period[1]}, params {res.params}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    """``python -m gridshift.eval.calibrate [BA ...]``: calibrate each BA and print the table."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("bas", nargs="*", default=["ERCO", "CISO", "PJM", "NYIS", "MISO", "SOCO", "AZPS", "BPAT"])
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--out", default="")
    ap.add_argument("--no-uc", action="store_true", help="every unit online, minimum outputs 0 (pre-#14 model)")
    ap.add_argument("--no-footprint", action="store_true", help="the region's fleet, not narrowed to the BA")
    a = ap.parse_args(argv)
    results = []
    for b in a.bas:
        res = calibrate(b, a.year, out_dir=a.out or None, plot=False, unit_commitment=not a.no_uc,
                        footprint=not a.no_footprint)
        print(format_report(res), flush=True)
        results.append(res)
    print(format_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
