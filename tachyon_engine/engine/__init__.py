"""tachyon_engine's engine: what the mirror modules (Starlette's names, one level up) and the
FastAPI integration (`tachyon_engine.fastapi`) run on.

- `targets`: the one registry of what `install()` replaces, the stock objects each replacement
  reproduces, and the releases whose sources were verified (`verified_sources`).
- `install`, `patching`, `autoinstall`: putting the replacements on Starlette's and FastAPI's own
  classes, and taking them off again.
- `dispatch`: the lean dispatch of a Starlette app whose middleware stack is Starlette's defaults.
- `route_index`: the Rust route index behind `Router.app` and `url_path_for`.
- `exit_stacks`: leaving FastAPI's dependency exit stacks only when something was pushed on them.
- `native`: the counters and build facts of the Rust extension (`tachyon_engine._core`).
- `bindings`: the seam, one module per Rust folder (`bindings/forms.py` is `rust/forms/`), the
  only modules that import `tachyon_engine._core`.
"""
