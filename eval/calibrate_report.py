"""Metrics, verdicts and tables of :mod:`gridshift.eval.calibrate`.

Per signal (over the hours where both series are finite): Pearson r, MAE, bias (mean
sim - real) and the diurnal-profile error (RMSE between the 24 mean-by-local-hour values).
For prices also: the ratio of standard deviations (sim / real), the price-duration-curve
error (mean absolute difference between the two series each sorted, i.e. the 1-Wasserstein
distance of their distributions, $/MWh) and the hours above $100 and $300 of each.
Generation by fuel: each fuel's share of total generation over the period, sim vs EIA-930,
and the error in percentage points.

Targets (issue #14), on the test half: price r >= 0.6 and std ratio in [0.5, 2] (BAs with a
price series); CI r >= 0.8 against EIA and above the CI proxy's r; share error <= 5
percentage points for the top three fuels (by real share). A BA counts as **calibrated** when
the model's r beats both baselines' r (the price regression's where there is a price
series, the CI proxy's everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Fuels compared with EIA-930 (simulation: thermal fuels from dispatch, wind and solar as
#: used after curtailment, hydro and nuclear as given).
MIX_FUELS = ("gas", "coal", "oil", "other", "nuclear", "hydro", "wind", "solar")
PRICE_R_MIN, STD_RATIO_RANGE, CI_R_MIN, SHARE_ERR_MAX_PP = 0.6, (0.5, 2.0), 0.8, 5.0


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


def price_metrics(sim: pd.Series, real: pd.Series, tz: str) -> dict:
    """:func:`compare` plus std ratio, duration-curve error and hours above $100 / $300."""
    m = compare(sim, real, tz).__dict__.copy()
    d = pd.concat([sim.rename("s"), real.rename("r")], axis=1, sort=True).dropna()
    if len(d) >= 3:
        s, r = d["s"].to_numpy(), d["r"].to_numpy()
        m["std_ratio"] = float(s.std() / r.std()) if r.std() > 0 else float("nan")
        m["pdc_mae"] = float(np.abs(np.sort(s) - np.sort(r)).mean())
        m["hours_above_100"] = [int((s > 100).sum()), int((r > 100).sum())]
        m["hours_above_300"] = [int((s > 300).sum()), int((r > 300).sum())]
        m["mean"] = [float(s.mean()), float(r.mean())]
        m["std"] = [float(s.std()), float(r.std())]
    return m


def fuel_shares(sim: pd.DataFrame) -> dict:
    """Shares of generation by fuel (percent), sim vs real, and errors (percentage points)."""
    real = {f: float(sim[f"{f}_mw"].clip(lower=0).sum()) for f in MIX_FUELS}
    s = {f: float(sim[f"sim_{f}_mw"].sum()) for f in ("gas", "coal", "oil", "other")}
    s |= {"nuclear": real["nuclear"], "hydro": real["hydro"]}
    ren_real = real["wind"] + real["solar"]
    used = float(sim["renewable_used_mw"].sum())
    k = used / ren_real if ren_real > 0 else 0.0  # curtailment shared pro rata by wind and solar
    s |= {"wind": k * real["wind"], "solar": k * real["solar"]}
    tr, ts = sum(real.values()), sum(s.values())
    sr = {f: 100.0 * real[f] / tr for f in MIX_FUELS}
    ss = {f: 100.0 * s[f] / ts for f in MIX_FUELS}
    top3 = sorted(MIX_FUELS, key=lambda f: -sr[f])[:3]
    err = {f: ss[f] - sr[f] for f in MIX_FUELS}
    return {"sim_pct": ss, "real_pct": sr, "error_pp": err, "top3": top3,
            "top3_max_abs_error_pp": max(abs(err[f]) for f in top3)}


def coal_split_diagnostic(sim: pd.DataFrame, tz: str) -> dict:
    """How much of the CI error is the hourly coal/gas split, in two parts (a diagnostic, not a
    target). The model's life-cycle CI is recomputed with the coal output replaced, the gas
    output absorbing the difference (coal kept within ``[0, coal + gas]``), by:

    * ``within_day_real``: the simulated daily mean (local days) plus the real within-day
      deviation from the real daily mean;
    * ``daily_real``: the real daily mean plus the simulated within-day deviation;
    * ``both_real``: the real coal output.

    Returns each one's Pearson r against EIA's CI, with the model's own (``model``)."""
    from gridshift.eval.calibrate_sim import LIFECYCLE_G_PER_KWH as life

    gas, coal, gen = sim["sim_gas_mw"], sim["sim_coal_mw"], sim["generation_mw"]
    ci, ref = sim["avg_ci_lifecycle_g_per_kwh"], sim["avg_ci_eia_g_per_kwh"]
    day = sim.index.tz_convert(tz).tz_localize(None).normalize()

    def daily(x: pd.Series) -> pd.Series:
        return x.groupby(day).transform("mean")

    def r_with(c: pd.Series) -> float:
        c = c.clip(lower=0.0).where(c <= coal + gas, coal + gas)
        alt = ci + (c - coal) * (life["coal"] - life["gas"]) / gen.where(gen > 0)
        d = pd.concat([alt, ref], axis=1).dropna()
        return float(np.corrcoef(d.iloc[:, 0], d.iloc[:, 1])[0, 1]) if len(d) >= 3 else float("nan")

    real = sim["coal_mw"]
    return {"model": r_with(coal), "within_day_real": r_with(daily(coal) + real - daily(real)),
            "daily_real": r_with(daily(real) + coal - daily(coal)), "both_real": r_with(real)}


