"""Network cases for the DC-OPF backend (:mod:`gridshift.envs.grid.network`): RTS-GMLC and IEEE 30-bus.

A :class:`NetworkCase` bundles the :class:`~gridshift.envs.grid.network_params.NetworkParams`
(buses, branches, PTDF, where units, load and renewables sit), the fleet
(:class:`~gridshift.envs.grid.types.FleetParams`, read by the existing fleet loaders), each
bus's time zone, and default DC sites. Every table is read with
:func:`gridshift.data.csvio.read_csv`; a malformed file raises
:class:`~gridshift.data.csvio.DataFormatError` naming the file, column and row.

**RTS-GMLC** (:func:`load_rts_gmlc_case`; GridMod/RTS-GMLC ``RTS_Data/SourceData``, in the shared
data under ``fleets/rts_gmlc/``): 73 buses in 3 areas with coordinates, 120 branches, the fleet
of ``gen.csv`` (:func:`gridshift.data.fleets.load_rts_gmlc`). Branch reactance ``X`` (p.u., 100
MVA base) times the transformer ratio ``Tr Ratio`` when it is > 0 (MATPOWER's ``makeBdc``), limit
``Cont Rating`` (MVA, read as MW). Slack: the ``Ref`` bus (113). Load shares: ``MW Load`` of each
bus over the total (the area totals equal the peaks of the regional profiles, 2,850 MW each).
Solar shares: PMax of the ``PV``, ``RTPV`` and ``CSP`` units per bus; wind shares: ``WIND``.
Time zones from the coordinates (the case is drawn on the US Southwest): east of the
Colorado River (``lon > -114.6``, and ``lon > -114.05`` north of 36 N, the Nevada line)
``America/Phoenix`` (UTC-7, no daylight saving), else ``America/Los_Angeles`` (UTC-8).
Profiles: :func:`load_rts_regional_load` (``DAY_AHEAD_regional_Load.csv``, hourly 2020, one
column per area) and :func:`rts_bus_exogenous` (per-bus load from the area profiles and the
within-area load shares; per-bus solar and wind from the per-plant ``DAY_AHEAD_pv.csv`` /
``DAY_AHEAD_wind.csv``; rooftop PV and CSP have no profile in the shared data and are left out).

**IEEE 30-bus** (:func:`load_ieee30_case`) as TSCO (``seeds/002_*``) uses it: the MATPOWER
``case30`` (Alsac & Stott 1974 with Ferrero et al. 1997 generators). Bus and generator tables
from the shared data (``fleets/ieee/case30_{bus,gen_gencost}.csv``, fleet by
:func:`gridshift.data.fleets.load_matpower_gen`); the 41 branches from
``data/cases/ieee30_branch.csv`` (PYPOWER 5.1.21 ``case30``, BSD; provenance in
``data/cases/README.md``). Slack: bus 1 (type 3). TSCO's modified case adds 3 solar and 2 wind
sites without naming their buses; the defaults here are an assumption (:data:`IEEE30_SOLAR_BUSES`,
:data:`IEEE30_WIND_BUSES`, equal shares), overridable. The case has no geography: every bus
gets ``America/Los_Angeles`` (TSCO drives it with Californian data).

DC sites (:meth:`NetworkCase.dc_sites`): each DC at a named bus (configurable) with that bus's
time zone. Defaults: :data:`DEFAULT_DC_BUSES` (large load buses spread over the areas for
RTS-GMLC; TSCO's "five nodes co-located with major load buses", the five largest load buses
without a generator, for IEEE 30).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gridshift.data.csvio import CsvTable, DataFormatError, read_csv
from gridshift.data.fleets import load_matpower_gen, load_rts_gmlc
from gridshift.data.paths import data_file
from gridshift.envs.grid.network_params import NetworkParams
from gridshift.envs.grid.types import FleetParams, GridParams, MarketParams, ParamError

#: Branch table shipped with the package (provenance in ``data/cases/README.md``).
IEEE30_BRANCH_CSV = Path(__file__).resolve().parent / "cases" / "ieee30_branch.csv"
#: Assumed renewable sites of TSCO's modified IEEE 30-bus case (bus numbers; see module docstring).
IEEE30_SOLAR_BUSES: tuple[int, ...] = (7, 17, 24)
IEEE30_WIND_BUSES: tuple[int, ...] = (5, 28)
#: Default DC buses per case (bus ids), in the order DCs are placed.
DEFAULT_DC_BUSES: dict[str, tuple[str, ...]] = {
    "rts_gmlc": ("118", "218", "318", "115", "215", "315", "110", "310"),
    "ieee30": ("8", "7", "21", "12", "30"),
}
#: Standard-time UTC offset (hours) of the time zones used here.
TZ_UTC_OFFSET_H: dict[str, float] = {"America/Phoenix": -7.0, "America/Los_Angeles": -8.0}

_RTS_SOLAR = frozenset({"PV", "RTPV", "CSP"})
_RTS_WIND = frozenset({"WIND"})
_MAX_MW = 1e5


@dataclass(frozen=True)
class DcSites:
    """Where each DC sits: bus id and index, IANA time zone and standard UTC offset (hours)."""

    bus_id: tuple[str, ...]
    bus_index: tuple[int, ...]
    tz: tuple[str, ...]
    utc_offset_h: tuple[float, ...]


@dataclass(frozen=True, eq=False)
class NetworkCase:
    """A network, its fleet and the buses' time zones (module docstring)."""

    name: str
    network: NetworkParams
    fleet: FleetParams
    bus_name: tuple[str, ...]
    bus_tz: tuple[str, ...]
    base_load_mw: np.ndarray
    """``[n_bus]`` the case's own bus loads (MW); their sum is the case's peak load."""

    @property
    def peak_load_mw(self) -> float:
        return float(self.base_load_mw.sum())

    def grid_params(self, **market) -> GridParams:
        """The fleet with market rules whose ORDC is scaled to the case's peak load
        (:meth:`MarketParams.scaled_to_peak`); ``market`` overrides other fields."""
        return GridParams(fleet=self.fleet, market=MarketParams.scaled_to_peak(self.peak_load_mw, **market))

    def dc_sites(self, buses=None, n: int | None = None) -> DcSites:
        """Sites of ``n`` DCs: the given ``buses`` (ids, names or indices), else the first
        ``n`` of :data:`DEFAULT_DC_BUSES` (cycled when ``n`` is larger)."""
        net = self.network
        if buses is None:
            default = DEFAULT_DC_BUSES.get(self.name, net.bus_id[:1])
            n = len(default) if n is None else int(n)
            if n < 1:
                raise ParamError(f"n={n!r} is invalid: allowed at least 1 DC")
            buses = [default[i % len(default)] for i in range(n)]
        idx = []
        for b in buses:
            if isinstance(b, (int, np.integer)) and not isinstance(b, bool) and str(b) not in net.bus_id:
                if not 0 <= int(b) < net.n_bus:
                    raise ParamError(f"dc bus {b!r} is invalid: allowed a bus id, name or index of case {self.name!r}")
                idx.append(int(b))
            elif str(b) in self.bus_name and str(b) not in net.bus_id:
                idx.append(self.bus_name.index(str(b)))
            else:
                idx.append(net.bus_index(b))
        if n is not None and len(idx) != n:
            raise ParamError(f"buses has {len(idx)} entries: allowed n={n} (one bus per DC)")
        tz = tuple(self.bus_tz[i] for i in idx)
        return DcSites(tuple(net.bus_id[i] for i in idx), tuple(idx), tz, tuple(TZ_UTC_OFFSET_H[z] for z in tz))


