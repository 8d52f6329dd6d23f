"""Calibrate the copper-plate grid against a real year: prices and carbon intensity.

``gridshift calibrate --ba ERCO --year 2022`` clears the grid hour by hour on the BA's real
exogenous inputs (:mod:`gridshift.data.scenario_builder`: EIA-930 residual demand, solar and
wind; no DC load beyond what the data contains) with the BA's powersimdata fleet, gas at the
monthly Henry Hub price. It compares, hour by hour:

* simulated average carbon intensity against the EIA-930-derived production-based intensity
  (``avg_CI`` of the fuel-mix file: the same boundary as the simulation, local generation)
  and against Electricity Maps' direct intensity (consumption-based, imports flow-traced);
* simulated price against the real ISO price series of the BA (data README: ERCOT DAM
  HB_HUBAVG, CAISO DAM TH_NP15, PJM real-time DOM).

Simulated CI = fleet emissions / (fleet + renewables used + real hydro + real nuclear
generation), so it covers the same generation as the EIA figure.

Metrics per signal: Pearson r, MAE, bias (mean sim - real), and the **diurnal-profile
error**: RMSE between the mean-by-local-hour profiles (24 values) of sim and real.

Fitted parameters (the only ones; everything else is the table as published):

1. ``gas_price_scale``: multiplies Henry Hub for gas units (delivered-price basis), on the
   grid :data:`GAS_GRID`, chosen to minimise price MAE on the fit period;
2. ``coal_price_scale``: multiplies the table's coal fuel cost (gas-coal switching, hence
   CI), on :data:`COAL_GRID`, chosen to minimise CI MAE against EIA on the fit period with
   ``gas_price_scale`` fixed.

Fit period default Jan-Jun, test period Jul-Dec of the same year; the figures of both are
reported as they come out.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.scenario_builder import build_real_grid, check_ba, region_fleet
from gridshift.envs.grid import copper_plate
from gridshift.envs.grid.types import GridParams, MarketParams

GAS_GRID: tuple[float, ...] = (0.6, 0.8, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0)
COAL_GRID: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


@dataclass
class Metrics:
    pearson_r: float
    mae: float
    bias: float
    diurnal_rmse: float
    n_hours: int


def compare(sim: pd.Series, real: pd.Series, tz: str) -> Metrics:
    """Hour-by-hour metrics over the hours where both are finite."""
    d = pd.concat([sim.rename("s"), real.rename("r")], axis=1, sort=True).dropna()
    if len(d) < 3:
        return Metrics(float("nan"), float("nan"), float("nan"), float("nan"), len(d))
    r = float(np.corrcoef(d["s"], d["r"])[0, 1]) if d["s"].std() > 0 and d["r"].std() > 0 else float("nan")
    hour = d.index.tz_convert(tz).hour
    prof = d.groupby(hour).mean()
    return Metrics(r, float((d["s"] - d["r"]).abs().mean()), float((d["s"] - d["r"]).mean()),
                   float(np.sqrt(((prof["s"] - prof["r"]) ** 2).mean())), len(d))


def simulate(ba: str, year: int, start, end, *, gas_price_scale: float = 1.0, coal_price_scale: float = 1.0,
             market: MarketParams | None = None) -> pd.DataFrame:
    """Clear the BA's grid hourly over ``[start, end)`` (UTC); one fleet per calendar month
    (Henry Hub monthly mean), dispatch carried across months. Returns price and CI per hour."""
    grid = build_real_grid(ba, year)
    f = grid.window(start, end, 60.0)
    f = f.interpolate(limit_direction="both")
    market = market or MarketParams(step_minutes=60.0)
    months = f.index.tz_convert(None).to_period("M")
    prev = None
    price = np.empty(len(f))
    ci = np.empty(len(f))
    lam = np.empty(len(f))
    must = (f["hydro_mw"] + f["nuclear_mw"]).to_numpy()
    for m in months.unique():
        sel = np.flatnonzero(months == m)
        fleet = region_fleet(ba, start=m.start_time, end=(m + 1).start_time, year=year,
                             gas_price_scale=gas_price_scale, coal_price_scale=coal_price_scale)
        params = GridParams(fleet=fleet, market=market)
        dem = f["residual_demand_mw"].to_numpy()[sel]
        av = (f["solar_mw"] + f["wind_mw"]).to_numpy()[sel]
        if prev is None:
            prev = np.ascontiguousarray(fleet.min_output_mw[None, :], dtype=np.float64)
            prev = copper_plate.clear_arrays(params, prev, dem[:1].copy(), av[:1].copy(), np.zeros(1), ramp=False).dispatch_mw
        for k, i in enumerate(sel):
            res = copper_plate.clear_arrays(params, prev, dem[k:k + 1].copy(), av[k:k + 1].copy(), np.zeros(1))
            prev = res.dispatch_mw
            gen = res.thermal_mw[0] + res.renewable_used_mw[0] + must[i]
            ci[i] = 1000.0 * res.emissions_t_co2[0] / market.step_hours / gen if gen > 0 else np.nan
            price[i] = res.price_usd_per_mwh[0]
            lam[i] = res.system_lambda_usd_per_mwh[0]
    return pd.DataFrame({"price_usd_per_mwh": price, "energy_price_usd_per_mwh": lam, "avg_ci_g_per_kwh": ci,
                         "avg_ci_eia_g_per_kwh": f["avg_ci_eia_g_per_kwh"].to_numpy()}, index=f.index)


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


@dataclass
class CalibrationResult:
    ba: str
    year: int
    fit_period: tuple[str, str]
    test_period: tuple[str, str]
    params: dict[str, float]
    metrics: dict[str, dict[str, dict]] = field(default_factory=dict)
    """period ('fit'/'test') -> signal -> Metrics as dict."""
    search: list[dict] = field(default_factory=list)
    wall_s: float = 0.0


def _period_metrics(sim: pd.DataFrame, real: pd.DataFrame, tz: str) -> dict[str, dict]:
    out = {"ci_vs_eia": asdict(compare(sim["avg_ci_g_per_kwh"], sim["avg_ci_eia_g_per_kwh"], tz))}
    if "ci_em_g_per_kwh" in real:
        out["ci_vs_electricitymaps"] = asdict(compare(sim["avg_ci_g_per_kwh"], real["ci_em_g_per_kwh"], tz))
    if "price_usd_per_mwh" in real:
        out["price"] = asdict(compare(sim["price_usd_per_mwh"], real["price_usd_per_mwh"], tz))
    return out


def calibrate(ba: str, year: int = 2022, *, fit: tuple[str, str] | None = None, test: tuple[str, str] | None = None,
              fit_params: bool = True, gas_price_scale: float = 1.0, coal_price_scale: float = 1.0,
              out_dir: str | Path | None = None, plot: bool = True) -> CalibrationResult:
    """Fit (optionally) on ``fit`` and report on ``fit`` and ``test`` (ISO dates, UTC,
    ``[start, end)``); default Jan-Jun / Jul-Dec of ``year``. Writes ``calibration_<BA>_<year>.json``
    (and a PNG when matplotlib is installed) into ``out_dir``."""
    t0 = time.perf_counter()
    region = check_ba(ba)
    fit = fit or (f"{year}-01-01", f"{year}-07-01")
    test = test or (f"{year}-07-01", f"{year + 1}-01-01")
    real = real_signals(ba, year)
    search: list[dict] = []
    gs, cs = gas_price_scale, coal_price_scale
    if fit_params:
        def score(g, c, key):
            sim = simulate(ba, year, *fit, gas_price_scale=g, coal_price_scale=c)
            m = _period_metrics(sim, real, region.tz)
            search.append({"gas_price_scale": g, "coal_price_scale": c, **{k: v["mae"] for k, v in m.items()}})
            return m[key]["mae"] if key in m else m["ci_vs_eia"]["mae"]

        key = "price" if "price_usd_per_mwh" in real else "ci_vs_eia"
        gs = min(GAS_GRID, key=lambda g: score(g, cs, key))
        cs = min(COAL_GRID, key=lambda c: score(gs, c, "ci_vs_eia"))
    res = CalibrationResult(ba, year, fit, test, {"gas_price_scale": gs, "coal_price_scale": cs}, search=search)
    sims = {}
    for name, (s, e) in (("fit", fit), ("test", test)):
        sims[name] = simulate(ba, year, s, e, gas_price_scale=gs, coal_price_scale=cs)
        res.metrics[name] = _period_metrics(sims[name], real, region.tz)
    res.wall_s = time.perf_counter() - t0
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"calibration_{ba}_{year}.json").write_text(json.dumps(asdict(res), indent=2) + "\n")
        if plot:
            _plot(res, sims, real, region.tz, out / f"calibration_{ba}_{year}.png")
    return res


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
                                              ("price_usd_per_mwh", "price_usd_per_mwh", "price $/MWh"))):
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
            rr = r.reindex(sim.index)
            ax[row, 1].plot(rr.groupby(h).mean(), label="real")
        ax[row, 1].set_xlabel("local hour")
        ax[row, 1].set_title("diurnal profile (test period)")
    fig.suptitle(f"{res.ba} {res.year}: test period {res.test_period[0]}..{res.test_period[1]}, params {res.params}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def format_report(res: CalibrationResult) -> str:
    """A plain-text table of the figures."""
    lines = [f"calibration {res.ba} {res.year}: params {res.params}; fit period {res.fit_period[0]}..{res.fit_period[1]}",
             f"{'period':<6} {'signal':<22} {'pearson_r':>9} {'MAE':>9} {'bias':>9} {'diurnal':>9} {'hours':>6}"]
    for per in ("fit", "test"):
        for sig, m in res.metrics.get(per, {}).items():
            lines.append(f"{per:<6} {sig:<22} {m['pearson_r']:>9.3f} {m['mae']:>9.2f} {m['bias']:>9.2f} "
                         f"{m['diurnal_rmse']:>9.2f} {m['n_hours']:>6d}")
    lines.append(f"(CI in gCO2/kWh, price in $/MWh; test period {res.test_period[0]}..{res.test_period[1]}; "
                 f"{res.wall_s:.1f} s)")
    return "\n".join(lines)
