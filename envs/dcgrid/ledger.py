"""The job ledger as a table: one row per job that arrived, with its one final status.

With geo-shifting a moved job has two rows: ``moved`` at its source (``moved_to_dc`` set; it
carries no work) and its copy at the target (``origin_dc`` set), which carries the job's energy
and outcome. Work totals count every row that is not ``moved``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridshift.envs.dcgrid import jobs as J

_STATUS_NAME = {v: k for k, v in J.STATUS.items()}
_CAUSE_NAME = {v: k for k, v in J.CAUSE.items()}


def ledger_frame(params, st, env_index: int = 0, *, include_pending: bool = False) -> pd.DataFrame:
    """Jobs of env ``env_index``. Steps are episode steps (0 = first step after the warm-up;
    warm-up jobs have negative arrival). ``include_pending`` adds jobs not yet arrived."""
    b = env_index
    tb = st.jobs
    n, jmax = tb.arrival.shape[1:]
    mask = np.arange(jmax)[None, :] < st.n_slots[b][:, None]
    if not include_pending:
        mask &= st.status[b] != J.PENDING
    dc, slot = np.nonzero(mask)
    w = params.scenario.warmup_steps
    start = st.start[b, dc, slot].astype(np.int64)
    finish = st.finish[b, dc, slot].astype(np.int64)
    return pd.DataFrame(
        {
            "dc": dc,
            "job": slot,
            "job_class": tb.job_class[b, dc, slot].astype(np.int64),
            "arrival_step": tb.arrival[b, dc, slot].astype(np.int64) - w,
            "duration_steps": tb.duration[b, dc, slot],
            "deadline_step": tb.deadline[b, dc, slot].astype(np.int64) - w,
            "power_mw": tb.power_mw[b, dc, slot],
            "start_step": np.where(start >= 0, start - w, -1 - 10**9),
            "finish_step": np.where(finish >= 0, finish - w, -1 - 10**9),
            "status": [_STATUS_NAME[int(s)] for s in st.status[b, dc, slot]],
            "drop_cause": [_CAUSE_NAME[int(c)] for c in st.cause[b, dc, slot]],
            "served_mwh": st.served_mwh[b, dc, slot],
            "energy_mwh": tb.power_mw[b, dc, slot] * tb.duration[b, dc, slot] * params.scenario.step_hours,
            # geo-shifting: the DC a moved-in job came from / a moved-out job went to (-1: none)
            "origin_dc": st.origin[b, dc, slot] if st.origin is not None else np.full(dc.size, -1, np.int32),
            "moved_to_dc": st.moved_to[b, dc, slot] if st.moved_to is not None else np.full(dc.size, -1, np.int32),
            # ... and a moved-in job's slot (``job``) at its source DC, -1 none
            "origin_job": st.origin_slot[b, dc, slot] if st.origin_slot is not None else np.full(dc.size, -1, np.int32),
        }
    ).replace({"start_step": {-1 - 10**9: pd.NA}, "finish_step": {-1 - 10**9: pd.NA}})