def _root(root) -> Path:
    return Path(root) if root is not None else data_file("fleets")


def _bus_lookup(t: CsvTable, col: str, ids: dict[str, int]) -> np.ndarray:
    raw = t.numbers(col, 0, 1e9, integer=True)
    out = np.empty(len(t), np.int64)
    for i, v in enumerate(raw):
        k = ids.get(str(int(v)))
        if k is None:
            raise t.error(col, i, t[col].iloc[i], "a bus id listed in the bus table", "is not a known bus")
        out[i] = k
    return out


def _shares(cap_by_bus: np.ndarray) -> np.ndarray:
    s = cap_by_bus.sum()
    return cap_by_bus / s if s > 0 else np.zeros_like(cap_by_bus)


def rts_timezone(lat: float, lon: float) -> str:
    """Time zone of an RTS-GMLC bus from its coordinates (module docstring)."""
    arizona = lon > -114.6 and (lat < 36.0 or lon > -114.05)
    return "America/Phoenix" if arizona else "America/Los_Angeles"


def load_rts_gmlc_case(root=None) -> NetworkCase:
    """RTS-GMLC from ``<root>/rts_gmlc/{bus,branch,gen}.csv`` (``root`` defaults to the shared
    data's ``fleets`` folder)."""
    d = _root(root) / "rts_gmlc"
    bus = read_csv(d / "bus.csv", ("Bus ID", "Bus Name", "Bus Type", "MW Load", "Area", "lat", "lng"),
                   unique="Bus ID", unique_what="bus", what="the RTS-GMLC bus table")
    ids = [str(int(v)) for v in bus.numbers("Bus ID", 0, 1e9, integer=True)]
    ix = {b: i for i, b in enumerate(ids)}
    load = bus.numbers("MW Load", 0.0, _MAX_MW)
    lat, lon = bus.numbers("lat", -90, 90), bus.numbers("lng", -180, 180)
    ref = [i for i, v in enumerate(bus.col("Bus Type")) if v.strip().lower() == "ref"]
    if len(ref) != 1:
        raise bus.file_error(f"{len(ref)} buses with 'Bus Type' Ref", "exactly one reference (Ref) bus")
    br = read_csv(d / "branch.csv", ("UID", "From Bus", "To Bus", "X", "Cont Rating", "Tr Ratio"), unique="UID",
                  unique_what="branch", what="the RTS-GMLC branch table")
    x = br.numbers("X", 1e-6, 1e3)
    tap = br.numbers("Tr Ratio", 0.0, 10.0)
    gen = read_csv(d / "gen.csv", ("GEN UID", "Bus ID", "Unit Type", "PMax MW"), unique="GEN UID", unique_what="unit",
                   what="the RTS-GMLC generator table")
    gbus = _bus_lookup(gen, "Bus ID", ix)
    uid = {u: k for k, u in enumerate(gen.col("GEN UID"))}
    fleet = load_rts_gmlc(d / "gen.csv")
    pmax = gen.numbers("PMax MW", 0.0, _MAX_MW)
    utype = gen.col("Unit Type")
    nb = len(ids)
    solar = np.bincount(gbus, np.where([u in _RTS_SOLAR for u in utype], pmax, 0.0), nb)
    wind = np.bincount(gbus, np.where([u in _RTS_WIND for u in utype], pmax, 0.0), nb)
    net = NetworkParams(
        bus_id=tuple(ids), line_id=tuple(br.col("UID")), line_from=_bus_lookup(br, "From Bus", ix),
        line_to=_bus_lookup(br, "To Bus", ix), line_x_pu=x * np.where(tap > 0, tap, 1.0),
        line_limit_mw=br.numbers("Cont Rating", 1e-3, _MAX_MW), gen_bus=np.array([gbus[uid[n]] for n in fleet.name]),
        load_share=load / load.sum(), solar_share=_shares(solar), wind_share=_shares(wind),
        renewable_share=_shares(solar + wind), slack_bus=ref[0],
        bus_area=bus.numbers("Area", 0, 1e6, integer=True), bus_lat=lat, bus_lon=lon, name="rts_gmlc")
    tz = tuple(rts_timezone(a, o) for a, o in zip(lat, lon, strict=True))
    return NetworkCase("rts_gmlc", net, fleet, tuple(bus.col("Bus Name")), tz, load)


