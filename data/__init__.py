"""Data: loaders for public grid and fleet formats, the synthetic default system, derived
typical-day profiles (with their provenance and the script that rebuilds them), and scenario files."""
