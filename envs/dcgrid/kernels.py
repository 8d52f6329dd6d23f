"""Compiled per-step kernels of the core, besides the scheduler (:mod:`.jobs`) and the market.

The formulas are documented in :mod:`.core`; they live here as loops over ``[B, N]`` because
a step of a small batch is otherwise dominated by NumPy call overhead (dozens of tiny array
operations per step). Each kernel writes into preallocated outputs.
"""

from __future__ import annotations

import math

import numba


@numba.njit(cache=True, nogil=True)
def dc_power(running, idle, pue, bat_mw, bat_mwh, eta, em_active, cmd, soc, dt,
             it_out, fac_out, ch_out, dis_out, load_out, total_out):  # pragma: no cover - compiled
    """IT power (TSCO eq. 9), facility load, battery (TSCO eq. 2) and grid load per DC."""
    nb, n = running.shape
    for b in range(nb):
        tot = 0.0
        for i in range(n):
            it = idle[i] + running[b, i]
            fac = pue[i] * it
            c = cmd[b, i] * bat_mw[i]
            if em_active[b] and c > 0.0:
                c = 0.0
            ch = 0.0
            dis = 0.0
            if c > 0.0:
                ch = min(c, (bat_mwh[i] - soc[b, i]) / (eta * dt))
                ch = max(ch, 0.0)
            elif c < 0.0:
                dis = min(-c, soc[b, i] * eta / dt, fac)
                dis = max(dis, 0.0)
            soc[b, i] += eta * ch * dt - dis * dt / eta
            ld = fac + ch - dis
            it_out[b, i] = it
            fac_out[b, i] = fac
            ch_out[b, i] = ch
            dis_out[b, i] = dis
            load_out[b, i] = ld
            tot += ld
        total_out[b] = tot


