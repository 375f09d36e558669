"""Benchmarks: standalone scripts run by hand (see docs/performance.md); the test suite runs
each one's ``--quick`` mode (tests/test_benchmarks.py), and ``bench/compare.py`` compares a
benchmark's figures at an earlier commit with the working tree's."""
