"""Loading scenarios from TOML files: names, paths, ``base`` chains, and clear errors.

``load_scenario("default")`` reads ``gridshift/data/scenarios/default.toml``; a path (``.toml``
in any case) reads that file. A file may name a ``base`` scenario, by name or by a path that is
resolved against the file's own folder; its keys override the base's. Every problem fails with
a :class:`~gridshift.envs.grid.types.ParamError` that names the file and the field: a file that
is not UTF-8 text, invalid TOML, a ``base`` that is not a string, a ``base`` chain that loops,
unknown keys, and values of the wrong type or range.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from gridshift.envs.grid.types import ParamError


def scenario_dir() -> Path:
    """The packaged scenarios, ``gridshift/data/scenarios/`` (located by path: the simulator
    does not import :mod:`gridshift.data`)."""
    return Path(__file__).resolve().parents[2] / "data" / "scenarios"


def available_scenarios() -> list[str]:
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def _resolve(name_or_path, relative_to: Path | None = None) -> Path:
    if not isinstance(name_or_path, (str, Path)) or isinstance(name_or_path, bool):
        raise ParamError(f"scenario={name_or_path!r} is invalid: allowed a scenario name {available_scenarios()} "
                         "or a path to a .toml file")
    p = Path(name_or_path)
    if p.suffix.lower() != ".toml":
        q = scenario_dir() / f"{name_or_path}.toml"
        if not q.is_file():
            raise ParamError(f"unknown scenario {str(name_or_path)!r}: allowed {available_scenarios()} or a path to a .toml file")
        return q
    if not p.is_absolute() and relative_to is not None:
        p = relative_to / p
    if not p.is_file():
        raise ParamError(f"scenario file {p} not found")
    return p


def _read(p: Path) -> dict:
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParamError(f"scenario file {p}: not UTF-8 text ({e.reason} at byte {e.start}): TOML files are UTF-8") from None
    except OSError as e:
        raise ParamError(f"scenario file {p}: unreadable ({e})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParamError(f"scenario file {p}: invalid TOML: {e}") from None


def _load_file(p: Path, chain: tuple[Path, ...]):
    from gridshift.envs.dcgrid.scenario import _FIELDS, Scenario, with_overrides

    p = p.resolve()
    if p in chain:
        loop = " -> ".join(str(x) for x in (*chain, p))
        raise ParamError(f"scenario file {p}: its base chain loops ({loop})")
    data = _read(p)
    base_name = data.pop("base", None)
    if base_name is not None and not (isinstance(base_name, str) and base_name):
        raise ParamError(f"scenario file {p}: field base={base_name!r} is invalid: allowed a scenario name or a path to a .toml file")
    base = _load_file(_resolve(base_name, p.parent), (*chain, p)) if base_name else Scenario()
    data.setdefault("name", p.stem)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ParamError(f"scenario file {p}: unknown key(s) {unknown}: allowed keys are {sorted(_FIELDS)}")
    try:
        return with_overrides(base, data)
    except ParamError as e:
        raise ParamError(f"scenario file {p}: {e}") from None


def load_scenario(name_or_path="default", **overrides):
    """Load a scenario by name (``data/scenarios/NAME.toml``) or path, then apply overrides."""
    from gridshift.envs.dcgrid.scenario import Scenario, with_overrides

    if isinstance(name_or_path, Scenario):
        return with_overrides(name_or_path, overrides)
    return with_overrides(_load_file(_resolve(name_or_path), ()), overrides)