@numba.njit(cache=True, nogil=True)
def economics_and_events(
    t, spd, dt, price, avg_ci, system_cost, reserve, load, late_mwh, dropped_mwh, em_active, fac_cap,
    baseline_sum, baseline_days, demand_ring, total_demand, dr_start, dr_end, em_end, em_cap, da_reserve,
    em_mode, em_hold_until, em_k,
    carbon_price, late_pen, drop_pen, dr_price, em_pen_price, reward_w, reward_scale,
    dr_enabled, dr_lead, dr_dur, dr_threshold, em_enabled, em_threshold, em_fraction, em_dur,
    em_hysteresis, em_release_threshold, em_release_steps,
    base_out, bill_out, carbon_t_out, carbon_cost_out, sla_out, dr_rev_out, em_pen_out, cost_out, reward_out,
    social_out, dr_active_out, em_new_out,
):  # pragma: no cover - compiled
    """Per-DC costs and rewards; customer baselines; DR and emergency events for the next step.

    ``price [B, N]`` is what each DC pays (its bus's price on a network). DR revenue is paid
    only for reductions the DC chose: none while an emergency order is in
    force. ``total_demand`` feeds the demand ring the agents' observations read (the shadow
    grid's in open loop). Emergency rules: see ``Scenario.emergency_rule``."""
    nb, n = load.shape
    tlen = da_reserve.shape[1]
    for b in range(nb):
        tb = t[b]
        slot = tb % spd
        days = baseline_days[b, slot]
        dr_act = dr_start[b] >= 0 and tb >= dr_start[b] and tb < dr_end[b]
        dr_active_out[b] = dr_act
        social = system_cost[b]
        pen_sum = 0.0
        for i in range(n):
            ld = load[b, i]
            base = baseline_sum[b, i, slot] / days if days > 0 else ld
            bill = price[b, i] * ld * dt
            ct = avg_ci[b] / 1000.0 * ld * dt
            cc = carbon_price * ct
            sla = late_pen * late_mwh[b, i] + drop_pen * dropped_mwh[b, i]
            dr = dr_price * max(0.0, base - ld) * dt if (dr_act and not em_active[b]) else 0.0
            ep = em_pen_price * max(0.0, ld - fac_cap[b, i]) * dt if em_active[b] else 0.0
            base_out[b, i] = base
            bill_out[b, i] = bill
            carbon_t_out[b, i] = ct
            carbon_cost_out[b, i] = cc
            sla_out[b, i] = sla
            dr_rev_out[b, i] = dr
            em_pen_out[b, i] = ep
            cost_out[b, i] = bill + cc + sla + ep - dr
            pen_sum += sla + ep
        social += pen_sum
        social_out[b] = social
        for i in range(n):
            reward_out[b, i] = -((1.0 - reward_w) * cost_out[b, i] + reward_w * social / n) / reward_scale
            baseline_sum[b, i, slot] += load[b, i]
        baseline_days[b, slot] = days + 1
        demand_ring[b, slot] = total_demand[b]
        # DR: end, then announce from the day-ahead reserve forecast.
        if dr_start[b] >= 0 and tb + 1 >= dr_end[b]:
            dr_start[b] = -1
            dr_end[b] = -1
        if dr_enabled and dr_start[b] < 0:
            look = min(tb + 1 + dr_lead, tlen - 1)
            if da_reserve[b, look] < dr_threshold:
                dr_start[b] = tb + 1 + dr_lead
                dr_end[b] = dr_start[b] + dr_dur
        # Emergency: real reserve below the threshold orders every DC to a share of its baseline.
        em_new_out[b] = False
        if not em_enabled:
            continue
        nslot = (tb + 1) % spd
        nd = baseline_days[b, nslot]
        if not em_hysteresis:
            if reserve[b] < em_threshold and em_end[b] <= tb + 1:
                for i in range(n):
                    nbase = baseline_sum[b, i, nslot] / nd if nd > 0 else load[b, i]
                    em_cap[b, i] = em_fraction * nbase
                em_end[b] = tb + 1 + em_dur
                em_new_out[b] = True
            continue
        mode = em_mode[b]
        share = -1.0  # share of the baseline the cap allows next step; < 0: keep the cap
        if reserve[b] < em_threshold and mode != 1:
            mode = 1
            em_hold_until[b] = tb + 1 + em_dur
            share = em_fraction
            em_new_out[b] = True
        elif mode == 1:
            if tb + 1 >= em_hold_until[b] and reserve[b] >= em_release_threshold:
                mode = 2
                em_k[b] = 1
                share = em_fraction + (1.0 - em_fraction) * em_k[b] / em_release_steps
        elif mode == 2:
            em_k[b] += 1
            if em_k[b] > em_release_steps:
                mode = 0
            else:
                share = em_fraction + (1.0 - em_fraction) * em_k[b] / em_release_steps
        em_mode[b] = mode
        if mode != 0:
            em_end[b] = tb + 2  # in force for the next step
            if share >= 0.0:
                for i in range(n):
                    nbase = baseline_sum[b, i, nslot] / nd if nd > 0 else load[b, i]
                    em_cap[b, i] = share * nbase


@numba.njit(cache=True, nogil=True)
def telemetry(t, delay, true_sig, signal_hist, observed, u, kind, anomaly_prob, demand_ring, anomaly_out):  # pragma: no cover
    """Delayed and possibly anomalous grid signals (EM §IV.6); the dynamics keep the truth.

    Signals: price, renewable fraction, avg CI, marginal CI, total demand, reserve.
    Anomalies: 0 stuck (last reading repeats), 1 spike (price x5, CI x1.5),
    2 renewable fraction 0.97, 3 demand at 25 % of its daily mean.
    """
    nb, k = true_sig.shape
    d1 = delay + 1
    for b in range(nb):
        tb = t[b]
        w = tb % d1
        for j in range(k):
            signal_hist[b, w, j] = true_sig[b, j]
        # Before `delay` steps exist the agents see the oldest reading (step 0), never the truth.
        r = (tb - delay) % d1 if tb >= delay else 0
        anomaly_out[b] = -1
        if anomaly_prob > 0.0 and u[b] < anomaly_prob:
            kk = kind[b]
            anomaly_out[b] = kk
            if kk == 0:
                continue  # observed keeps the last reading
            for j in range(k):
                observed[b, j] = signal_hist[b, r, j]
            if kk == 1:
                observed[b, 0] *= 5.0
                observed[b, 2] *= 1.5
            elif kk == 2:
                observed[b, 1] = 0.97
            else:
                m = 0.0
                for s in range(demand_ring.shape[1]):
                    m += demand_ring[b, s]
                observed[b, 4] = 0.25 * m / demand_ring.shape[1]
        else:
            for j in range(k):
                observed[b, j] = signal_hist[b, r, j]


