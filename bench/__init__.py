"""Benchmarks that print figures (not timed tests): `python -m bench` (make bench) runs every module
here that exposes `run() -> dict`."""
