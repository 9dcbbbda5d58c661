"""The seam between Python and Rust: one module per folder of the Rust extension
(`tachyon_engine._core`, crate in `rust/`), named after it, re-exporting that folder's functions.
Everything else calls Rust through these, imported as `rust_<folder>`, so a call site names the
Rust folder that answers it (FastAPI's: `tachyon_engine.fastapi.bindings`, `rust/fastapi/`)."""
