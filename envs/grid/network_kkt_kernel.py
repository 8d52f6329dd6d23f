"""The Numba kernel of the active-set iteration (:func:`_pdas`) and its small dense LU
(partial pivoting; least squares when the KKT matrix is singular). The method, the statuses and
the tolerances are documented in :mod:`gridshift.envs.grid.network_kkt`."""

from __future__ import annotations

import numba
import numpy as np

#: Tolerance (MW) on bounds, balance and line limits in the active-set iteration.
TOL_MW = 1e-6
#: Tolerance ($/MWh) on reduced costs and multiplier signs.
TOL_PRICE = 1e-7


@numba.njit(cache=True)
def _lu(a):  # pragma: no cover - compiled
    """In-place LU with partial pivoting; returns (lu, piv, ok)."""
    n = a.shape[0]
    lu = a.copy()
    piv = np.arange(n)
    scale = 0.0
    for i in range(n):
        for j in range(n):
            scale = max(scale, abs(a[i, j]))
    tol = 1e-12 * max(scale, 1e-300)
    for k in range(n):
        best, pr = abs(lu[k, k]), k
        for i in range(k + 1, n):
            if abs(lu[i, k]) > best:
                best, pr = abs(lu[i, k]), i
        if best <= tol:
            return lu, piv, False
        if pr != k:
            for j in range(n):
                t = lu[k, j]
                lu[k, j] = lu[pr, j]
                lu[pr, j] = t
            t2 = piv[k]
            piv[k] = piv[pr]
            piv[pr] = t2
        for i in range(k + 1, n):
            f = lu[i, k] / lu[k, k]
            lu[i, k] = f
            for j in range(k + 1, n):
                lu[i, j] -= f * lu[k, j]
    return lu, piv, True


@numba.njit(cache=True)
def _lu_solve(lu, piv, b):  # pragma: no cover - compiled
    """Solve for a 2-D right-hand side ``b [n, k]``."""
    n, k = b.shape
    y = np.empty((n, k))
    for i in range(n):
        y[i] = b[piv[i]]
    for i in range(n):
        for j in range(i):
            y[i] -= lu[i, j] * y[j]
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            y[i] -= lu[i, j] * y[j]
        y[i] /= lu[i, i]
    return y


