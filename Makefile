# The README's commands. Every target installs what it needs first.
PY := .venv/bin/python
MODEL ?= builtin:people

.PHONY: demo test setup assets bench

demo: setup assets
	@$(PY) scripts/demo.py

test: setup assets
	@$(PY) -m pytest
	@scripts/test_postgres.sh

setup:
	@scripts/setup.sh

assets: setup
	@$(PY) scripts/fetch_assets.py

bench: setup assets
	@$(PY) bench/worker_throughput.py --model $(MODEL)