@numba.njit(cache=True, nogil=True)
def observe(t, step_hours, offs_rel, start_dow, observed, demand_ring, peak, max_ci,
            dr_start, dr_end, em_end, dr_lead, hsteps, hhours, fc_noise, da_ren, da_price, err_ren, err_price, fc_lo, fc_hi,
            q_mwh, slack, max_def, running, e0, flex, dyn, soc, bat_mwh, low, high, obs):  # pragma: no cover
    """Fill ``obs [B, N, D]`` in the order of :func:`.observation.build_layout`."""
    nb, n, d = obs.shape
    nh = hsteps.shape[0]
    tlen = da_price.shape[1]
    two_pi = 2.0 * math.pi
    for b in range(nb):
        tb = t[b]
        m = 0.0
        for s in range(demand_ring.shape[1]):
            m += demand_ring[b, s]
        m /= demand_ring.shape[1]
        announced = dr_start[b] >= 0 and tb < dr_start[b]
        active = dr_start[b] >= 0 and tb >= dr_start[b] and tb < dr_end[b]
        lead = (dr_start[b] - tb) / max(dr_lead, 1) if announced else 0.0
        for i in range(n):
            lh = tb * step_hours + offs_rel[i] + 24.0 * start_dow[b]
            tod = two_pi * (lh % 24.0) / 24.0
            dow = two_pi * ((lh / 24.0) % 7.0) / 7.0
            k = 0
            obs[b, i, 0] = math.sin(tod)
            obs[b, i, 1] = math.cos(tod)
            obs[b, i, 2] = math.sin(dow)
            obs[b, i, 3] = math.cos(dow)
            obs[b, i, 4] = observed[b, 0] / 100.0
            obs[b, i, 5] = observed[b, 1]
            obs[b, i, 6] = observed[b, 2] / max_ci
            obs[b, i, 7] = observed[b, 3] / max_ci
            obs[b, i, 8] = max(0.0, observed[b, 4] - m) / peak
            obs[b, i, 9] = observed[b, 4] / peak
            obs[b, i, 10] = observed[b, 5] / peak
            obs[b, i, 11] = 1.0 if announced else 0.0
            obs[b, i, 12] = 1.0 if active else 0.0
            obs[b, i, 13] = lead
            obs[b, i, 14] = 1.0 if tb < em_end[b] else 0.0
            k = 15
            for h in range(nh):
                idx = min(tb + hsteps[h], tlen - 1)
                # Forecasts stay inside what the market can produce: a share in [0, 1] and a price in
                # [floor, VOLL] ($/MWh / 100), whatever the noise.
                fr = da_ren[b, idx] * (1.0 + fc_noise * hhours[h] * err_ren[b, idx])
                fp = da_price[b, idx] * (1.0 + fc_noise * hhours[h] * err_price[b, idx]) / 100.0
                obs[b, i, k + h] = min(max(fr, 0.0), 1.0)
                obs[b, i, k + nh + h] = min(max(fp, fc_lo), fc_hi)
            k += 2 * nh
            for c in range(3):
                obs[b, i, k + c] = q_mwh[c, b, i] / dyn[i]
                md = max(max_def[c], 1.0)
                # negative slack: a job that can no longer finish on time (an emergency cap kept
                # it from starting); shown down to -1 class max deferral
                obs[b, i, k + 3 + c] = max(min(slack[c, b, i], md), -md) / md
            k += 6
            obs[b, i, k] = running[b, i] / dyn[i]
            obs[b, i, k + 1] = e0[b, i] / dyn[i]
            obs[b, i, k + 2] = flex[b, i] / dyn[i]
            obs[b, i, k + 3] = soc[b, i] / bat_mwh[i] if bat_mwh[i] > 0 else 0.0
            for j in range(d):
                v = obs[b, i, j]
                if v < low[j]:
                    obs[b, i, j] = low[j]
                elif v > high[j]:
                    obs[b, i, j] = high[j]
