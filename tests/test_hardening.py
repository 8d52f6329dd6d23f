"""Bad input fails fast and clearly; edge settings simulate what they say (hardening issue,
"Simulator" and "Configs" items). Each test here failed before its fix."""

from __future__ import annotations

import numpy as np
import pytest

from gridshift.envs import datacenter_grid_v0
from gridshift.envs.dcgrid.ledger import ledger_frame
from gridshift.envs.dcgrid.scenario import load_scenario
from gridshift.envs.dcgrid.vector import DCGridVectorEnv
from gridshift.envs.grid.types import ParamError

FAST = {"horizon_steps": 8, "warmup_steps": 4}


def test_warmup_zero_simulates_step_zero_once():
    env = DCGridVectorEnv("default", autoreset=False, warmup_steps=0, horizon_steps=8)
    env.reset(seed=1)
    assert len(ledger_frame(env.params, env.state, 0)) == 0  # nothing has arrived before the first action
    done = 0.0
    for _ in range(8):
        *_, info = env.step(np.zeros((1, 8), int))
        done += info["completed_on_time"].sum() + info["completed_late"].sum()
    led = ledger_frame(env.params, env.state, 0)
    assert done == led.status.isin(["completed_on_time", "completed_late"]).sum() > 0


def test_signals_are_never_fresher_than_the_delay_allows():
    env = DCGridVectorEnv("default", autoreset=False, warmup_steps=0, horizon_steps=10, signal_delay_steps=3)
    obs = env.reset(seed=2)
    k = env.layout["price"]
    true_price, seen = [], []
    for _ in range(10):
        obs, _, _, _, info = env.step(np.zeros((1, 8), int))
        true_price.append(float(info["grid"].price_usd_per_mwh[0]))
        seen.append(float(obs[0, 0, k]) * 100.0)
    true_price, seen = np.array(true_price), np.array(seen)
    np.testing.assert_allclose(seen[:4], true_price[0], rtol=1e-5)  # the oldest reading, not the truth
    np.testing.assert_allclose(seen[4:], true_price[1:7], rtol=1e-5)  # then exactly 3 steps late
    assert not np.allclose(seen[1:4], true_price[1:4])


def test_absurd_job_counts_are_refused_before_allocating():
    with pytest.raises(ParamError, match=r"jobs per DC per episode .* GiB .* raise job_power_frac"):
        DCGridVectorEnv("default", job_power_frac=(1e-9,) * 4, job_duration_h=(1e-6,) * 4)


@pytest.mark.parametrize(("overrides", "match"), [
    ({"forecast_horizons_h": (1, 1)}, "forecast_horizons_h=.*distinct"),
    ({"reward_scale_usd": 1e-40}, r"reward_scale_usd=1e-40 is invalid: allowed a number in \[0.001"),
    ({"fleet": 123}, "fleet=123 is invalid: allowed a string"),
    ({"action_mode": ["box"]}, r"action_mode=\['box'\] is invalid"),
    ({"job_mix": (0.15, None, 0.3, 0.2)}, r"job_mix\[1\]=None is invalid: allowed a number"),
    ({"horizon_steps": 48.5}, "horizon_steps=48.5 is invalid: allowed an integer"),
    ({"sla_guard": "yes"}, "sla_guard='yes' is invalid: allowed true or false"),
])
def test_bad_scenario_values_name_the_field(overrides, match):
    with pytest.raises(ParamError, match=match):
        load_scenario("default", **overrides)


def test_integer_valued_floats_and_numpy_scalars_are_the_integers_they_are():
    sc = load_scenario("default", horizon_steps=48.0, n_datacenters=np.int64(2), penetration=np.float32(0.25),
                       sla_guard=np.bool_(True), job_mix=np.array([0.25, 0.25, 0.25, 0.25]))
    assert sc.horizon_steps == 48 and type(sc.horizon_steps) is int and type(sc.n_datacenters) is int
    assert type(sc.penetration) is float and sc.sla_guard is True and sc.job_mix == (0.25,) * 4
    env = datacenter_grid_v0.parallel_env(n_datacenters=2.0, horizon_steps=4.0, warmup_steps=2.0)
    env.reset(seed=0)
    while env.agents:
        env.step(dict.fromkeys(env.agents, 0))  # reaches the compiled kernels without a TypingError