@numba.njit(cache=True)
def _pdas(ptdf, limit, load, qbus, qh, qbeta, qlo, qhi, qe, rbus, rsig, rcost, rlo, rhi, re, rprio,
          sq, sr, act, max_iter, iterate, p, x, price, eta, flow, lmci):  # pragma: no cover - compiled
    """Primal-dual active-set iteration (module docstring). Updates ``sq``/``sr``/``act`` in
    place and fills the outputs; returns the number of solves, or -1 on failure. With
    ``iterate=False`` only the LMCI of the given statuses is computed (``lmci``)."""
    nl, nb = ptdf.shape
    nq, nr = qbus.shape[0], rbus.shape[0]
    for g in range(nq):
        if qhi[g] - qlo[g] <= TOL_MW:
            sq[g] = -1
    for j in range(nr):
        if rhi[j] - rlo[j] <= TOL_MW:
            sr[j] = -1
    inj = np.empty(nb)
    for it in range(1, max_iter + 1):
        # rows: the balance and the active lines
        m = 1
        for ln in range(nl):
            if act[ln] != 0:
                m += 1
        lines = np.empty(m - 1, np.int64)
        r = np.ones((m, nb))
        k = 0
        for ln in range(nl):
            if act[ln] != 0:
                lines[k] = ln
                r[k + 1] = ptdf[ln]
                k += 1
        # fixed injections and the free units' offsets
        for b in range(nb):
            inj[b] = 0.0
        top = np.zeros(m)
        for i in range(m - 1):
            top[i + 1] = act[lines[i]] * limit[lines[i]]
        for g in range(nq):
            if sq[g] != 0:
                inj[qbus[g]] += qhi[g] if sq[g] > 0 else qlo[g]
            else:
                for a in range(m):
                    top[a] += r[a, qbus[g]] * qh[g] * qbeta[g]
        for j in range(nr):
            if sr[j] != 0:
                inj[rbus[j]] += rsig[j] * (rhi[j] if sr[j] > 0 else rlo[j])
        for a in range(m):
            s = 0.0
            for b in range(nb):
                s += r[a, b] * (load[b] - inj[b])
            top[a] += s
        # marginal linear resources, merged into groups (same cost and column)
        grp = np.full(nr, -1, np.int64)
        reps = np.empty(nr, np.int64)
        ng = 0
        for j in range(nr):
            if sr[j] != 0:
                continue
            for gi in range(ng):
                o = reps[gi]
                if abs(rcost[o] - rcost[j]) > 1e-9 * max(1.0, abs(rcost[j])):
                    continue
                same = True
                for a in range(m):
                    if abs(rsig[o] * r[a, rbus[o]] - rsig[j] * r[a, rbus[j]]) > 1e-9:
                        same = False
                        break
                if same:
                    grp[j] = gi
                    break
            if grp[j] < 0:
                grp[j] = ng
                reps[ng] = j
                ng += 1
        n = m + ng
        kk = np.zeros((n, n))
        rhs = np.zeros((n, 1))
        for g in range(nq):
            if sq[g] == 0:
                bq = qbus[g]
                for a in range(m):
                    for c in range(m):
                        kk[a, c] += r[a, qbus[g]] * r[c, bq] * qh[g]
        for gi in range(ng):
            o = reps[gi]
            for a in range(m):
                kk[a, m + gi] = rsig[o] * r[a, rbus[o]]
                kk[m + gi, a] = kk[a, m + gi]
            rhs[m + gi, 0] = rcost[o]
        for a in range(m):
            rhs[a, 0] = top[a]
        lu, piv, ok = _lu(kk)
        if not iterate:
            if n > 0 and kk.any():
                _lmci_from(lu, piv, ok, kk, r, m, ng, grp, qbus, qh, qe, sq, rhi, re, rprio, lmci, x)
            return 1
        z = _lu_solve(lu, piv, rhs)[:, 0] if ok else np.linalg.lstsq(kk, rhs)[0][:, 0]
        for b in range(nb):
            s = 0.0
            for a in range(m):
                s += r[a, b] * z[a]
            price[b] = s
        changed = False
        # quadratic units at the new prices
        for g in range(nq):
            pst = qh[g] * (price[qbus[g]] - qbeta[g])
            tq = TOL_MW * max(1.0, qhi[g] - qlo[g])
            ns = np.int8(0)
            if qhi[g] - qlo[g] <= TOL_MW or pst <= qlo[g] + tq:
                ns = np.int8(-1)
            elif pst >= qhi[g] - tq:
                ns = np.int8(1)
            if ns != sq[g]:
                changed = True
                sq[g] = ns
            p[g] = min(max(pst, qlo[g]), qhi[g])
        # linear resources: groups split, the others at their bound unless priced out of it
        for j in range(nr):
            if sr[j] != 0:
                x[j] = rhi[j] if sr[j] > 0 else rlo[j]
        for gi in range(ng):
            tot = z[m + gi]
            lo_s, hi_s = 0.0, 0.0
            for j in range(nr):
                if grp[j] == gi:
                    lo_s += rlo[j]
                    hi_s += rhi[j]
            if tot < lo_s - TOL_MW or tot > hi_s + TOL_MW:
                up = tot > hi_s
                for j in range(nr):
                    if grp[j] == gi:
                        sr[j] = np.int8(1) if up else np.int8(-1)
                        x[j] = rhi[j] if up else rlo[j]
                changed = True
                continue
            rest = min(max(tot, lo_s), hi_s) - lo_s
            for j in range(nr):
                if grp[j] == gi:
                    x[j] = rlo[j]
            for pr in range(2):
                cap = 0.0
                for j in range(nr):
                    if grp[j] == gi and rprio[j] == pr:
                        cap += rhi[j] - rlo[j]
                if cap <= 0.0 or rest <= 0.0:
                    continue
                take = min(rest, cap)
                for j in range(nr):
                    if grp[j] == gi and rprio[j] == pr:
                        x[j] += (rhi[j] - rlo[j]) * take / cap
                rest -= take
        for j in range(nr):
            if grp[j] >= 0 or rhi[j] - rlo[j] <= TOL_MW:
                continue
            rc = rcost[j] - rsig[j] * price[rbus[j]]
            if (sr[j] < 0 and rc < -TOL_PRICE) or (sr[j] > 0 and rc > TOL_PRICE):
                sr[j] = 0  # priced out of its bound: marginal (the next solve moves it on)
                changed = True
        # lines: add violated ones, drop those whose multiplier has the wrong sign
        for b in range(nb):
            inj[b] = -load[b]
        for g in range(nq):
            inj[qbus[g]] += p[g]
        for j in range(nr):
            inj[rbus[j]] += rsig[j] * x[j]
        bal = 0.0
        for b in range(nb):
            bal += inj[b]
        for ln in range(nl):
            s = 0.0
            for b in range(nb):
                s += ptdf[ln, b] * inj[b]
            flow[ln] = s
            eta[ln] = 0.0
        for i in range(m - 1):
            eta[lines[i]] = -z[i + 1]
        # one line at a time (the most overloaded in, else the most wrongly priced out): adding
        # every overloaded line at once makes the iteration wander on meshed networks
        viol = False
        worst_in, worst_in_v, worst_out, worst_out_v = -1, 0.0, -1, 0.0
        for ln in range(nl):
            tl = TOL_MW * max(1.0, limit[ln])
            over = abs(flow[ln]) - limit[ln] - tl
            if act[ln] == 0 and over > 0.0 and over / limit[ln] > worst_in_v:
                worst_in, worst_in_v = ln, over / limit[ln]
            if act[ln] != 0 and act[ln] * eta[ln] < -TOL_PRICE and -act[ln] * eta[ln] > worst_out_v:
                worst_out, worst_out_v = ln, -act[ln] * eta[ln]
            if abs(flow[ln]) > limit[ln] + 10.0 * tl:
                viol = True
        if worst_in >= 0:
            act[worst_in] = np.int8(1) if flow[worst_in] > 0 else np.int8(-1)
            changed = True
        elif worst_out >= 0:
            act[worst_out] = 0
            changed = True
        if changed:
            continue
        # fixed point: check balance, limits and the equations once more
        tot_load = 0.0
        for b in range(nb):
            tot_load += load[b]
        if abs(bal) > TOL_MW * max(1.0, tot_load) or viol:
            return -1
        for a in range(n):
            res = -rhs[a, 0]
            for c in range(n):
                res += kk[a, c] * z[c]
            if abs(res) > 1e-6 * max(1.0, abs(rhs[a, 0])):
                return -1
        for b in range(nb):
            lmci[b] = 0.0
        if n > 0:
            _lmci_from(lu, piv, ok, kk, r, m, ng, grp, qbus, qh, qe, sq, rhi, re, rprio, lmci, x)
        return it
    return -1


