"""The CLI and every command shown in the README."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from gridshift.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    cmds = []
    for b in blocks:
        for line in b.splitlines():
            line = line.split("#")[0].strip()
            if line:
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
    monkeypatch.chdir(tmp_path)
    ran = 0
    for cmd in readme_commands():
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
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 3
    for code in blocks:
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
