"""A small mutation runner over the modules that must not regress silently (``make mutate``).

Each mutation in :mod:`tests.mutation.catalog` is one deliberate defect, written as an
exact piece of source and its replacement. The runner applies each, one at a time, to a
copy of the tree, runs the tests that can reach the mutated module, and expects a failure.
It is not part of ``make test``.
"""