@numba.njit(cache=True)
def _lmci_from(lu, piv, ok, kk, r, m, ng, grp, qbus, qh, qe, sq, rhi, re, rprio, lmci, x):  # pragma: no cover - compiled
    """Add ``d(emissions)/d(load_b)`` of the factorised KKT system ``kk`` to ``lmci``."""
    nb = r.shape[1]
    n = m + ng
    rhs = np.zeros((n, nb))
    rhs[:m] = r
    dz = _lu_solve(lu, piv, rhs) if ok else np.linalg.lstsq(kk, rhs)[0]
    for g in range(qbus.shape[0]):
        if sq[g] != 0 or qe[g] == 0.0:
            continue
        for b in range(nb):
            s = 0.0
            for a in range(m):
                s += r[a, qbus[g]] * dz[a, b]
            lmci[b] += qe[g] * qh[g] * s
    for gi in range(ng):
        # emission factor of the next MW the group takes: renewables first while they have room
        e_marg = 0.0
        for pr in range(2):
            room, acc = 0.0, 0.0
            for j in range(grp.shape[0]):
                if grp[j] == gi and rprio[j] == pr:
                    h = rhi[j] - x[j]
                    if h > TOL_MW:
                        room += h
                        acc += h * re[j]
            if room > 0.0:
                e_marg = acc / room
                break
        if e_marg == 0.0:
            continue
        for b in range(nb):
            lmci[b] += e_marg * dz[m + gi, b]
