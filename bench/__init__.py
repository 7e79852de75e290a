"""Benchmark harness (issue 6): `python -m bench.run --sizes 10k,100k,1m`. See BENCHMARKS.md."""
