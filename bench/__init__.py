"""Benchmark scripts, run by hand (see docs/performance.md); not part of the app or its tests."""
