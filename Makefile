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

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve
serve: ## Serve the example app (examples/app.py) on the built-in server; Ctrl-C stops it
	$(VENV)/bin/tachyon examples.app:app --host $(HOST) --port $(PORT)

.PHONY: check
check: lint test ## What CI runs: lint, then every test

.PHONY: test
test: test-rust smoke test-python test-forms-versions compat bench-smoke ## Rust tests, project tests, forms on every python-multipart, compat suites, benchmark smoke pass

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

# The older supported python-multipart releases (the newest is the environment's, from the test extra).
MULTIPART_OLDER := 0.0.32 0.0.33

.PHONY: test-forms-versions
test-forms-versions: ## The forms differential tests against each older supported python-multipart's own parser
	@for version in $(MULTIPART_OLDER); do \
		overlay="$(CURDIR)/compat_tests/.work/overlays/python-multipart-$$version"; \
		[ -d "$$overlay/python_multipart-$$version.dist-info" ] || \
			$(PIP) install --quiet --no-deps --target "$$overlay" "python-multipart==$$version" || exit 1; \
		echo "forms differential tests on python-multipart $$version"; \
		PYTHONPATH="$$overlay" $(PY) -c "import python_multipart as m; assert m.__version__ == '$$version', m.__file__" \
			&& PYTHONPATH="$$overlay" $(VENV)/bin/pytest -q tests/test_forms_differential.py || exit 1; \
	done

.PHONY: compat
compat: ## Starlette 1.10.0's suite (rewritten, and unchanged with install()), FastAPI's oldest and newest supported suites (install()), stock vs tachyon_engine
	$(PY) -m compat_tests

.PHONY: compat-latest
compat-latest: ## The newest releases on the registry, in .venv-latest: FastAPI's and Starlette's suites under install(), each target verified? engaged?
	python3 -m compat_tests.latest

.PHONY: verified-sources
verified-sources: ## Record the stock sources of every supported release into tachyon_engine/engine/verified_sources.py
	$(PY) -m compat_tests.verified_sources

# The runner starts from a folder holding only links to benchmarks/ and compat_tests/: from the
# repository root, `python -m` would import the source folder tachyon_engine/ (no compiled
# extension after `pip install .`) instead of the installed package.
BENCHMARKS = cd "$$($(abspath $(PY)) -c 'from benchmarks.processes import import_root; print(import_root())')" \
	&& $(abspath $(PY)) -m benchmarks

.PHONY: bench
bench: ## Full side-by-side matrix, stock vs tachyon_engine, three servers end to end (~18 min): benchmarks/RESULTS.md + charts
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
