"""Starlette's own benchmark scenarios (from its 1.10.0 sdist, fetched at run time), timed on
stock Starlette and, rewritten by the compat suite's import rewrite, on tachyon_engine."""
