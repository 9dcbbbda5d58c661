"""Side-by-side benchmarks: stock Starlette vs tachyon_engine, in one run."""
