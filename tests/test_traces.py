"""Real job traces: loaders on tiny inline files, the E0-E3 mapping, malformed files, replay
scaling and windows, the env on a replayed trace, and (when ``../shared/data`` is present) the
real files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridshift.data import traces as T
from gridshift.data.loaders.timeseries import DataFormatError
from gridshift.data.paths import DataNotFoundError
from gridshift.envs import datacenter_grid_v0
from gridshift.envs.dcgrid.scenario import load_scenario
from gridshift.envs.dcgrid.workload import dc_params, generate_jobs

H = 3600.0

ALIBABA = """name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time
p0,12000,16384,1,1000,,LS,Running,0,100,0
p1,6000,12288,1,500,,BE,Failed,10,3610,12
p2,4000,8192,8,1000,,BE,Succeeded,20,18020,
p3,1000,1024,0,0,,Burstable,Running,30,20000,30
p4,2000,2048,2,1000,,Guaranteed,Running,40,20000,41
"""
AZURE = """TIMESTAMP,ContextTokens,GeneratedTokens
2023-11-16 18:00:00.0000000,100,10
2023-11-16 18:00:01.5000000,200,20
2023-11-16 18:00:03.0000000,300,30
"""
GOOGLE = """job_id,submit_s,schedule_s,end_s,duration_s,end_event,sched_class,priority,n_tasks,cpu_req_sum,mem_req_sum,disk_req_sum,cpu_req_max,mem_req_max,user
1,600,601,701,100,FINISH,3,9,1,0.5,0.1,0,0.5,0.1,u
2,700,700,800,100,FINISH,2,0,2,0.25,0.1,0,0.125,0.1,u
3,800,800,11600,10800,KILL,1,4,1,0.1,0.1,0,0.1,0.1,u
4,900,900,18900,18000,FINISH,0,1,4,1.0,0.1,0,0.25,0.1,u
5,1000,1000,,,,0,0,1,0.2,0.1,0,0.2,0.1,u
"""
PHILLY = """job_id,submitted_time,num_gpus,runtime_min,n_attempts,first_start,last_end
a1,2017-09-04 10:00:00,8,60,1,2017-09-04 10:00:10,2017-09-04 11:00:10
a2,2017-09-04 11:00:00,4,300,3,2017-09-04 11:00:05,2017-09-04 16:00:05
"""


def _write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---------------------------------------------------------------- loaders and mapping


def test_alibaba_loader_units_and_classes(tmp_path):
    df = T.load_alibaba_gpu_2023(_write(tmp_path, "pods.csv", ALIBABA))
    assert len(df) == 5 and df["job_class"].dtype == np.int8
    # LS -> E0; BE 1 h -> E2; BE 5 h -> E3; Burstable -> E1; Guaranteed -> E0.
    assert df["job_class"].tolist() == [0, 2, 3, 1, 0]
    assert df["duration_s"].tolist() == [100, 3600, 18000, 19970, 19960]
    assert df["gpus"].tolist() == [1.0, 0.5, 8.0, 0.0, 2.0]
    assert df.loc[1, "work"] == pytest.approx((0.3 * 0.5 + 0.01 * 6.0) * 3600)
    assert np.isnan(df.loc[2, "start_s"])
    assert df["censored"].tolist() == [False, False, False, True, True]


def test_azure_loader_relative_times_and_e0(tmp_path):
    df = T.load_azure_llm_2023(_write(tmp_path, "AzureLLMInferenceTrace_conv.csv", AZURE))
    assert df["submit_s"].tolist() == [0.0, 1.5, 3.0]
    assert df["duration_s"].tolist() == pytest.approx([0.5, 1.0, 1.5])
    assert df["work"].tolist() == [110, 220, 330]
    assert (df["job_class"] == 0).all() and (df["service"] == "conv").all()


def test_google_loader_classes_and_censoring(tmp_path):
    df = T.load_google_2011(_write(tmp_path, "g.csv", GOOGLE))
    # sched_class 3 -> E0, 2 -> E1, 1 for 3 h -> E2, 0 for 5 h -> E3, censored 0 -> E3.
    assert df["job_class"].tolist() == [0, 1, 2, 3, 3]
    assert df["censored"].tolist() == [False, False, False, False, True]
    assert df.loc[4, "duration_s"] == 18900 - 1000  # censored at the last end_s of the file
    assert df.loc[0, "submit_utc"] == pd.Timestamp("2011-05-01 23:00:00", tz="UTC")
    assert df.loc[3, "work"] == pytest.approx(1.0 * 18000)


def test_philly_loader_classes(tmp_path):
    df = T.load_philly(_write(tmp_path, "philly.csv", PHILLY))
    assert df["submit_s"].tolist() == [0.0, 3600.0]
    assert df["job_class"].tolist() == [2, 3]  # 1 h -> E2, 5 h -> E3
    assert df["work"].tolist() == [8 * 3600.0, 4 * 18000.0]


def test_mapping_boundary_is_four_hours():
    d = np.array([4 * H - 1, 4 * H])
    assert T.classify_philly(d).tolist() == [2, 3]
    assert T.classify_google([0, 1, 2, 3], [H, 5 * H, 5 * H, 5 * H]).tolist() == [2, 3, 1, 0]
    assert T.classify_alibaba(["BE", "BE", "LS", "Burstable", "Guaranteed"], [H, 5 * H, 5 * H, H, H]).tolist() == [2, 3, 0, 1, 0]
    assert T.classify_azure(3).tolist() == [0, 0, 0]


@pytest.mark.parametrize("name,text", [("alibaba_gpu_2023", ALIBABA), ("azure_llm_2023", AZURE),
                                       ("google_2011", GOOGLE), ("philly", PHILLY)])
def test_format_detected_or_declared(tmp_path, name, text):
    p = _write(tmp_path, f"{name}.csv", text)
    assert T.detect_trace_format(p) == name
    assert T.load_trace(p).equals(T.load_trace(p, fmt=name))


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"x\.csv: unknown job-trace format.*expected the columns"):
        T.detect_trace_format(_write(tmp_path, "x.csv", "a,b\n1,2\n"))
    with pytest.raises(DataNotFoundError, match="data not found at"):
        T.load_philly(tmp_path / "absent.csv")


@pytest.mark.parametrize("loader,text,old,new,col,row,expected", [
    (T.load_alibaba_gpu_2023, ALIBABA, "p1,6000,12288,1,500,,BE", "p1,6000,12288,1,500,,XX", "qos", 2, "one of"),
    (T.load_alibaba_gpu_2023, ALIBABA, "p2,4000,8192,8,1000", "p2,4000,8192,8,lots", "gpu_milli", 3, "a number"),
    (T.load_alibaba_gpu_2023, ALIBABA, "10,3610,12", "10,5,12", "deletion_time", 2, "creation_time"),
    (T.load_azure_llm_2023, AZURE, "2023-11-16 18:00:01.5000000", "yesterday", "TIMESTAMP", 2, "a date-time"),
    (T.load_google_2011, GOOGLE, "FINISH,2,0", "FINISH,7,0", "sched_class", 2, "<= 3"),
    (T.load_philly, PHILLY, ",4,300,", ",4,-5,", "runtime_min", 2, ">= 0"),
])
def test_malformed_file_names_file_column_row_expected(tmp_path, loader, text, old, new, col, row, expected):
    assert old in text
    p = _write(tmp_path, "bad.csv", text.replace(old, new))
    with pytest.raises(DataFormatError) as e:
        loader(p)
    msg = str(e.value)
    assert "bad.csv" in msg and f"column {col!r}" in msg and f"data row {row} " in msg and expected in msg


def test_missing_column_is_named(tmp_path):
    p = _write(tmp_path, "bad.csv", PHILLY.replace("num_gpus", "gpus"))
    with pytest.raises(DataFormatError, match=r"bad\.csv: missing column\(s\) \['num_gpus'\]"):
        T.load_philly(p)


# ---------------------------------------------------------------- replay


def _regular(n=40, gap_s=900.0, dur_s=1800.0, cls=2) -> pd.DataFrame:
    """One job every ``gap_s`` seconds, each one work unit per second for ``dur_s``."""
    sub = gap_s * np.arange(n)
    return pd.DataFrame({"submit_s": sub, "duration_s": np.full(n, dur_s), "work": np.full(n, dur_s),
                         "job_class": np.full(n, cls, np.int8)})


def test_replay_scaling_is_hand_checked():
    # Tiled: period 40 x 900 s, work 40 x 1800 -> 2 units/s; 50 % of 100 MW -> 25 MW/unit.
    rep = T.make_replay(_regular(), "regular", loop=True)
    assert rep.span_s == 36000 and rep.mean_rate == pytest.approx(2.0)
    (w,) = T.trace_arrivals(rep, [100.0], np.random.default_rng(1), step_minutes=15, total_steps=96,
                            target_utilization=0.5, max_job_frac=0.5)
    assert np.all(np.diff(w.arrival) >= 0)
    # After step 0: one new job per step, 2 steps at 1 unit/s = 25 MW.
    later = w.arrival > 0
    assert np.all(w.power_mw[later] == pytest.approx(25.0)) and np.all(w.duration[later] == 2)
    assert np.bincount(w.arrival[later], minlength=96)[1:].tolist() == [1] * 95
    run = np.zeros(96)
    for a, d, p in zip(w.arrival, w.duration, w.power_mw, strict=True):
        run[a:a + d] += p
    # Two jobs at a time once the backlog has run out: target_utilization x dynamic capacity.
    assert np.all(run[2:] == pytest.approx(50.0))
    # Step 0 has the new job and the backlog: the two jobs running at s0 (submitted phi and
    # phi + 900 s before it) bring their remaining work, so energy is preserved.
    phi = w.offset_s % 900.0
    e0 = (w.power_mw * w.duration * 900.0)[w.arrival == 0].sum()
    assert e0 == pytest.approx(25.0 * ((1800 - phi) + (900 - phi) + 1800))


def test_big_jobs_split_and_short_jobs_batched():
    rep = T.make_replay(_regular(), "regular", loop=True)
    (w,) = T.trace_arrivals(rep, [100.0], np.random.default_rng(1), step_minutes=15, total_steps=8,
                            target_utilization=0.5, max_job_frac=0.1)
    later = w.arrival > 0  # each 25 MW job is split into 3 parts of at most 10 MW
    assert np.all(w.power_mw[later] == pytest.approx(25.0 / 3)) and later.sum() == 3 * 7
    # 10 one-minute jobs a step, 1 unit/s each: merged into one E0 batch per step.
    short = pd.DataFrame({"submit_s": 90.0 * np.arange(100), "duration_s": 60.0, "work": 60.0,
                          "job_class": np.zeros(100, np.int8)})
    (w,) = T.trace_arrivals(T.make_replay(short, "short", loop=True), [100.0], np.random.default_rng(0),
                            step_minutes=15, total_steps=20, target_utilization=0.5, max_job_frac=1.0)
    assert w.arrival.tolist() == list(range(20)) and np.all(w.duration == 1) and np.all(w.job_class == 0)
    assert w.power_mw.mean() == pytest.approx(50.0, rel=0.07)


def test_windows_seeded_per_dc_and_scaled_to_capacity():
    rep = T.make_replay(_regular(n=400, cls=3), "regular")
    kw = dict(step_minutes=15, total_steps=48, target_utilization=0.5, max_job_frac=1.0)
    a = T.trace_arrivals(rep, [100.0, 100.0, 200.0], np.random.default_rng(7), **kw)
    b = T.trace_arrivals(rep, [100.0, 100.0, 200.0], np.random.default_rng(7), **kw)
    c = T.trace_arrivals(rep, [100.0, 100.0, 200.0], np.random.default_rng(8), **kw)
    offs = [w.offset_s for w in a]
    assert len(set(offs)) == 3  # each DC replays its own window
    assert offs == [w.offset_s for w in b] and offs != [w.offset_s for w in c]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.arrival, y.arrival) and np.array_equal(x.power_mw, y.power_mw)
    p0, p2 = (w.power_mw[w.arrival > 0] for w in (a[0], a[2]))
    assert np.all(p2 == pytest.approx(2 * p0[0])) and np.all(p0 == pytest.approx(p0[0]))
    # A steady trace (two jobs at a time) is scaled to the target: 2 units/s -> 25 MW per job.
    assert np.all(p0 == pytest.approx(25.0, rel=0.01))
    for w in a:  # windows lie inside the replay span
        assert rep.span_start_s <= w.offset_s <= rep.span_end_s - 48 * 900


def test_too_short_trace_names_the_problem():
    rep = T.make_replay(_regular(n=40), "tiny")  # ~9.75 h of submissions
    with pytest.raises(T.TraceTooShortError, match=r"workload trace 'tiny' is too short.*9\.7 h.*"
                                                   r"warmup_steps \+ horizon_steps = 96 steps x 15 min = 24\.0 h.*at most 38 steps"):
        T.trace_arrivals(rep, [100.0], np.random.default_rng(0), step_minutes=15, total_steps=96, target_utilization=0.5)
    # A tiled trace serves it.
    T.trace_arrivals(T.make_replay(_regular(n=40), "tiny", loop=True), [100.0], np.random.default_rng(0),
                     step_minutes=15, total_steps=96, target_utilization=0.5)


# ---------------------------------------------------------------- the env on a trace


def _google_fixture(root, hours: float = 20.0, seed: int = 0):
    """A Google-format file of ~120 jobs/h with a mix of classes and durations."""
    rng = np.random.default_rng(seed)
    n = int(120 * hours)
    sub = np.sort(600 + rng.uniform(0, hours * H, n))
    dur = np.exp(rng.normal(np.log(600), 1.8, n))
    d = root / "workloads" / "google_2011"
    d.mkdir(parents=True)
    pd.DataFrame({"job_id": np.arange(n), "submit_s": sub, "schedule_s": sub, "end_s": sub + dur, "duration_s": dur,
                  "end_event": "FINISH", "sched_class": rng.integers(0, 4, n), "priority": rng.integers(0, 12, n),
                  "n_tasks": 1, "cpu_req_sum": rng.uniform(0.01, 0.5, n), "mem_req_sum": 0.1}
                 ).to_csv(d / "jobs_first_19h_with_task_requests.csv", index=False)


def _run_and_check_ledger(env, seed: int):
    """Random actions to the end; every job that arrived has exactly one final status, and the
    per-step tallies equal the ledger's changes (as in test_env_dynamics)."""
    env.reset(seed=seed)
    for a in env.possible_agents:
        env.action_space(a).seed(seed)
    before = env.ledger()
    done = {"completed_on_time": 0, "completed_late": 0, "served_mwh": 0.0}
    trace = []
    while env.agents:
        _, rew, _, _, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
        trace.append([rew[a] for a in env.possible_agents])
        for k in done:
            done[k] += sum(infos[a][k] for a in env.possible_agents)
    led = env.ledger()
    st = env._state
    arrived = (np.arange(st.status.shape[2])[None, :] < st.jobs.n_jobs[0][:, None]) & (st.jobs.arrival[0] < int(st.t[0]))
    assert arrived.sum() == len(led) > 0
    assert set(led.status) <= {"queued", "running", "completed_on_time", "completed_late", "dropped"}
    assert (led.status == "dropped").sum() == (led.drop_cause != "none").sum()
    for k in ("completed_on_time", "completed_late"):
        assert (led.status == k).sum() - (before.status == k).sum() == done[k]
    assert led.served_mwh.sum() - before.served_mwh.sum() == pytest.approx(done["served_mwh"], rel=1e-9)
    return led, np.array(trace)


