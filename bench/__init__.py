"""Benchmarks: standalone scripts, run by hand (see docs/performance.md), not by the test suite."""
