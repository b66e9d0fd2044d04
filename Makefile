# The README's commands. Every target installs what it needs first.
PY := .venv/bin/python
MODEL ?= builtin:people

.PHONY: demo test setup assets bench kube-up kube-down

demo: setup assets
	@$(PY) scripts/demo.py

test: setup assets
	@scripts/kube/build.sh
	@$(PY) -m pytest
	@scripts/test_postgres.sh

setup:
	@scripts/setup.sh

assets: setup
	@$(PY) scripts/fetch_assets.py

bench: setup assets
	@$(PY) bench/worker_throughput.py --model $(MODEL)

# A real kube-apiserver (+ etcd, controller-manager) on loopback; kubeconfig in .kube/config.
kube-up: setup
	@$(PY) scripts/kube/cluster.py up

kube-down:
	@$(PY) scripts/kube/cluster.py down
