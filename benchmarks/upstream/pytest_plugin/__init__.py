"""The pytest plugin that times Starlette's own benchmark scenarios (loaded as `upstream_timer`)."""
