"""Loaders for real public grid data (see :mod:`.grid`) and the shared time-series utilities
(:mod:`.timeseries`): UTC index, gaps, DST, units, format errors."""

from gridshift.data.loaders.grid import (
    FORMATS,
    detect_format,
    load_caiso_moer,
    load_eia930_demand,
    load_eia930_fuelmix,
    load_electricitymaps,
    load_entsoe_ci,
    load_entsoe_production,
    load_ercot_dam_spp,
    load_grid_file,
    load_henry_hub,
    load_iso_prices,
    load_solcast_pv,
    load_watttime_moer,
)
from gridshift.data.loaders.timeseries import (
    DataFormatError,
    Gap,
    TimeSeriesData,
    parse_times,
    regularize,
    resample,
    to_g_per_kwh,
)

__all__ = [
    "FORMATS", "DataFormatError", "Gap", "TimeSeriesData", "detect_format", "load_caiso_moer", "load_eia930_demand",
    "load_eia930_fuelmix", "load_electricitymaps", "load_entsoe_ci", "load_entsoe_production", "load_ercot_dam_spp",
    "load_grid_file", "load_henry_hub", "load_iso_prices", "load_solcast_pv", "load_watttime_moer", "parse_times",
    "regularize", "resample", "to_g_per_kwh",
]
