"""Hand-computed cases of the scheduler kernel: EDF, SLA guard, drops, E3 preemption, emergency."""

from __future__ import annotations

import numpy as np

from gridshift.envs.dcgrid import jobs as J


class OneDC:
    """One env, one DC, a hand-made job table; steps the kernel and keeps its outputs."""

    def __init__(self, jobs, dyn_cap_mw=10.0, overhead=1, sla_guard=True):
        # jobs: list of (class, arrival, duration, max_deferral, power)
        k = len(jobs)
        self.job_class = np.array([[[j[0] for j in jobs]]], np.int8)
        self.arrival = np.array([[[j[1] for j in jobs]]], np.int32)
        self.duration = np.array([[[j[2] for j in jobs]]], np.int32)
        self.deadline = np.array([[[j[1] + j[3] + j[2] for j in jobs]]], np.int32)
        self.power = np.array([[[j[4] for j in jobs]]], np.float64)
        self.n_jobs = np.array([[k]], np.int32)
        self.status = np.full((1, 1, k), J.PENDING, np.int8)
        self.cause = np.zeros((1, 1, k), np.int8)
        self.remaining = np.zeros((1, 1, k), np.int32)
        self.start = np.full((1, 1, k), -1, np.int32)
        self.finish = np.full((1, 1, k), -1, np.int32)
        self.served = np.zeros((1, 1, k))
        self.active = np.zeros((1, 1, k), np.int32)
        self.n_active = np.zeros((1, 1), np.int64)
        self.next_arrival = np.zeros((1, 1), np.int64)
        self.cap = np.array([dyn_cap_mw])
        self.overhead = overhead
        self.sla_guard = sla_guard
        self.t = 0
        self.outs = []

    def step(self, release=(1.0, 1.0, 1.0), emergency_cap=np.inf):
        out = np.zeros((len(J.OUT_FIELDS), 1, 1))
        J.step_jobs(
            np.array([self.t], np.int64), np.array([[release]], float), self.cap, np.array([[emergency_cap]], float),
            0.25, self.overhead, self.sla_guard,
            self.job_class, self.arrival, self.duration, self.deadline, self.power, self.n_jobs,
            self.status, self.cause, self.remaining, self.start, self.finish, self.served,
            self.active, self.n_active, self.next_arrival, out,
        )
        self.t += 1
        o = {k: float(out[i, 0, 0]) for k, i in J.OUT_INDEX.items()}
        self.outs.append(o)
        return o

    def s(self, j):
        return int(self.status[0, 0, j])


def test_one_job_through_edf():
    dc = OneDC([(1, 0, 2, 8, 4.0)])  # E1, arrives at 0, 2 steps, 4 MW
    o = dc.step()
    assert dc.s(0) == J.RUNNING and o["started"] == 1 and o["running_mw"] == 4.0
    assert o["served_mwh"] == 4.0 * 0.25
    dc.step()
    assert dc.s(0) == J.DONE_ON_TIME
    assert dc.start[0, 0, 0] == 0 and dc.finish[0, 0, 0] == 2
    assert dc.served[0, 0, 0] == 4.0 * 2 * 0.25


def test_edf_order_within_capacity():
    # Three E2 jobs of 4 MW, capacity 10: only two fit; the two earliest deadlines win.
    dc = OneDC([(2, 0, 3, 20, 4.0), (2, 0, 3, 5, 4.0), (2, 0, 3, 10, 4.0)])
    dc.step()
    assert [dc.s(j) for j in range(3)] == [J.QUEUED, J.RUNNING, J.RUNNING]


def test_release_fraction_limits_power_in_edf_order():
    # Four 2 MW E1 jobs, release 0.5: 4 MW of 8 MW queued may start, earliest deadlines first.
    dc = OneDC([(1, 0, 4, 8 - k, 2.0) for k in range(4)], dyn_cap_mw=100.0)
    o = dc.step(release=(0.5, 1.0, 1.0))
    assert [dc.s(j) for j in range(4)] == [J.QUEUED, J.QUEUED, J.RUNNING, J.RUNNING]
    assert o["queued_mw_e1"] == 4.0


