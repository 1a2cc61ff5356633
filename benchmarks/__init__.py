"""Benchmarks: Intacct transactions and wall time against the latency floor, CPU per page and handler
memory at real object widths, cold import, side by side with sageintacctsdk. ``make bench`` runs
``python -m benchmarks.run``; the figures and the machine they came from are in benchmarks/RESULTS.md.

This package imports nothing heavy at import time: ``handler_probe.py`` runs in fresh interpreters.
"""
