"""The README documents every scenario knob (a field added without documentation fails here)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gridshift.envs.dcgrid.scenario import Scenario

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_names_every_scenario_field():
    text = README.read_text()
    missing = [f.name for f in dataclasses.fields(Scenario) if f"`{f.name}`" not in text]
    assert missing == [], f"README.md does not document the scenario fields {missing}"

