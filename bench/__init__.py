"""Benchmarks: `python -m bench` runs every benchmark module and writes bench/RESULTS.md."""
