"""Benchmarks (run by hand, not in CI): ``.venv/bin/python -m bench.grids``."""