def test_sla_guard_forces_start():
    # E1, 2 steps, 3 steps of deferral: deadline 5. Held back by the agent, its slack
    # (deadline - t - remaining) reaches 0 at t = 3: the guard starts it; done at 5, on time.
    dc = OneDC([(1, 0, 2, 3, 4.0)])
    for _ in range(3):
        dc.step(release=(0.0, 0.0, 0.0))
        assert dc.s(0) == J.QUEUED
    o = dc.step(release=(0.0, 0.0, 0.0))
    assert dc.s(0) == J.RUNNING and o["forced_starts"] == 1 and dc.start[0, 0, 0] == 3
    dc.step(release=(0.0, 0.0, 0.0))
    assert dc.s(0) == J.DONE_ON_TIME and dc.finish[0, 0, 0] == 5


def test_drop_when_deadline_passes_unstarted():
    dc = OneDC([(1, 0, 2, 3, 4.0)], sla_guard=False)
    for _ in range(5):
        dc.step(release=(0.0, 0.0, 0.0))
    assert dc.s(0) == J.QUEUED  # t = 4 < deadline 5
    o = dc.step(release=(0.0, 0.0, 0.0))
    assert dc.s(0) == J.DROPPED and dc.cause[0, 0, 0] == J.CAUSE_DEADLINE
    assert o["dropped_deadline"] == 1 and o["dropped_mwh"] == 4.0 * 2 * 0.25
    assert dc.served[0, 0, 0] == 0.0


def test_late_completion_when_no_capacity():
    # A 9 MW E0 job holds the DC; the E1 job (slack 0 at t=0) cannot start until t=2: late.
    dc = OneDC([(0, 0, 2, 0, 9.0), (1, 0, 2, 1, 4.0)])
    dc.step()
    dc.step()
    assert dc.s(1) == J.QUEUED
    dc.step()
    assert dc.s(1) == J.RUNNING
    o = dc.step()
    assert dc.s(1) == J.DONE_LATE and o["completed_late"] == 1 and o["late_mwh"] == 4.0 * 2 * 0.25


def test_e3_preemption_with_checkpoint_overhead():
    dc = OneDC([(3, 0, 4, 40, 5.0)], overhead=1)
    dc.step()
    assert dc.s(0) == J.RUNNING and dc.remaining[0, 0, 0] == 3
    o = dc.step(release=(1.0, 1.0, 0.0))  # pause training
    assert dc.s(0) == J.QUEUED and o["preempted"] == 1
    assert dc.remaining[0, 0, 0] == 4  # 3 left + 1 step of checkpoint overhead
    for _ in range(4):
        dc.step()
    assert dc.s(0) == J.DONE_ON_TIME
    # Work done: 1 step before the pause, 4 after: 5 steps of 5 MW.
    assert dc.served[0, 0, 0] == 5.0 * 5 * 0.25
    assert dc.start[0, 0, 0] == 0


def test_e0_preempts_training_for_room():
    dc = OneDC([(3, 0, 8, 40, 8.0), (0, 1, 1, 0, 4.0)], dyn_cap_mw=10.0)
    dc.step()
    o = dc.step()
    assert dc.s(1) in (J.RUNNING, J.DONE_ON_TIME) and dc.s(0) == J.QUEUED and o["preempted"] == 1


def test_emergency_order_sheds_e0_last():
    jobs = [(0, 0, 10, 0, 4.0), (1, 0, 10, 50, 4.0), (3, 0, 10, 50, 1.0)]
    dc = OneDC(jobs, dyn_cap_mw=20.0)
    dc.step()
    assert all(dc.s(j) == J.RUNNING for j in range(3))
    o = dc.step(emergency_cap=5.0)  # 9 MW running, 5 allowed: E3 preempted, E1 shed
    assert dc.s(1) == J.DROPPED and dc.s(0) == J.RUNNING
    assert dc.cause[0, 0, 1] == J.CAUSE_EMERGENCY and o["dropped_emergency"] == 1
    assert o["preempted"] == 1 and o["running_mw"] <= 5.0
    # The checkpointed E3 job (1 MW) fits again beside E0 within the order and restarts.
    assert dc.s(2) == J.RUNNING and dc.remaining[0, 0, 2] == 10 - 1 + 1 - 1
    o = dc.step(emergency_cap=3.0)  # even E0 goes
    assert dc.s(0) == J.DROPPED and dc.cause[0, 0, 0] == J.CAUSE_EMERGENCY
    assert o["running_mw"] == 1.0 and dc.s(2) == J.RUNNING  # only the 1 MW E3 job fits under 3 MW
    # No start beyond the order, not even for the guard.
    o = dc.step(emergency_cap=0.0)
    assert dc.s(2) == J.QUEUED and o["running_mw"] == 0.0 and o["started"] == 0
