#!/usr/bin/env bash
# Builds the two images of Elastic Inference from this checkout and, with -p, pushes them to a registry.
set -euo pipefail

usage() {
  cat <<USAGE
usage: $(basename "$0") -r REGISTRY [-t TAG] [-p] [-n] [-h]
  -r REGISTRY  registry to tag for, e.g. registry.example.com:5000 (required)
  -t TAG       image tag (default: latest)
  -p           push both images after building them
  -n           dry run: print the commands, run nothing
  -h           show this help
Builds REGISTRY/elastic-inference/controlplane:TAG and REGISTRY/elastic-inference/worker:TAG with docker,
or podman where docker is missing. http_proxy, https_proxy and no_proxy reach the build when set.
USAGE
}

fail() { echo "build: $1" >&2; usage >&2; exit 2; }

registry="" tag=latest push=0 dry_run=0
while getopts ":r:t:pnh" option; do
  case $option in
    r) registry=${OPTARG%/} ;;
    t) tag=$OPTARG ;;
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

engine=docker
if ! command -v docker >/dev/null && command -v podman >/dev/null; then engine=podman; fi
if ((!dry_run)) && ! command -v "$engine" >/dev/null; then
  echo "build: neither docker nor podman is installed" >&2
  exit 1
fi
export DOCKER_BUILDKIT=1  # BuildKit reads container/Dockerfile.<image>.dockerignore

# Each command is printed, then run unless this is a dry run.
run() {
  printf '%q ' "$@" | sed 's/ $//'
  echo
  ((dry_run)) || "$@"
}

proxy_args=()
for name in http_proxy https_proxy no_proxy; do
  if [ -n "${!name:-}" ]; then proxy_args+=(--build-arg "$name=${!name}"); fi
done

run cd "$(cd "$(dirname "$0")/.." && pwd)"
for image in controlplane worker; do
  ignore_args=()
  if [ "$engine" = podman ]; then ignore_args=(--ignorefile "container/Dockerfile.$image.dockerignore"); fi
  run "$engine" build ${proxy_args[@]+"${proxy_args[@]}"} ${ignore_args[@]+"${ignore_args[@]}"} \
    -f "container/Dockerfile.$image" -t "$registry/elastic-inference/$image:$tag" .
done
if ((push)); then
  for image in controlplane worker; do
    run "$engine" push "$registry/elastic-inference/$image:$tag"
  done
fi
