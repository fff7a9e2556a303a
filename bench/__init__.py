"""Benchmarks: inbound webhook throughput and export speed (see BENCHMARKS.md)."""
