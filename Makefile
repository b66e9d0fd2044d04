# The README's commands. Every target installs what it needs first.
PY := .venv/bin/python
MODEL ?= builtin:people
# How often the cluster's HPA controller reads the metrics and decides (Kubernetes' default: 15s).
HPA_SYNC_PERIOD ?= 5s

.PHONY: demo test setup assets bench kube-up kube-down images cluster-up cluster-deploy cluster-down

demo: setup assets
	@$(PY) scripts/demo.py

test: setup assets
	@scripts/kube/build.sh
	@scripts/images.sh
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
	@$(PY) -m scripts.kube.cluster up

kube-down:
	@$(PY) -m scripts.kube.cluster down

# A real one-node Kubernetes cluster on this machine (containerd, kubelet, kube-proxy, CNI bridge) with our
# images: `make cluster-up images cluster-deploy` gives the dashboard at http://127.0.0.1:31080/.
cluster-up: setup
	@$(PY) -m scripts.kube.node up --kubeconfig .kube/cluster.config --hpa-sync-period $(HPA_SYNC_PERIOD)

# Builds the images (buildah, from a local Debian base) and loads them into the cluster when it is up.
IMAGE_CACHE ?= $(or $(EI_IMAGE_CACHE),$(HOME)/.cache/elastic-inference/images)
images: setup assets
	@scripts/images.sh
	@if $(PY) -m scripts.kube.node status >/dev/null 2>&1; then \
	  $(PY) -m scripts.kube.node load $(foreach image,controlplane worker redis postgres,$(IMAGE_CACHE)/$(image).tar); fi

cluster-deploy: setup
	@$(PY) -m scripts.kube.deploy_local --kubeconfig .kube/cluster.config

cluster-down:
	@$(PY) -m scripts.kube.node down
