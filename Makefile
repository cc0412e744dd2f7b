# `make run` and `make test` each set everything up first (idempotent).
VENV := .venv
BMRU := $(VENV)/bin/bmru

.PHONY: setup run test test-slow lint bench clean

setup:
	bash scripts/bootstrap.sh

run: setup
	$(BMRU) flow -o build/flow

test: setup
	$(VENV)/bin/ruff check bmru_pdk tests benchmarks
	$(VENV)/bin/pytest -q

test-slow: setup
	$(VENV)/bin/pytest -q -m slow

bench: setup
	$(VENV)/bin/python benchmarks/bench_devices.py

clean:
	rm -rf build .pytest_cache