def test_env_replays_trace_from_data_dir(tmp_path, monkeypatch):
    _google_fixture(tmp_path)
    monkeypatch.setenv("GRIDSHIFT_DATA", str(tmp_path))
    kw = dict(scenario="default", workload_trace="google_2011", n_datacenters=3, horizon_steps=24, warmup_steps=8)
    led, r1 = _run_and_check_ledger(datacenter_grid_v0.parallel_env(**kw), seed=3)
    assert set(led.job_class) >= {0, 1, 2}
    _, r2 = _run_and_check_ledger(datacenter_grid_v0.parallel_env(**kw), seed=3)
    _, r3 = _run_and_check_ledger(datacenter_grid_v0.parallel_env(**kw), seed=4)
    assert np.array_equal(r1, r2) and not np.array_equal(r1, r3)
    # Too long an episode for a 20 h trace fails at reset, naming the problem.
    env = datacenter_grid_v0.parallel_env(**{**kw, "horizon_steps": 96})
    with pytest.raises(T.TraceTooShortError, match="'google_2011' is too short"):
        env.reset(seed=0)


def test_trace_job_table_contract_and_missing_data(tmp_path, monkeypatch):
    _google_fixture(tmp_path)
    monkeypatch.setenv("GRIDSHIFT_DATA", str(tmp_path))
    sc = load_scenario("default", workload_trace="google_2011", n_datacenters=2)
    tb = generate_jobs(sc, dc_params(sc), np.random.default_rng(0), 2, np.zeros(2, int), 40)
    assert tb.arrival.shape[:2] == (2, 2) and tb.n_jobs.dtype == np.int32
    max_def = np.array(sc.max_deferral_steps())
    for b in range(2):
        for i in range(2):
            k = tb.n_jobs[b, i]
            assert np.all(np.diff(tb.arrival[b, i, :k]) >= 0) and np.all(tb.arrival[b, i, :k] < 40)
            assert np.all(tb.duration[b, i, :k] >= 1) and np.all(tb.power_mw[b, i, :k] > 0)
            assert np.array_equal(tb.deadline[b, i, :k],
                                  tb.arrival[b, i, :k] + max_def[tb.job_class[b, i, :k]] + tb.duration[b, i, :k])
    with pytest.raises(ValueError, match="max_jobs_per_dc=5 is too small"):
        generate_jobs(sc.replace(max_jobs_per_dc=5), dc_params(sc), np.random.default_rng(0), 1, np.zeros(1, int), 40)
    monkeypatch.setenv("GRIDSHIFT_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="data not found at"):
        generate_jobs(sc, dc_params(sc), np.random.default_rng(0), 1, np.zeros(1, int), 40)


# ---------------------------------------------------------------- the real files


@pytest.mark.shared_data
@pytest.mark.parametrize("name,rows", [("alibaba_gpu_2023", 8152), ("google_2011", 15009), ("philly", 3034)])
def test_real_trace_row_counts(shared_data, name, rows):
    df = T.load_trace(shared_data.joinpath(*T.TRACE_FILES[name][0]))
    assert len(df) == rows and df["job_class"].dtype == np.int8 and np.all(np.diff(df["submit_s"]) >= 0)
    assert np.isfinite(df["duration_s"]).all() and (df["work"] >= 0).all()


@pytest.mark.shared_data
def test_real_azure_both_services(shared_data):
    files = [shared_data.joinpath(*f) for f in T.TRACE_FILES["azure_llm_2023"]]
    assert [len(T.load_azure_llm_2023(f)) for f in files] == [19366, 8819]
    both = T.load_azure_llm_2023(files)
    assert len(both) == 28185 and both["service"].value_counts().to_dict() == {"conv": 19366, "code": 8819}


@pytest.mark.shared_data
def test_real_google_episode(shared_data, monkeypatch):
    monkeypatch.setenv("GRIDSHIFT_DATA", str(shared_data))
    kw = dict(scenario="default", workload_trace="google_2011", horizon_steps=48, warmup_steps=8)
    led, r1 = _run_and_check_ledger(datacenter_grid_v0.parallel_env(**kw), seed=0)
    assert set(led.job_class) == {0, 1, 2, 3}
    _, r2 = _run_and_check_ledger(datacenter_grid_v0.parallel_env(**kw), seed=0)
    assert np.array_equal(r1, r2)
    # The default 1-day warm-up + 3-day horizon is longer than the 19 h of Google jobs.
    with pytest.raises(T.TraceTooShortError, match=r"19\.1 h.*384 steps x 15 min = 96\.0 h.*at most 76 steps"):
        datacenter_grid_v0.parallel_env(scenario="default", workload_trace="google_2011").reset(seed=0)
