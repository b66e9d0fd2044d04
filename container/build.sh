#!/usr/bin/env bash
# Builds the two images of Elastic Inference from this checkout and, with -p, pushes them to a registry.
# (For a local cluster with no registry at all, scripts/images.sh builds them as OCI archives instead.)
set -euo pipefail

usage() {
  cat <<USAGE
usage: $(basename "$0") -r REGISTRY [-t TAG] [-b BASE] [-p] [-n] [-h]
  -r REGISTRY  registry to tag for, e.g. registry.example.com:5000 (required)
  -t TAG       image tag (default: latest)
  -b BASE      base image of both, a Python 3.11 on Debian bookworm (default: the Dockerfiles'
               python:3.11-slim-bookworm)
  -p           push both images after building them
  -n           dry run: print the commands, run nothing
  -h           show this help
Builds REGISTRY/elastic-inference/controlplane:TAG and REGISTRY/elastic-inference/worker:TAG with docker,
or podman where docker is missing, or buildah where both are (the first of docker, podman, buildah on
PATH). http_proxy, https_proxy and no_proxy reach the build when set.
USAGE
}

fail() { echo "build: $1" >&2; usage >&2; exit 2; }

registry="" tag=latest base="" push=0 dry_run=0
while getopts ":r:t:b:pnh" option; do
  case $option in
    r) registry=${OPTARG%/} ;;
    t) tag=$OPTARG ;;
    b) base=$OPTARG ;;
    p) push=1 ;;
    n) dry_run=1 ;;
    h) usage; exit 0 ;;
    :) fail "-$OPTARG needs a value" ;;
    *) fail "unknown option -$OPTARG" ;;
  esac
done
shift $((OPTIND - 1))
(($# == 0)) || fail "unexpected argument: $1"
[ -n "$registry" ] || fail "-r REGISTRY is required"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || fail "invalid tag: $tag"
[[ -z $base || $base =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]] || fail "invalid base image: $base"

engine=docker
for candidate in docker podman buildah; do
  if command -v "$candidate" >/dev/null; then engine=$candidate; break; fi
done
if ((!dry_run)) && ! command -v "$engine" >/dev/null; then
  echo "build: none of docker, podman or buildah is installed" >&2
  exit 1
fi
export DOCKER_BUILDKIT=1  # BuildKit reads container/Dockerfile.<image>.dockerignore

# Each command is printed, then run unless this is a dry run.
run() {
  printf '%q ' "$@" | sed 's/ $//'
  echo
  ((dry_run)) || "$@"
}

build_args=()
for name in http_proxy https_proxy no_proxy; do
  if [ -n "${!name:-}" ]; then build_args+=(--build-arg "$name=${!name}"); fi
done
if [ -n "$base" ]; then build_args+=(--build-arg "BASE=$base"); fi

run cd "$(cd "$(dirname "$0")/.." && pwd)"
# The worker image carries the sample footage that `make assets` fetches (or makes).
if ! compgen -G ".assets/*.avi" >/dev/null; then
  echo "build: no sample video in .assets/: run \`make assets\` first" >&2
  ((dry_run)) || exit 1
fi
for image in controlplane worker; do
  ignore_args=()
  if [ "$engine" != docker ]; then ignore_args=(--ignorefile "container/Dockerfile.$image.dockerignore"); fi
  run "$engine" build ${build_args[@]+"${build_args[@]}"} ${ignore_args[@]+"${ignore_args[@]}"} \
    -f "container/Dockerfile.$image" -t "$registry/elastic-inference/$image:$tag" .
done
if ((push)); then
  for image in controlplane worker; do
    run "$engine" push "$registry/elastic-inference/$image:$tag"
  done
fi
