"""Figures of the cascade study. Every cascade figure shows the closed loop, the open loop
(the agents see the FIFO shadow grid: synchronisation without feedback) and their paired
difference; heatmaps carry colour bars, labelled axes and the value of each cell, and a ``*``
marks a difference whose 95 % bootstrap CI over seeds excludes zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.eval.cascade_stats import paired, significant

LABELS = {
    "redeferrals": "re-deferrals within 1 step of resuming (count)",
    "rebound_ratio_vs_fifo": "rebound ratio / FIFO's (same seed)",
    "dflex_acf1": "lag-1 autocorrelation of Δ flexible load",
    "sync_index_vs_fifo": "sync index − FIFO's",
    "price_spike_count": "steps with price > 300 $/MWh",
    "unserved_mwh_horizon": "unserved energy, horizon (MWh)",
    "emergency_orders": "emergency orders issued",
    "emergency_steps": "steps under an emergency order",
    "price_volatility_usd_per_mwh": "std of Δ price ($/MWh)",
}
PHASE_METRICS = ("redeferrals", "rebound_ratio_vs_fifo", "dflex_acf1")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def cell_table(df: pd.DataFrame, sweep: str, label: str, index: str, columns: str, metric: str) -> dict[str, pd.DataFrame]:
    """Pivot tables (``index`` x ``columns``) of closed, open, diff and whether the diff is significant."""
    g = df[(df.sweep == sweep) & (df.label == label)]
    fifo_all = df[(df.sweep == sweep) & (df.label == "fifo")]
    out = {k: {} for k in ("closed", "open", "diff", "sig")}
    for (i, c), rows in g.groupby([index, columns]):
        f = fifo_all[(fifo_all[index] == i) & (fifo_all[columns] == c)] if index in fifo_all and columns in fifo_all else None
        s = paired(rows, metric, f)
        for k in ("closed", "open", "diff"):
            out[k][(i, c)] = s[k]
        out["sig"][(i, c)] = significant(s["diff_lo"], s["diff_hi"])
    res = {}
    for k, d in out.items():
        ser = pd.Series(d, dtype=float if k != "sig" else bool)
        res[k] = ser.unstack() if len(ser) else pd.DataFrame()
    return res


def heatmap(ax, fig, piv: pd.DataFrame, title: str, *, xlabel: str, ylabel: str, sig: pd.DataFrame | None = None,
            cmap: str = "viridis", center: bool = False, cbar_label: str = "", fmt: str = "{:.2f}",
            clim: tuple[float, float] | None = None):
    """One labelled heatmap with a colour bar and the value in each cell (``clim``: shared limits)."""
    a = piv.to_numpy(float)
    kw = {}
    if center and np.isfinite(a).any():
        m = float(np.nanmax(np.abs(a))) or 1.0
        kw = {"vmin": -m, "vmax": m}
    elif clim is not None and all(np.isfinite(clim)) and clim[1] > clim[0]:
        kw = {"vmin": clim[0], "vmax": clim[1]}
    im = ax.imshow(a, origin="lower", aspect="auto", cmap=cmap, **kw)
    ax.set_xticks(range(piv.shape[1]), [f"{c:g}" for c in piv.columns], fontsize=8)
    ax.set_yticks(range(piv.shape[0]), [f"{r:g}" for r in piv.index], fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cb.ax.tick_params(labelsize=7)
    if cbar_label:
        cb.set_label(cbar_label, fontsize=7)
    lo, hi = im.get_clim()
    for (i, j), v in np.ndenumerate(a):
        if np.isfinite(v):
            star = "*" if sig is not None and bool(sig.iloc[i, j]) else ""
            if center:
                white = abs(v) > 0.6 * max(abs(lo), abs(hi), 1e-12)
            else:
                white = (v - lo) / (hi - lo) < 0.5 if hi > lo else True
            ax.text(j, i, fmt.format(v) + star, ha="center", va="center", fontsize=7, color="w" if white else "k")
    return im


def _three(fig, axes, tabs, row_label, metric, xlabel, ylabel, fmt="{:.2f}"):
    both = np.concatenate([tabs["closed"].to_numpy(float).ravel(), tabs["open"].to_numpy(float).ravel()])
    clim = (float(np.nanmin(both)), float(np.nanmax(both))) if np.isfinite(both).any() else None
    heatmap(axes[0], fig, tabs["closed"], f"{row_label}: closed loop", xlabel=xlabel, ylabel=ylabel, fmt=fmt,
            cbar_label=metric, clim=clim)
    heatmap(axes[1], fig, tabs["open"], f"{row_label}: open loop (FIFO shadow signals)", xlabel=xlabel,
            ylabel=ylabel, fmt=fmt, cbar_label=metric, clim=clim)
    heatmap(axes[2], fig, tabs["diff"], f"{row_label}: closed − open (feedback)", xlabel=xlabel, ylabel=ylabel,
            sig=tabs["sig"], cmap="RdBu_r", center=True, fmt=fmt, cbar_label="Δ " + metric)


def phase_figures(df: pd.DataFrame, out: Path) -> dict[str, Path]:
    plt = _plt()
    paths = {}
    g = df[df.sweep == "phase"]
    labels = [x for x in g.label.unique() if x != "fifo"]
    if not labels:
        return paths
    for metric in PHASE_METRICS:
        fig, axes = plt.subplots(len(labels), 3, figsize=(15, 3.2 * len(labels)), dpi=90, squeeze=False)
        for r, lab in enumerate(labels):
            tabs = cell_table(df, "phase", lab, "n_datacenters", "penetration", metric)
            _three(fig, axes[r], tabs, lab, LABELS.get(metric, metric), "DC penetration", "number of DCs")
        fig.suptitle(f"Phase diagram, fleet scaled to keep the reserve margin: {LABELS.get(metric, metric)}", fontsize=11)
        fig.tight_layout()
        p = out / f"phase_{metric}.png"
        fig.savefig(p)
        plt.close(fig)
        paths[f"phase_{metric}"] = p
    return paths


def _lines(ax, df, sweep, labels, x, metric, split=None, split_vals=(None,)):
    for lab in labels:
        for sv in split_vals:
            g = df[(df.sweep == sweep) & (df.label == lab)]
            if split is not None:
                g = g[g[split] == sv]
            if g.empty:
                continue
            xs = sorted(g[x].unique())
            for fb, ls in (("closed", "-"), ("open", "--")):
                pts = [paired(g[g[x] == v], metric) for v in xs]
                y = np.array([p[fb] for p in pts])
                lo = np.array([p[f"{fb}_lo"] for p in pts])
                hi = np.array([p[f"{fb}_hi"] for p in pts])
                if lab == "fifo" and fb == "open":
                    continue
                name = f"{lab}{'' if split is None else f' ({sv})'}{'' if lab == 'fifo' else f', {fb}'}"
                ax.errorbar(xs, y, yerr=[np.nan_to_num(y - lo), np.nan_to_num(hi - y)], ls=ls if lab != "fifo" else ":",
                            marker="o", ms=3, capsize=2, label=name)
    ax.set_xlabel(x.replace("_", " "), fontsize=8)
    ax.set_ylabel(LABELS.get(metric, metric), fontsize=8)
    ax.tick_params(labelsize=7)


def adequacy_figure(df: pd.DataFrame, out: Path) -> dict[str, Path]:
    g = df[df.sweep == "adequacy"]
    if g.empty:
        return {}
    plt = _plt()
    metrics = ("unserved_mwh_horizon", "price_spike_count", "rebound_ratio_vs_fifo", "redeferrals")
    labs = ["fifo"] + [x for x in g.label.unique() if x != "fifo"]
    fig, axes = plt.subplots(2, len(metrics), figsize=(4.2 * len(metrics), 7), dpi=90, squeeze=False)
    for r, a in enumerate(("fixed", "scaled")):
        for ax, m in zip(axes[r], metrics, strict=True):
            _lines(ax, g[g.fleet_adequacy == a], "adequacy", labs, "penetration", m)
            ax.set_title(f"fleet {a}: {LABELS.get(m, m)}", fontsize=9)
    axes[0][0].legend(fontsize=6)
    fig.suptitle("Adequacy: undersized fleet (fixed) vs fleet scaled with penetration (solid closed, dashed open, "
                 "dotted FIFO; 95 % CIs)", fontsize=10)
    fig.tight_layout()
    p = out / "adequacy.png"
    fig.savefig(p)
    plt.close(fig)
    return {"adequacy": p}


def bars(ax, df, sweep, group_col, metric, title):
    """Closed and open bars with CIs per label (FIFO one bar)."""
    g = df[df.sweep == sweep]
    labs = list(dict.fromkeys(g[group_col]))
    x = np.arange(len(labs))
    for k, (fb, off) in enumerate((("closed", -0.2), ("open", 0.2))):
        ys, lo, hi = [], [], []
        for lab in labs:
            s = paired(g[g[group_col] == lab], metric)
            v = s[fb] if not (lab == "fifo" and fb == "open") else np.nan
            ys.append(v)
            lo.append(v - s[f"{fb}_lo"] if np.isfinite(s[f"{fb}_lo"]) else 0)
            hi.append(s[f"{fb}_hi"] - v if np.isfinite(s[f"{fb}_hi"]) else 0)
        ax.bar(x + off, ys, width=0.4, yerr=[np.nan_to_num(lo), np.nan_to_num(hi)], capsize=2,
               label=fb + (" loop" if k < 2 else ""))
    ax.set_xticks(x, labs, rotation=35, ha="right", fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)


def emergency_figures(df: pd.DataFrame, extras: dict, out: Path) -> dict[str, Path]:
    g = df[df.sweep == "emergency"].copy()
    if g.empty:
        return {}
    plt = _plt()
    paths = {}
    g["case"] = g.emergency_rule + " rule, p=" + g.penetration.map("{:g}".format) + ": " + g.label
    metrics = ("emergency_orders", "emergency_steps", "unserved_mwh_horizon", "redeferrals")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4.6), dpi=90)
    for ax, m in zip(axes, metrics, strict=True):
        bars(ax, g.assign(sweep="emergency"), "emergency", "case", m, LABELS.get(m, m))
    axes[0].legend(fontsize=7)
    fig.suptitle("The operator's emergency rule: fixed (4 steps, re-issued) vs hysteresis + ramped release "
                 "(undersized fleet; 95 % CIs)", fontsize=10)
    fig.tight_layout()
    p = out / "emergency_rule.png"
    fig.savefig(p)
    plt.close(fig)
    paths["emergency_rule"] = p
    recs = extras.get("emergency_records") or {}
    if recs:
        fig, axes = plt.subplots(3, 2, figsize=(13, 8), sharex=True, dpi=90)
        for c, rule in enumerate(("fixed", "hysteresis")):
            for pol, st in (("fifo", ":"), ("gas_literal", "-"), ("gas_intent", "--")):
                r = recs.get((rule, pol))
                if r is None:
                    continue
                gr = r.grid[~r.grid.settlement.to_numpy(bool)]
                h = np.arange(len(gr)) * r.scenario.step_hours
                axes[0][c].plot(h, gr.reserve_mw / 1000, st, label=pol)
                axes[1][c].plot(h, gr.dc_load_total_mw / 1000, st, label=pol)
                axes[2][c].step(h, gr.emergency_active.astype(int) + 0.02 * ("gas" in pol) + 0.04 * (pol == "gas_intent"),
                                st, where="post", label=pol)
            axes[0][c].axhline(r.scenario.emergency_reserve_threshold_mw / 1000, color="r", lw=0.8)
            axes[0][c].set_title(f"{rule} emergency rule (seed {r.seed}, penetration {r.scenario.penetration:g}, "
                                 "fleet not scaled)", fontsize=9)
            axes[0][c].set_ylabel("reserve GW (red: order threshold)", fontsize=8)
            axes[1][c].set_ylabel("aggregate DC load GW", fontsize=8)
            axes[2][c].set_ylabel("order in force", fontsize=8)
            axes[2][c].set_xlabel("hour of the horizon", fontsize=8)
            axes[0][c].legend(fontsize=7)
        fig.tight_layout()
        p = out / "emergency_event.png"
        fig.savefig(p)
        plt.close(fig)
        paths["emergency_event"] = p
    return paths


def stagger_figure(df: pd.DataFrame, out: Path) -> dict[str, Path]:
    g = df[df.sweep == "stagger"].copy()
    if g.empty:
        return {}
    plt = _plt()
    metrics = ("redeferrals", "rebound_ratio_vs_fifo", "sync_index_vs_fifo", "dflex_acf1")
    pens = sorted(g.penetration.unique())
    fig, axes = plt.subplots(len(pens), len(metrics), figsize=(4.6 * len(metrics), 4.2 * len(pens)), dpi=90,
                             squeeze=False)
    for r, p in enumerate(pens):
        for ax, m in zip(axes[r], metrics, strict=True):
            bars(ax, g[g.penetration == p], "stagger", "label", m, f"p={p:g}: {LABELS.get(m, m)}")
    axes[0][0].legend(fontsize=7)
    fig.suptitle("Staggering on the same base rule: each diversity mechanism alone and all together (95 % CIs)",
                 fontsize=10)
    fig.tight_layout()
    p = out / "stagger_mechanisms.png"
    fig.savefig(p)
    plt.close(fig)
    return {"stagger_mechanisms": p}


def _boundary(ax, piv_pred: pd.DataFrame, color="lime", label="predicted boundary", ls="-", lw=3.5):
    """Mark each row's first column where ``piv_pred`` is True (oscillation) with a vertical bar at
    its left edge (the boundary between the stable and oscillating cells of that row)."""
    drawn = False
    for i, (_, row) in enumerate(piv_pred.iterrows()):
        on = np.flatnonzero(row.to_numpy(bool))
        if on.size:
            x = max(on[0] - 0.5, -0.45)
            ax.plot([x, x], [i - 0.5, i + 0.5], color=color, lw=lw, ls=ls, label=None if drawn else label)
            drawn = True


def price_band_figure(df: pd.DataFrame, extras: dict, out: Path, observed: pd.DataFrame | None) -> dict[str, Path]:
    g = df[df.sweep == "price_band"]
    el = extras.get("elasticity")
    if g.empty or el is None or el.empty:
        return {}
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5), dpi=90)
    for r, metric in enumerate(("dflex_acf1", "redeferrals")):
        tabs = {k: {} for k in ("closed", "open", "diff", "sig")}
        for (w, p), rows in g[g.label != "fifo"].groupby(["width_usd_per_mwh", "penetration"]):
            s = paired(rows, metric)
            for k in ("closed", "open", "diff"):
                tabs[k][(w, p)] = s[k]
            tabs["sig"][(w, p)] = significant(s["diff_lo"], s["diff_hi"])
        tabs = {k: pd.Series(v).unstack() for k, v in tabs.items()}
        _three(fig, axes[r], tabs, "price band", LABELS.get(metric, metric), "DC penetration", "band width w ($/MWh)",
               fmt="{:.2f}" if metric == "dflex_acf1" else "{:.0f}")
        pred = el.pivot_table(index="width_usd_per_mwh", columns="penetration", values="elasticity_ratio") > 1.0
        for ax in axes[r]:
            _boundary(ax, pred.reindex(index=tabs["closed"].index, columns=tabs["closed"].columns).fillna(False),
                      label="predicted: elasticity ratio > 1")
            if observed is not None and len(observed):
                ob = observed.reindex(index=tabs["closed"].index, columns=tabs["closed"].columns).fillna(False)
                _boundary(ax, ob, color="magenta", label="observed: closing the loop adds re-deferrals", ls="--", lw=1.8)
        axes[r][2].legend(fontsize=6, loc="upper left")
    fig.suptitle("Price-responsive family (release linear in price over a band of width w): observed vs predicted "
                 "(Roozbehani et al. 2012) boundary", fontsize=10)
    fig.tight_layout()
    p = out / "price_band.png"
    fig.savefig(p)
    plt.close(fig)
    return {"price_band": p}


def resume_band_figure(df: pd.DataFrame, extras: dict, out: Path, observed: dict) -> dict[str, Path]:
    g = df[df.sweep == "resume_band"]
    pred = extras.get("prediction")
    if g.empty or pred is None:
        return {}
    plt = _plt()
    bases = sorted(g.base.dropna().unique())
    fig, axes = plt.subplots(len(bases), 3, figsize=(16, 4.2 * len(bases)), dpi=90, squeeze=False)
    for r, base in enumerate(bases):
        gb = g[(g.base == base)]
        tabs = {k: {} for k in ("closed", "open", "diff", "sig")}
        for (b, p), rows in gb.groupby(["resume_band", "penetration"]):
            s = paired(rows, "redeferrals")
            for k in ("closed", "open", "diff"):
                tabs[k][(b, p)] = s[k]
            tabs["sig"][(b, p)] = significant(s["diff_lo"], s["diff_hi"])
        tabs = {k: pd.Series(v).unstack() for k, v in tabs.items()}
        _three(fig, axes[r], tabs, f"GAS {base} + resume band b", LABELS["redeferrals"], "DC penetration",
               "resume band b (signal units)", fmt="{:.0f}")
        jump = pred.set_index("penetration")["gas_jump"]
        pr = pd.DataFrame({p: [float(jump.get(p, np.nan)) > b for b in tabs["closed"].index]
                           for p in tabs["closed"].columns}, index=tabs["closed"].index)
        for ax in axes[r]:
            # predicted: oscillation where the jump exceeds the band -> mark per column the largest such band
            for j, p in enumerate(pr.columns):
                on = np.flatnonzero(pr[p].to_numpy(bool))
                if on.size:
                    ax.plot([j - 0.5, j + 0.5], [on[-1] + 0.5] * 2, color="lime", lw=2.5,
                            label="predicted: signal jump > b below" if j == 0 else None)
            ob = observed.get(base)
            if ob is not None:
                for j, p in enumerate(ob.columns):
                    on = np.flatnonzero(ob[p].reindex(tabs["closed"].index).fillna(False).to_numpy(bool))
                    if on.size:
                        ax.plot([j - 0.5, j + 0.5], [on[-1] + 0.5] * 2, color="magenta", lw=1.5, ls="--",
                                label="observed: excess re-deferrals below" if j == 0 else None)
        axes[r][2].legend(fontsize=6, loc="upper left")
    fig.suptitle("GAS with a resume band: predicted (signal jump > b) vs observed excess re-deferrals", fontsize=10)
    fig.tight_layout()
    p = out / "resume_band.png"
    fig.savefig(p)
    plt.close(fig)
    return {"resume_band": p}


def virginia_figure(extras: dict, out: Path) -> dict[str, Path]:
    recs = extras.get("virginia_records") or {}
    if not recs:
        return {}
    plt = _plt()
    fig, axes = plt.subplots(4, 2, figsize=(13, 10), sharex=True, dpi=90)
    for c, wdw in enumerate((0.0, 1.0)):
        for key, st in (("fifo", ":"), ("gas_literal", "-"), ("gas_intent", "--"), ("gas_intent_open", "-.")):
            r = recs.get((wdw, key)) if key != "gas_intent_open" else recs.get((wdw, "gas_intent", "open"))
            if r is None:
                continue
            sc = r.scenario
            gr = r.grid[~r.grid.settlement.to_numpy(bool)]
            h = np.arange(len(gr)) * sc.step_hours
            a = int(sc.load_loss_at_h / sc.step_hours)
            lo, hi = max(0, a - 16), min(len(gr), a + int((sc.load_loss_duration_h + 10) / sc.step_hours))
            lab = key.replace("_open", " (open loop)")
            axes[0][c].plot(h[lo:hi], gr.price_usd_per_mwh.to_numpy()[lo:hi], st, label=lab)
            axes[1][c].plot(h[lo:hi], gr.reserve_mw.to_numpy()[lo:hi], st, label=lab)
            axes[2][c].plot(h[lo:hi], gr.dc_load_total_mw.to_numpy()[lo:hi], st, label=lab)
            axes[3][c].plot(h[lo:hi], gr.backlog_mwh.to_numpy()[lo:hi], st, label=lab)
            for ax in axes[:, c]:
                ax.axvspan(sc.load_loss_at_h, sc.load_loss_at_h + sc.load_loss_duration_h + wdw, color="orange",
                           alpha=0.15, lw=0)
        axes[0][c].set_title(f"Virginia 10 July 2024 replay: return {'together' if wdw == 0 else f'staggered over {wdw:g} h'}"
                             f" (seed {r.seed})", fontsize=9)
        axes[0][c].set_ylabel("price $/MWh", fontsize=8)
        axes[1][c].set_ylabel("reserve MW", fontsize=8)
        axes[2][c].set_ylabel("DC grid draw MW", fontsize=8)
        axes[3][c].set_ylabel("queued flexible work MWh", fontsize=8)
        axes[3][c].set_xlabel("hour of the horizon (shaded: on backup, then returning)", fontsize=8)
        axes[0][c].legend(fontsize=7)
    fig.tight_layout()
    p = out / "virginia_2024.png"
    fig.savefig(p)
    plt.close(fig)
    return {"virginia_2024": p}


def write_figures(df: pd.DataFrame, extras: dict, out: Path) -> dict[str, Path]:
    from gridshift.eval.cascade_report import observed_price_band, observed_resume_band

    paths = {}
    paths.update(phase_figures(df, out))
    paths.update(adequacy_figure(df, out))
    paths.update(emergency_figures(df, extras, out))
    paths.update(stagger_figure(df, out))
    paths.update(price_band_figure(df, extras, out, observed_price_band(df)))
    paths.update(resume_band_figure(df, extras, out, observed_resume_band(df)))
    paths.update(virginia_figure(extras, out))
    return paths
