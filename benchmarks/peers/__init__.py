"""The charge route written other ways, for `make bench` (run by harness.py, not imported)."""
