"""Geo-shifting: moving queued flexible work between data centers (``Scenario.geo_shift``).

Design. The agent decides **how much** of its queued E2/E3 work to offer (the fifth core action
component, ``shift`` in [0, 1]); the environment decides **where** it goes, by a documented
broker rule. This keeps the action space independent of the number of DCs (one shared policy
serves 8 or 64 DCs, and the same ``MultiDiscrete``/``Box`` shapes hold), and it is how a
workload broker behind several sites works (the computing-network whitepaper, seed ``003``, and
EM's phase 3 route work between sites; a DC offers, the network places).

At the start of step ``t``, before the schedulers run, for every DC ``i`` with ``shift_i > 0``:

1. **Offer.** Queued E2 and E3 jobs that arrived at ``i`` (a moved job is not moved again) and
   that can still finish on time after the transfer (``deadline - (t + d) - remaining >= 0``,
   ``d`` the transfer delay) are offered, largest slack first, while their power stays within
   ``shift_i x`` the DC's queued E2+E3 power.
2. **Route.** Each offered job goes to the DC ``k != i`` with the lowest score
   ``price_k + carbon_price x marginal_ci_k`` (the last clearing's price each DC pays, its bus's
   LMP on a network; on a copper plate all scores tie) and, among equal scores, the lowest
   load ratio ``(busy_k + incoming_k) / dynamic capacity_k``; a target must not be offering
   work itself this step, must have spare dynamic capacity for the job (``dynamic_k - busy_k
   - incoming_k >= power``) and a free job slot, else the
   job stays (counted in ``geo_refused``). ``busy_k`` is the power the target ran in the last
   step plus its queued E1 work (which must start at once); its queued E2/E3 work is
   deferrable and does not make it full (a broker that counted it would refuse every offer
   to a DC that defers, :func:`gridshift.envs.dcgrid.core.geo_broker_inputs`).
3. **Move.** The source slot closes with status ``moved`` (``moved_to = k``); a copy with the
   same class, power, nominal duration, remaining work and **deadline** is appended to ``k``'s
   table with status ``in_transit``, ``origin = i`` and ``origin_slot`` its source slot; it lands (queued) at ``t + d``.
4. **Transfer energy.** Moving a job's state costs network energy, charged to the source's grid
   load in the step of the move: ``geo_transfer_energy_frac x`` the job's remaining compute
   energy (see ``Scenario.geo_transfer_energy_frac`` for the figure and its source).

Accounting: the original job is counted once, at its final DC; the source row is ``moved``
(neither served nor dropped) and the target row carries the job's energy and outcome, so
``arrived = served + dropped`` still holds over the rows that are not ``moved``.
"""

from __future__ import annotations

import numba
import numpy as np

from gridshift.envs.dcgrid.jobs import IN_TRANSIT, MOVED, QUEUED


@numba.njit(cache=True, nogil=True)
def transfer(t, shift, score, load_mw, dyn_mw, delay, energy_frac,
             job_class, arrival, duration, deadline, power, status, remaining, start, finish,
             active, n_active, n_slots, origin, moved_to, origin_slot,
             moved_out_mw, moved_in_mw, transfer_mw, refused):  # pragma: no cover - compiled
    """One step of geo-shifting for a batch ``[B, N]`` (module docstring). ``load_mw [B, N]`` is
    each DC's busy power before the move (MW; running plus queued E1, the core's
    ``geo_broker_inputs``). Outputs (``[B, N]``, reset
    here): power moved out / in, the transfer's grid load at the source, refused offers."""
    nb, n, jmax = status.shape
    incoming = np.zeros(n)
    cand = np.empty(jmax, np.int64)
    slack = np.empty(jmax)
    for b in range(nb):
        tb = t[b]
        for k in range(n):
            incoming[k] = 0.0
            moved_out_mw[b, k] = 0.0
            moved_in_mw[b, k] = 0.0
            transfer_mw[b, k] = 0.0
            refused[b, k] = 0.0
        for i in range(n):
            if shift[b, i] <= 0.0:
                continue
            q23 = 0.0
            nc = 0
            for a in range(n_active[b, i]):
                j = active[b, i, a]
                if status[b, i, j] == QUEUED and job_class[b, i, j] >= 2:
                    q23 += power[b, i, j]
                    if origin[b, i, j] < 0:
                        rem = remaining[b, i, j] if remaining[b, i, j] > 0 else duration[b, i, j]
                        sl = deadline[b, i, j] - (tb + delay) - rem
                        if sl >= 0:
                            cand[nc] = j
                            slack[nc] = sl + 1e-9 * j
                            nc += 1
            budget = shift[b, i] * q23
            used = 0.0
            for _ in range(nc):
                # the offered job with the largest slack left
                best = -1
                bs = -1.0
                for c in range(nc):
                    if cand[c] >= 0 and slack[c] > bs:
                        bs = slack[c]
                        best = c
                if best < 0:
                    break
                j = cand[best]
                cand[best] = -1
                pw = power[b, i, j]
                if used + pw > budget + 1e-9:
                    continue
                tgt = -1
                ts = np.inf
                tr = np.inf
                for k in range(n):
                    if k == i or shift[b, k] > 0.0 or n_slots[b, k] >= jmax:
                        continue
                    if dyn_mw[k] - load_mw[b, k] - incoming[k] < pw:
                        continue
                    ratio = (load_mw[b, k] + incoming[k]) / dyn_mw[k]
                    if score[b, k] < ts - 1e-9 or (abs(score[b, k] - ts) <= 1e-9 and ratio < tr):
                        tgt = k
                        ts = score[b, k]
                        tr = ratio
                if tgt < 0:
                    refused[b, i] += 1.0
                    continue
                used += pw
                s = n_slots[b, tgt]
                n_slots[b, tgt] = s + 1
                job_class[b, tgt, s] = job_class[b, i, j]
                duration[b, tgt, s] = duration[b, i, j]
                deadline[b, tgt, s] = deadline[b, i, j]
                power[b, tgt, s] = pw
                remaining[b, tgt, s] = remaining[b, i, j]
                arrival[b, tgt, s] = tb + delay
                status[b, tgt, s] = IN_TRANSIT
                origin[b, tgt, s] = i
                origin_slot[b, tgt, s] = j
                start[b, tgt, s] = -1
                finish[b, tgt, s] = -1
                active[b, tgt, n_active[b, tgt]] = s
                n_active[b, tgt] += 1
                status[b, i, j] = MOVED
                finish[b, i, j] = tb
                moved_to[b, i, j] = tgt
                incoming[tgt] += pw
                moved_out_mw[b, i] += pw
                moved_in_mw[b, tgt] += pw
                rem = remaining[b, i, j] if remaining[b, i, j] > 0 else duration[b, i, j]
                transfer_mw[b, i] += energy_frac * pw * rem  # MWh of the move over one step of dt h
        # the source lists drop MOVED slots at the scheduler's next compaction
