"""Benchmarks (`make bench`): they measure and print; pytest collects nothing here."""
