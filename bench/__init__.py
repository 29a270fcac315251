"""Benchmarks: httprouter against the framework's own ceiling, run by `bench/run`."""
