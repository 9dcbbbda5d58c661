"""The project's own scenarios (apps, routing, JSON, forms, FastAPI, per-step costs), each built
from one stack's classes inside a worker process and timed there."""
