"""Data: loaders for public grid and fleet formats, the synthetic default system, derived
typical-day profiles (with their provenance and the script that rebuilds them), and scenario files."""

__all__ = ["DataFileNotFoundError", "DataFormatError", "read_csv"]


def __getattr__(name: str):
    """``DataFormatError`` (the one error type of every data loader), ``DataFileNotFoundError``
    and ``read_csv`` from :mod:`gridshift.data.csvio`, imported on first use (so that
    ``import gridshift.data`` does not import pandas)."""
    if name in __all__:
        from gridshift.data import csvio

        return getattr(csvio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