def verdict(test: dict) -> dict:
    """Targets and the 'calibrated' flag from a period's metrics (module docstring)."""
    v: dict = {}
    ci = test["ci_vs_eia"]["pearson_r"]
    proxy = test["baselines"]["ci_proxy"]["pearson_r"]
    v["ci_r_ok"] = bool(ci >= CI_R_MIN)
    v["beats_ci_proxy"] = bool(ci > proxy)
    v["mix_ok"] = bool(test["fuel_mix"]["top3_max_abs_error_pp"] <= SHARE_ERR_MAX_PP)
    if "price" in test:
        p = test["price"]
        v["price_r_ok"] = bool(p["pearson_r"] >= PRICE_R_MIN)
        v["std_ratio_ok"] = bool(STD_RATIO_RANGE[0] <= p.get("std_ratio", np.nan) <= STD_RATIO_RANGE[1])
        v["beats_price_regression"] = bool(p["pearson_r"] > test["baselines"]["price_regression"]["pearson_r"])
        v["calibrated"] = v["beats_ci_proxy"] and v["beats_price_regression"]
    else:
        v["calibrated"] = v["beats_ci_proxy"]
    return v


def _f(x, fmt=".3f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else format(x, fmt)


def format_report(res) -> str:
    """A plain-text report of one :class:`~gridshift.eval.calibrate.CalibrationResult`."""
    lines = [f"calibration {res.ba} {res.year}: params {res.params}",
             f"fit period {res.fit_period[0]}..{res.fit_period[1]}, test period {res.test_period[0]}..{res.test_period[1]}; "
             f"price reference: {res.settlement}",
             f"{'period':<6} {'signal':<24} {'pearson_r':>9} {'MAE':>9} {'bias':>9} {'diurnal':>9} {'hours':>6}"]
    for per in ("fit", "test"):
        m = res.metrics.get(per, {})
        for sig in ("ci_vs_eia", "ci_direct_vs_eia", "ci_vs_electricitymaps", "price"):
            if sig in m:
                x = m[sig]
                name = f"price ({res.settlement})" if sig == "price" else sig
                lines.append(f"{per:<6} {name:<24} {_f(x['pearson_r']):>9} {_f(x['mae'], '.2f'):>9} {_f(x['bias'], '.2f'):>9} "
                             f"{_f(x['diurnal_rmse'], '.2f'):>9} {x['n_hours']:>6d}")
        for name, b in m.get("baselines", {}).items():
            lines.append(f"{per:<6} {'baseline ' + name:<24} {_f(b['pearson_r']):>9} {_f(b['mae'], '.2f'):>9} "
                         f"{_f(b['bias'], '.2f'):>9} {_f(b['diurnal_rmse'], '.2f'):>9} {b['n_hours']:>6d}")
        if "price" in m and "std_ratio" in m["price"]:
            p = m["price"]
            lines.append(f"{per:<6} price std ratio {p['std_ratio']:.2f}, duration-curve error {p['pdc_mae']:.1f} $/MWh, "
                         f"hours > $100 sim/real {p['hours_above_100'][0]}/{p['hours_above_100'][1]}, "
                         f"> $300 {p['hours_above_300'][0]}/{p['hours_above_300'][1]}")
        if "price_hh_quoted" in m:
            q = m["price_hh_quoted"]
            lines.append(f"{per:<6} price, days with a Henry Hub quote (through {q['through']}; diagnostic, not a target): "
                         f"r {_f(q['pearson_r'])} (regression {_f(q['regression_pearson_r'])}), std ratio "
                         f"{_f(q.get('std_ratio', float('nan')), '.2f')}, {q['n_hours']} h")
        if "ci_no_skill" in m:
            lines.append(f"{per:<6} CI r of a no-skill dispatch, all fleet output as gas (diagnostic, not a target): "
                         f"{_f(m['ci_no_skill']['pearson_r'])}")
        if "ci_coal_split" in m:
            c = m["ci_coal_split"]
            lines.append(f"{per:<6} CI r with real coal (diagnostic, not a target): within-day {_f(c['within_day_real'])}, "
                         f"daily {_f(c['daily_real'])}, both {_f(c['both_real'])} (model {_f(c['model'])})")
        if "fuel_mix" in m:
            fm = m["fuel_mix"]
            lines.append(f"{per:<6} fuel share sim/real %: " + ", ".join(
                f"{f} {fm['sim_pct'][f]:.1f}/{fm['real_pct'][f]:.1f}" for f in MIX_FUELS if fm["real_pct"][f] > 0.05
                or fm["sim_pct"][f] > 0.05) + f"; top-3 max error {fm['top3_max_abs_error_pp']:.1f} pp")
    v = res.metrics.get("verdict", {})
    if v:
        lines.append("test-half verdict: " + ", ".join(f"{k}={'yes' if val else 'NO'}" for k, val in v.items()))
    lines.append(f"(CI in gCO2/kWh, price in $/MWh; {res.wall_s:.1f} s)")
    return "\n".join(lines)


def format_table(results) -> str:
    """One line per BA, test half: the issue's summary table (model vs both baselines)."""
    head = (f"{'BA':<5} {'settl.':<6} {'price r':>7} {'regr r':>7} {'MAE':>6} {'bias':>7} {'std rt':>6} {'PDC':>6} "
            f"{'>100 s/r':>10} {'>300 s/r':>9} {'CI r':>6} {'proxy r':>7} {'CI MAE':>6} {'EM r':>6} {'EM MAE':>6} "
            f"{'mix pp':>6} {'calibrated':>10}")
    lines = [head]
    for res in results:
        t = res.metrics["test"]
        p, b, v = t.get("price"), t["baselines"], t["verdict"]
        em = t.get("ci_vs_electricitymaps")
        if p is not None:
            price = (f"{_f(p['pearson_r']):>7} {_f(b['price_regression']['pearson_r']):>7} {p['mae']:>6.1f} {p['bias']:>7.1f} "
                     f"{p['std_ratio']:>6.2f} {p['pdc_mae']:>6.1f} "
                     f"{'{}/{}'.format(*p['hours_above_100']):>10} {'{}/{}'.format(*p['hours_above_300']):>9}")
            settl = "DA" if res.settlement == "day-ahead" else "RT"
        else:
            price = f"{'-':>7} {'-':>7} {'-':>6} {'-':>7} {'-':>6} {'-':>6} {'-':>10} {'-':>9}"
            settl = "-"
        lines.append(f"{res.ba:<5} {settl:<6} {price} {_f(t['ci_vs_eia']['pearson_r']):>6} "
                     f"{_f(b['ci_proxy']['pearson_r']):>7} {t['ci_vs_eia']['mae']:>6.1f} "
                     f"{_f(em['pearson_r']) if em else '-':>6} {_f(em['mae'], '.1f') if em else '-':>6} "
                     f"{t['fuel_mix']['top3_max_abs_error_pp']:>6.1f} {'yes' if v['calibrated'] else 'no':>10}")
    priced = [r for r in results if "price" in r.metrics["test"]]
    if priced:
        ok = sum(r.metrics["test"]["verdict"]["price_r_ok"] and r.metrics["test"]["verdict"]["std_ratio_ok"] for r in priced)
        beat = sum(r.metrics["test"]["verdict"]["beats_price_regression"] for r in priced)
        lines.append(f"price target (r >= {PRICE_R_MIN}, std ratio in {list(STD_RATIO_RANGE)}) met on {ok}/{len(priced)} "
                     f"(need 3 of 4); model beats the regression's r on {beat}/{len(priced)} (need 3 of 4)")
    ci_ok = sum(r.metrics["test"]["verdict"]["ci_r_ok"] and r.metrics["test"]["verdict"]["beats_ci_proxy"] for r in results)
    mix_ok = sum(r.metrics["test"]["verdict"]["mix_ok"] for r in results)
    lines.append(f"CI target (r >= {CI_R_MIN} and above the proxy) met on {ci_ok}/{len(results)}; "
                 f"fuel-mix target (top-3 error <= {SHARE_ERR_MAX_PP} pp) met on {mix_ok}/{len(results)}")
    lines.append("(test half; price r / regression r: Pearson; MAE, bias, PDC in $/MWh; CI in gCO2/kWh; "
                 "DA = day-ahead reference, RT = real-time)")
    return "\n".join(lines)