def load_ieee30_case(root=None, *, solar_buses=IEEE30_SOLAR_BUSES, wind_buses=IEEE30_WIND_BUSES,
                     branch_csv=IEEE30_BRANCH_CSV) -> NetworkCase:
    """IEEE 30-bus from ``<root>/ieee/case30_{bus,gen_gencost}.csv`` and the shipped branch table."""
    d = _root(root) / "ieee"
    bus = read_csv(d / "case30_bus.csv", ("bus_i", "type", "Pd", "area"), unique="bus_i", unique_what="bus",
                   what="a MATPOWER bus table")
    ids = [str(int(v)) for v in bus.numbers("bus_i", 0, 1e9, integer=True)]
    ix = {b: i for i, b in enumerate(ids)}
    load = bus.numbers("Pd", -_MAX_MW, _MAX_MW)
    if (load < 0).any():
        i = int(np.flatnonzero(load < 0)[0])
        raise bus.error("Pd", i, load[i], "a load >= 0 (MW)")
    ref = np.flatnonzero(bus.numbers("type", 0, 4, integer=True) == 3)
    if ref.size != 1:
        raise bus.file_error(f"{ref.size} buses of type 3", "exactly one reference bus (type 3)")
    br = read_csv(branch_csv, ("fbus", "tbus", "x", "rateA", "ratio", "status"), comments=True,
                  what="a MATPOWER branch table")
    on = br.numbers("status", 0, 1, integer=True) > 0
    ratio = br.numbers("ratio", 0.0, 10.0)
    gen = read_csv(d / "case30_gen_gencost.csv", ("bus", "Pmax"), what="a MATPOWER gen table")
    st = gen.numbers("status", -1e3, 1e3) if "status" in gen.columns else np.ones(len(gen))
    kept = np.flatnonzero((gen.numbers("Pmax", -_MAX_MW, _MAX_MW) > 0) & (st > 0))  # load_matpower_gen's rule
    fleet = load_matpower_gen(d / "case30_gen_gencost.csv")
    if kept.size != fleet.n_units:
        raise gen.file_error(f"{kept.size} in-service units with Pmax > 0 but the fleet loader kept {fleet.n_units}",
                             "the same units in both readings")
    nb = len(ids)

    def sites(buses, what):
        out = np.zeros(nb)
        for b in buses:
            if str(b) not in ix:
                raise ParamError(f"{what}={tuple(buses)!r} is invalid: allowed bus numbers of case30 (1..{nb})")
            out[ix[str(b)]] += 1.0
        return _shares(out)

    sol, win = sites(solar_buses, "solar_buses"), sites(wind_buses, "wind_buses")
    net = NetworkParams(
        bus_id=tuple(ids), line_id=tuple(f"{f}-{t}" for f, t in zip(br.col("fbus"), br.col("tbus"), strict=True)),
        line_from=_bus_lookup(br, "fbus", ix), line_to=_bus_lookup(br, "tbus", ix),
        line_x_pu=br.numbers("x", 1e-6, 1e3) * np.where(ratio > 0, ratio, 1.0),
        line_limit_mw=br.numbers("rateA", 1e-3, _MAX_MW), gen_bus=_bus_lookup(gen, "bus", ix)[kept],
        load_share=load / load.sum(), solar_share=sol, wind_share=win, slack_bus=int(ref[0]),
        bus_area=bus.numbers("area", 0, 1e6, integer=True), name="ieee30")
    if not on.all():
        net = _drop_lines(net, on)
    return NetworkCase("ieee30", net, fleet, tuple(ids), ("America/Los_Angeles",) * nb, load)


