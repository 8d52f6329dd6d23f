"""The CLI and every command shown in the README."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gridshift.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


NEEDS_DATA = "needs the real data"


def readme_commands(with_data: bool = True) -> list[str]:
    """The ``bash`` blocks' commands; lines commented "needs the real data" only ``with_data``."""
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    cmds = []
    for b in blocks:
        for raw in b.splitlines():
            line = raw.split("#")[0].strip()
            if line and (with_data or NEEDS_DATA not in raw):
                cmds.append(line)
    return cmds


def test_readme_starts_with_make_demo_and_make_test():
    cmds = readme_commands()
    assert cmds[:2] == ["make demo", "make test"]
    mk = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo: .*\n\t\$\(VENV\)/bin/gridshift demo$", mk, flags=re.M)
    assert re.search(r"^test: .*\n\t\$\(PY\) -m pytest -q -m \"not slow\"$", mk, flags=re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_readme_cli_command_runs(tmp_path, monkeypatch, capsys):
    from gridshift.data.paths import data_root

    monkeypatch.chdir(tmp_path)
    ran = 0
    for cmd in readme_commands(with_data=data_root() is not None):
        if cmd.startswith("make "):
            continue  # make demo runs `gridshift demo` (checked above); make test is this suite
        argv = shlex.split(cmd)
        assert argv[0].endswith("gridshift"), cmd
        assert main(argv[1:]) == 0, cmd
        ran += 1
    assert ran >= 3
    out = capsys.readouterr().out
    assert "aggregate DC load MW" in out and "clearings/s" in out
    res = json.loads((tmp_path / "bench-results" / "bench_grid.json").read_text())
    assert res["metadata"]["git_commit"] and res["results"][0]["clearings_per_s"] > 0


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from gridshift.data.paths import data_root

    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 3
    have_data = data_root() is not None
    for code in blocks:
        if NEEDS_DATA in code.splitlines()[0] and not have_data:
            continue
        exec(compile(code, "README", "exec"), {"__name__": "readme"})


def test_console_script_installed():
    exe = Path(sys.executable).parent / "gridshift"
    if not exe.exists():
        pytest.skip("console script not installed in this interpreter's bin")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("gridshift ")


def test_bad_arguments_exit_with_usage():
    with pytest.raises(SystemExit) as e:
        main(["bench", "nonsense"])
    assert e.value.code == 2


def test_readme_ray_cluster_example_runs(tmp_path):
    """The README's ``sh`` block starts a real single-node Ray cluster, trains against it with
    ``--ray-address auto`` and stops it; run it verbatim."""
    pytest.importorskip("ray.rllib")
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    assert blocks, "README has no sh block (the Ray cluster example)"
    lines = [ln.strip() for b in blocks for ln in b.splitlines() if ln.strip()]
    assert lines[0].startswith(".venv/bin/ray start --head") and lines[-1] == ".venv/bin/ray stop"
    assert any("--ray-address auto" in ln for ln in lines)
    # Verbatim, as from the repository root of a fresh clone after `make test`: nothing of the
    # venv on PATH, only a `.venv` beside the commands.
    venv = Path(sys.executable).parent.parent
    (tmp_path / ".venv").symlink_to(venv)
    clean_path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(str(venv)))
    env = dict(os.environ, PATH=clean_path)
    env.pop("VIRTUAL_ENV", None)
    try:
        for ln in lines:
            r = subprocess.run(ln, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
            assert r.returncode == 0, f"{ln}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    finally:
        subprocess.run(f"{venv}/bin/ray stop --force", shell=True, env=env, capture_output=True, timeout=120)
    meta = json.loads((tmp_path / "runs" / "rllib_cluster" / "policy.json").read_text())
    assert meta["iteration"] == 1 and meta["config"]["ray_address"] == "auto"


def test_bench_env_quick_reports_every_figure():
    """Smoke run of ``gridshift bench env`` (figures are printed, never asserted on timing)."""
    from gridshift.eval.bench import bench_env

    res = bench_env(min_seconds=0.05, quick=True)
    ad = res["adapter"]
    assert ad["rounds"] == len(ad["overhead_us_per_round"]) == 7
    for k in ("null_us", "null_same_info_us", "direct_us", "direct_us_infos_none"):
        assert np.isfinite(ad[k]) and ad[k] > 0, k
    assert res["pettingzoo_8_dcs"]["env_steps_per_s"] > 0
    assert [r["batch"] for r in res["batch_scaling_8_dcs"]] == [1, 16]
    assert [r["n_datacenters"] for r in res["agent_scaling_pettingzoo"]] == [4, 64]


def test_leaderboard_policy_flag_adds_to_policies(monkeypatch, tmp_path):
    import gridshift.eval.leaderboard as lbmod

    seen = []

    def fake_build(policies, scenarios, seeds, **kw):
        seen.append(list(policies))
        raise ValueError("stop here")

    monkeypatch.setattr(lbmod, "build_leaderboard", fake_build)
    for argv, want in [
        (["--policy", "sb3:a.zip", "--policy", "rllib:run"], ["fifo", "oracle", "gas_literal", "gas_intent", "gas_stagger", "hold_e2e3", "hold_all", "random", "sb3:a.zip",
                                                             "rllib:run"]),
        (["--policies", "fifo", "random", "--policy", "fifo", "--policy", "x.y:Z"], ["fifo", "random", "x.y:Z"]),
        (["--policies", "gas_intent"], ["gas_intent"]),
    ]:
        with pytest.raises(SystemExit, match="stop here"):
            main(["leaderboard", *argv, "--out", str(tmp_path)])
        assert seen[-1] == want
