"""Runs Starlette's (and later FastAPI's) own test suites against tachyon_engine."""