def _drop_lines(net: NetworkParams, keep: np.ndarray) -> NetworkParams:
    return net.replace(line_id=tuple(np.asarray(net.line_id)[keep]), line_from=net.line_from[keep],
                       line_to=net.line_to[keep], line_x_pu=net.line_x_pu[keep], line_limit_mw=net.line_limit_mw[keep])


#: Loaders by case name (the scenario field's values).
NETWORK_CASES = {"rts_gmlc": load_rts_gmlc_case, "ieee30": load_ieee30_case}


def load_network_case(name: str, root=None) -> NetworkCase:
    if name not in NETWORK_CASES:
        raise ParamError(f"network_case={name!r} is invalid: allowed one of {sorted(NETWORK_CASES)}")
    return NETWORK_CASES[name](root)


# ------------------------------------------------------------------------ RTS-GMLC profiles


def _rts_times(t: CsvTable) -> pd.DatetimeIndex:
    y = t.numbers("Year", 1900, 2200, integer=True)
    mo = t.numbers("Month", 1, 12, integer=True)
    dd = t.numbers("Day", 1, 31, integer=True)
    per = t.numbers("Period", 1, 24, integer=True)
    idx = pd.to_datetime(pd.DataFrame({"year": y, "month": mo, "day": dd}), errors="coerce")
    bad = np.flatnonzero(idx.isna().to_numpy())
    if bad.size:
        raise t.error("Day", int(bad[0]), t["Day"].iloc[int(bad[0])], "a valid calendar date (Year, Month, Day)")
    return pd.DatetimeIndex(idx + pd.to_timedelta(per - 1, unit="h"))


