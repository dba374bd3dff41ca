"""Benchmarks: speed races against Stable-Baselines3 and learning-result reproduction."""