def test_scenario_files_fail_clearly(tmp_path):
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    (tmp_path / "five.toml").write_text("base = 5\n")
    (tmp_path / "utf16.toml").write_bytes("n_datacenters = 3\n".encode("utf-16"))
    (tmp_path / "latin.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (tmp_path / "bad.toml").write_text("n_datacenters = [1,\n")
    for name, match in (("a.toml", "base chain loops"), ("five.toml", "base=5 is invalid"), ("utf16.toml", "not UTF-8"),
                        ("latin.toml", "not UTF-8"), ("bad.toml", "invalid TOML")):
        with pytest.raises(ParamError, match=match) as e:
            load_scenario(tmp_path / name)
        assert name in str(e.value)
    for bad in (None, 123, 1.5):
        with pytest.raises(ParamError, match="is invalid: allowed a scenario name"):
            load_scenario(bad)


def test_relative_base_and_upper_case_suffix(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "base.TOML").write_text("n_datacenters = 3\nhorizon_steps = 10\n")
    (tmp_path / "child.toml").write_text('base = "sub/base.TOML"\nhorizon_steps = 12\n')
    sc = load_scenario(tmp_path / "child.toml")
    assert sc.n_datacenters == 3 and sc.horizon_steps == 12 and sc.name == "child"
    assert load_scenario(str(sub / "base.TOML")).n_datacenters == 3


def test_actions_are_validated_and_numpy_scalars_accepted():
    env = datacenter_grid_v0.parallel_env(**FAST)
    ref = datacenter_grid_v0.parallel_env(**FAST)
    env.reset(seed=3)
    ref.reset(seed=3)
    for a_np, a_py in ((np.array(2), 2), (np.int64(1), 1), (np.float64(0.0), 0)):
        _, r1, *_ = env.step(dict.fromkeys(env.agents, a_np))
        _, r2, *_ = ref.step(dict.fromkeys(ref.agents, a_py))
        assert r1 == r2
    for bad in ("a", True, np.bool_(False), 1 + 2j, [["x"]], 2.5, np.nan):
        with pytest.raises(ValueError, match="of dc_0 is invalid"):
            env.step(dict.fromkeys(env.agents, bad))
    with pytest.raises(ValueError, match=r"actions must be a dict \{agent: action\}"):
        env.step([0] * 8)
    md = datacenter_grid_v0.parallel_env(action_mode="multidiscrete", **FAST)
    md.reset(seed=0)
    with pytest.raises(ValueError, match="non-integer values are not rounded or truncated"):
        md.step(dict.fromkeys(md.agents, [1.7, 1, 1]))
    box = datacenter_grid_v0.parallel_env(action_mode="box", **FAST)
    box.reset(seed=0)
    with pytest.raises(ValueError, match="of dc_0 is invalid"):
        box.step(dict.fromkeys(box.agents, ["a", "b", "c"]))


def test_ledger_before_reset_and_steps_past_the_horizon():
    with pytest.raises(RuntimeError, match=r"call reset\(\) first"):
        datacenter_grid_v0.parallel_env(**FAST).ledger()
    env = DCGridVectorEnv("default", autoreset=False, **FAST)
    env.reset(seed=0)
    for _ in range(FAST["horizon_steps"]):
        env.step(np.zeros((1, 8), int))
    before = ledger_frame(env.params, env.state, 0)
    with pytest.raises(RuntimeError, match="episodes ended at the horizon"):
        env.step(np.zeros((1, 8), int))
    assert ledger_frame(env.params, env.state, 0).equals(before)  # refused, not half-applied


def test_pettingzoo_max_cycles_and_documented_observation_size():
    from pettingzoo.test import max_cycles_test

    max_cycles_test(datacenter_grid_v0)
    with pytest.raises(ValueError, match="disagree"):
        datacenter_grid_v0.parallel_env(max_cycles=4, horizon_steps=5)
    env = datacenter_grid_v0.parallel_env()
    size = env.observation_space("dc_0").shape[0]
    assert f"({size},)" in datacenter_grid_v0.__doc__
    for i, name in enumerate(env.layout.names):
        assert f"| {i} | `{name}` |" in datacenter_grid_v0.__doc__


@pytest.mark.parametrize(("argv", "match"), [
    (["evaluate", "--policy", "sb3:/missing.zip", "--seeds", "1000"], "not found"),
    (["evaluate", "--policy", "..:X", "--seeds", "1000"], "cannot import policy '..:X'"),
    (["cascade", "--penetrations", "9", "--n-dcs", "2", "--seeds", "0", "--horizon-steps", "8"], "penetration=9.0 is invalid"),
    (["cascade", "--n-dcs", "0", "--penetrations", "0.1", "--seeds", "0", "--horizon-steps", "8"], "n_datacenters=0 is invalid"),
    (["grid-day", "--dc-load-mw", "-5"], "--dc-load-mw -5.0 is invalid"),
    (["grid-day", "--dc-load-mw", "nan"], "--dc-load-mw nan is invalid"),
    (["evaluate", "--policy", "fifo", "--seeds", "1000", "--set", "horizon_steps=0"], "horizon_steps=0 is invalid"),
])
def test_cli_bad_input_is_one_line_not_a_traceback(argv, match, tmp_path, monkeypatch):
    from gridshift.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=f"^gridshift: .*{match}"):
        main([*argv, *(["--out", str(tmp_path / "o")] if argv[0] in ("evaluate", "cascade") else [])])


def test_cli_out_must_not_be_a_file(tmp_path):
    from gridshift.cli import main

    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(SystemExit, match="--out .* is a file: allowed a directory"):
        main(["evaluate", "--policy", "fifo", "--seeds", "1000", "--out", str(f), "--set", "horizon_steps=8"])


def test_policy_from_the_current_directory_and_policy_descriptions(tmp_path, monkeypatch, capsys):
    from gridshift.agents.registry import make_policy
    from gridshift.cli import main

    (tmp_path / "mypolicy_cwd.py").write_text(
        "from gridshift.agents.heuristics import FIFOPolicy\nclass Mine(FIFOPolicy):\n    name = 'mine'\n")
    monkeypatch.chdir(tmp_path)
    assert make_policy("mypolicy_cwd:Mine").name == "mine"
    assert main(["policies"]) == 0
    out = capsys.readouterr().out
    for line in ("fifo ", "oracle ", "hold_e2e3 ", "sb3:PATH ", "rllib:PATH ", "package.module:Class "):
        assert any(ln.startswith(line) and len(ln.split(None, 1)) == 2 for ln in out.splitlines()), line


def test_vector_env_follows_gymnasium_and_keeps_finished_ledgers():
    v = datacenter_grid_v0.vector_env(num_envs=2, **FAST)
    obs, infos = v.reset(seed=7)
    assert isinstance(infos, dict) and obs.shape == (2, 8, v.single_observation_space.shape[0])
    assert all(v.single_observation_space.contains(o) for o in obs.reshape(-1, obs.shape[-1]))
    assert v.observation_space.shape == (16, v.layout.size) and v.action_space.shape == (16,)
    for _ in range(FAST["horizon_steps"]):
        _, _, _, trunc, info = v.step(np.zeros((2, 8), int))
    assert trunc.all()
    finished = v.final_ledgers(info)
    assert len(finished) == 2 and all(len(led) > 0 for led in finished)
    assert not finished[0].equals(finished[1])  # two episodes, two ledgers
    # the new episodes start empty: nothing of the finished ones leaks into them
    assert (v.ledger(0).arrival_step < 0).all() or len(v.ledger(0)) < len(finished[0])
    with pytest.raises(ValueError, match="finished no episode"):
        v.final_ledgers(v.step(np.zeros((2, 8), int))[-1])
    with pytest.raises(ValueError, match="env_index=5 is invalid"):
        v.ledger(5)
