"""Performance scripts: each runs the hub and a baseline side by side and prints ratios.

Run from the repository root as modules, e.g. `.venv/bin/python -m bench.download`.
"""