def load_rts_regional_load(path) -> pd.DataFrame:
    """``DAY_AHEAD_regional_Load.csv``: hourly load (MW) per area, columns ``"1"``, ``"2"``, ``"3"``,
    indexed by the start of each hour (``Period`` p = hour p-1..p, the case's local standard time)."""
    t = read_csv(path, ("Year", "Month", "Day", "Period", "1", "2", "3"), what="the RTS-GMLC regional load profile")
    frame = pd.DataFrame({a: t.numbers(a, 0.0, _MAX_MW) for a in ("1", "2", "3")}, index=_rts_times(t))
    if frame.index.has_duplicates:
        i = int(np.flatnonzero(frame.index.duplicated())[0])
        raise t.error("Period", i, t["Period"].iloc[i], "one row per hour", "repeats an earlier hour")
    return frame


def _plant_profile(path, case: NetworkCase, gen: CsvTable, what: str) -> np.ndarray:
    t = read_csv(path, ("Year", "Month", "Day", "Period"), what=what)
    uid_bus = dict(zip(gen.col("GEN UID"), gen.col("Bus ID"), strict=True))
    out = np.zeros((len(t), case.network.n_bus))
    for col in t.columns[4:]:
        if col not in uid_bus:
            raise DataFormatError(f"{t.path}: column {col!r} is not a unit of gen.csv: expected GEN UID columns",
                                  file=t.path, column=col, expected="a GEN UID of gen.csv")
        out[:, case.network.bus_index(str(int(float(uid_bus[col]))))] += t.numbers(col, 0.0, _MAX_MW)
    return out


def rts_bus_exogenous(case: NetworkCase, root=None) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray, np.ndarray]:
    """Hourly per-bus inputs of RTS-GMLC for 2020: ``(index, demand, solar, wind)``, each array
    ``[T, n_bus]`` MW (module docstring). Feed a row slice to
    :class:`gridshift.envs.grid.network.BusExogenous`."""
    d = _root(root) / "rts_gmlc"
    reg = load_rts_regional_load(d / "DAY_AHEAD_regional_Load.csv")
    net = case.network
    area = net.bus_area
    demand = np.zeros((len(reg), net.n_bus))
    for a in np.unique(area):
        m = area == a
        tot = case.base_load_mw[m].sum()
        if str(a) not in reg.columns or tot <= 0:
            continue
        demand[:, m] = reg[str(a)].to_numpy()[:, None] * (case.base_load_mw[m] / tot)[None, :]
    gen = read_csv(d / "gen.csv", ("GEN UID", "Bus ID"), what="the RTS-GMLC generator table")
    solar = _plant_profile(d / "DAY_AHEAD_pv.csv", case, gen, "the RTS-GMLC PV profile")
    wind = _plant_profile(d / "DAY_AHEAD_wind.csv", case, gen, "the RTS-GMLC wind profile")
    for name, arr in (("DAY_AHEAD_pv.csv", solar), ("DAY_AHEAD_wind.csv", wind)):
        if arr.shape[0] != demand.shape[0]:
            raise DataFormatError(f"{d / name}: {arr.shape[0]} rows: expected {demand.shape[0]} (as many hours as "
                                  "the regional load)", file=d / name, expected=f"{demand.shape[0]} rows")
    return reg.index, demand, solar, wind
