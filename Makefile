# One front door for developers. `make help` lists the targets.
# Everything runs inside .venv, created by `make install`.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

.PHONY: install
install: $(PY) ## Build the release extension and install tachyon_engine with its test, dev and benchmark tools
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet ".[dev,bench]"

.PHONY: build
build: $(PY) ## Rebuild the extension in place (release profile, editable install) for a fast dev loop
	$(VENV)/bin/maturin develop --release --quiet
	@# An editable install does not ship the wheel's .pth hook (TACHYON_ENGINE_INSTALL): put it in place.
	cp tachyon_engine_install.pth "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/

.PHONY: check
check: lint test ## What CI runs: lint, then every test

.PHONY: test
test: test-rust smoke test-python compat bench-smoke ## Rust tests, project tests, Starlette compat suite, benchmark smoke pass

.PHONY: smoke
smoke: ## The installed package imports from outside the repository, with a release extension
	cd "$$(mktemp -d)" && $(abspath $(PY)) -c 'import tachyon_engine._core as core, tachyon_engine as te; \
		print("tachyon_engine", core.__version__, core.BUILD_PROFILE, "from", te.__file__); \
		assert core.BUILD_PROFILE == "release"'

.PHONY: test-rust
test-rust: ## Rust unit tests
	cargo test --quiet

.PHONY: test-python
test-python: ## The project's own tests (differential, mirror, routing)
	$(VENV)/bin/pytest

.PHONY: compat
compat: ## Starlette 1.10.0's suite (rewritten, and unchanged with install()) and FastAPI 0.163.2's (install()), stock vs tachyon_engine
	$(PY) -m compat_tests

# The runner starts from a folder holding only links to benchmarks/ and compat_tests/: from the
# repository root, `python -m` would import the source folder tachyon_engine/ (no compiled
# extension after `pip install .`) instead of the installed package.
BENCHMARKS = cd "$$($(abspath $(PY)) -c 'from benchmarks.processes import import_root; print(import_root())')" \
	&& $(abspath $(PY)) -m benchmarks

.PHONY: bench
bench: ## Full side-by-side matrix, stock vs tachyon_engine (~10 min): benchmarks/RESULTS.md + charts
	$(BENCHMARKS)

.PHONY: bench-smoke
bench-smoke: ## Every benchmark section once, tiny budgets; fails on a crash or a differing output
	$(BENCHMARKS) --smoke

.PHONY: lint
lint: ## ruff, mypy --strict, stubtest of _core.pyi, cargo fmt --check, cargo clippy -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd "$$(mktemp -d)" && $(abspath $(PY)) -m mypy.stubtest tachyon_engine._core
	cargo fmt --check
	cargo clippy --all-targets --quiet -- -D warnings

.PHONY: format
format: ## Format Python and Rust sources
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	cargo fmt
