#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager from Debian's source package, once per machine.
# The binaries are cached outside the repo (EI_KUBE_CACHE); a second call finds them and returns.
# Why from source: no registry this kind of machine reaches ships a kube-apiserver binary.
set -euo pipefail

CACHE="${EI_KUBE_CACHE:-$HOME/.cache/elastic-inference/kube}"
BIN="$CACHE/bin"
if [[ -x "$BIN/kube-apiserver" && -x "$BIN/kube-controller-manager" ]]; then
    exit 0
fi

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
echo "kube-build: building kube-apiserver and kube-controller-manager (about 8 minutes on 2 cores)"
make WHAT=cmd/kube-apiserver >"$WORK/make.log" 2>&1
make WHAT=cmd/kube-controller-manager >>"$WORK/make.log" 2>&1

mkdir -p "$BIN"
install -m 0755 _output/bin/kube-apiserver _output/bin/kube-controller-manager "$BIN/"
cd "$CACHE" && rm -rf "$WORK"
echo "kube-build: done, binaries in $BIN"
