#!/usr/bin/env bash
# Build the Kubernetes control plane and node binaries from Debian's source package, once per machine:
# kube-apiserver and kube-controller-manager (the fast API-server-only tests, `make kube-up`), and
# kube-scheduler, kubelet and kube-proxy (the real one-node cluster, `make cluster-up`).
# The binaries are cached outside the repo (EI_KUBE_CACHE); a second call finds them and returns.
# A lock keeps two builds on one machine (two checkouts, a CI run beside a session) out of each other's tree.
# Why from source: no registry this kind of machine reaches ships these binaries.
# This script only builds; scripts/kube/node.py starts the kubelet, always with AWS_EC2_METADATA_DISABLED=true
# in its environment (its cloud credential lookup would otherwise try an address off this machine).
set -euo pipefail

CACHE="${EI_KUBE_CACHE:-$HOME/.cache/elastic-inference/kube}"
BIN="$CACHE/bin"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
built() {
    local name
    for name in "${BINARIES[@]}"; do [[ -x "$BIN/$name" ]] || return 1; done
}
built && exit 0

mkdir -p "$CACHE"
exec 9>"$CACHE/build.lock"
if ! flock -n 9; then
    echo "kube-build: another build holds $CACHE/build.lock; waiting for it"
    flock 9
fi
built && exit 0  # the build we waited for made them

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

need_packages=()
command -v etcd >/dev/null || need_packages+=(etcd-server)
[[ -x /usr/lib/go-1.19/bin/go ]] || need_packages+=(golang-1.19-go)
command -v rsync >/dev/null || need_packages+=(rsync)
command -v kubectl >/dev/null || need_packages+=(kubernetes-client)  # kubectl kustomize, kubectl apply

# Debian ships only `deb` entries; the source package needs a matching `deb-src` one.
SRC_LIST=/etc/apt/sources.list.d/elastic-inference-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
    echo "kube-build: adding a deb-src entry ($SRC_LIST)"
    $SUDO tee "$SRC_LIST" >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $SUDO apt-get update -qq
fi
if (( ${#need_packages[@]} )); then
    echo "kube-build: apt-get install ${need_packages[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_packages[@]}" >/dev/null
fi

WORK="$CACHE/build"
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
echo "kube-build: fetching Debian's kubernetes source package"
apt-get source --download-only -qq kubernetes
tar xzf kubernetes_*.orig.tar.gz
cd kubernetes-*/

export PATH=/usr/lib/go-1.19/bin:$PATH GOPATH=$PWD/.go GOCACHE=$WORK/gocache GOPROXY=off \
       CGO_ENABLED=0 KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean
mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes
echo "kube-build: building ${BINARIES[*]} (about 10 minutes on 2 cores, 1.4 GB of memory)"
if ! make WHAT="${BINARIES[*]/#/cmd/}" >"$WORK/make.log" 2>&1; then
    tail -30 "$WORK/make.log" >&2
    echo "kube-build: make failed; the whole log is $WORK/make.log" >&2
    exit 1
fi

mkdir -p "$BIN"
for name in "${BINARIES[@]}"; do install -m 0755 "_output/bin/$name" "$BIN/"; done
cd "$CACHE" && rm -rf "$WORK"
echo "kube-build: done, binaries in $BIN"
