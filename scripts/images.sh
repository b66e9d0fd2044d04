#!/usr/bin/env bash
# Builds the images of a local cluster with no container registry and no Docker engine, and saves each as
# an OCI archive that `ctr -n k8s.io images import FILE` takes under its full name:
#   docker.io/elastic-inference/{controlplane,worker,redis,postgres}:local
# All of them start FROM a Python 3.11 base debootstrapped from Debian bookworm (Debian's python3 is 3.11,
# like python:3.11-slim-bookworm), built once and cached. Builds use buildah (Debian's package) in chroot
# isolation: no daemon, no runc, nothing left running.
#
# usage: scripts/images.sh [controlplane|worker|redis|postgres ...]   (default: all four)
# Cache: ${EI_IMAGE_CACHE:-$HOME/.cache/elastic-inference/images}, with base.tar (the base as an OCI
# archive) and IMAGE.tar, guarded by a flock: a second run on this machine waits for the first.
# EI_DEBIAN_MIRROR: another Debian mirror (default http://deb.debian.org/debian).
set -euo pipefail

ALL=(controlplane worker redis postgres)
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${EI_IMAGE_CACHE:-$HOME/.cache/elastic-inference/images}
BASE_NAME=localhost/elastic-inference/python:3.11-bookworm  # localhost/: never looked up in a registry
MIRROR=${EI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
TAG=local

say() { echo "images: $*" >&2; }
die() { say "$*"; exit 1; }

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
  exit 0
fi
images=("$@")
((${#images[@]})) || images=("${ALL[@]}")
for image in "${images[@]}"; do
  [[ " ${ALL[*]} " == *" $image "* ]] || die "unknown image '$image' (choose from: ${ALL[*]})"
done

# buildah needs root here: rootless builds would need subuid ranges and fuse-overlayfs, which these
# machines do not set up. Re-run under sudo rather than half-work.
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root (buildah builds as root here)"
  exec sudo --preserve-env=EI_IMAGE_CACHE,EI_DEBIAN_MIRROR,HOME "$0" "$@"
fi

# Install only what is missing, never upgrading what is there (apt-get update only if the install fails).
missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  say "installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends --no-upgrade "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -q --no-install-recommends --no-upgrade "${missing[@]}" >/dev/null
  }
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "waiting for another run to release $CACHE/.lock"
  flock 9
fi

# chroot isolation: runc's default OCI isolation is not needed to build; host networking lets pip and
# apt inside RUN reach PyPI and the Debian mirror directly; --force-rm: a failed step leaves no container;
# --layers: unchanged steps (the pip installs) come from the cache of the last run.
BUILD_OPTS=(--isolation chroot --network host --pull=never --layers --force-rm)
# This machine's CA bundle, bind-mounted read-only into each RUN (never committed to a layer): pip then
# trusts what the host trusts, such as a TLS-inspecting egress proxy's CA.
HOST_CA=/etc/ssl/certs/ca-certificates.crt
if [ -s "$HOST_CA" ]; then BUILD_OPTS+=(--volume "$HOST_CA:$HOST_CA:ro"); fi
export BUILDAH_ISOLATION=chroot

# Whatever a failed step leaves behind: a working container, the mounts debootstrap made in it, temp files.
work_container="" tmp_files=()
cleanup() {
  if [ -n "$work_container" ]; then
    mnt=$(buildah mount "$work_container" 2>/dev/null || true)
    if [ -n "$mnt" ]; then
      findmnt -rn -o TARGET | grep -F "$mnt/" | sort -r | while read -r target; do umount -l "$target" || true; done
    fi
    buildah umount "$work_container" >/dev/null 2>&1 || true
    buildah rm "$work_container" >/dev/null 2>&1 || true
  fi
  ((${#tmp_files[@]} == 0)) || rm -f "${tmp_files[@]}"
}
trap cleanup EXIT

image_id() { buildah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null; }

# An OCI archive written beside its final name, then renamed: a reader never sees half a file.
save() {
  local name=$1 file=$2
  local tmp="$file.tmp.$$"
  tmp_files+=("$tmp")
  rm -f "$tmp"
  buildah push --quiet "$name" "oci-archive:$tmp:$name" >/dev/null
  mv -f "$tmp" "$file"
}

build_base() {
  local started=$SECONDS mnt
  say "debootstrapping the base (Debian bookworm, minbase + python3) from $MIRROR"
  work_container=$(buildah from scratch)
  mnt=$(buildah mount "$work_container")
  # passwd: groupadd/useradd for the Dockerfiles; ca-certificates: pip and apt over HTTPS.
  debootstrap --variant=minbase \
    --include=python3,python3-pip,python-is-python3,passwd,ca-certificates \
    bookworm "$mnt" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $CACHE/debootstrap.log"
  say "debootstrap took $((SECONDS - started)) s"
  buildah umount "$work_container" >/dev/null
  # Security and point-release updates too, then no apt lists or caches; pip may install system-wide
  # (PEP 668's marker removed), as in the official python image.
  cat >"$CACHE/sources.list.tmp" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb ${MIRROR%/debian}/debian-security bookworm-security main
SOURCES
  tmp_files+=("$CACHE/sources.list.tmp")
  buildah copy --quiet "$work_container" "$CACHE/sources.list.tmp" /etc/apt/sources.list >/dev/null
  # Docs, manuals and translations (about 50 MB) are dropped, and dpkg keeps them out of what the
  # Dockerfiles install later (as Debian's slim images do); copyright files stay.
  cat >"$CACHE/excludes.tmp" <<EXCLUDES
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EXCLUDES
  tmp_files+=("$CACHE/excludes.tmp")
  buildah copy --quiet "$work_container" "$CACHE/excludes.tmp" /etc/dpkg/dpkg.cfg.d/excludes >/dev/null
  buildah run --isolation chroot --network host "$work_container" -- sh -ec '
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get upgrade -y -qq >/dev/null
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log /var/log/bootstrap.log
    find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
    find /usr/share/doc -mindepth 1 -type d -empty -delete
    rm -rf /usr/share/man/* /usr/share/info/*
    find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED
    python --version && pip --version >/dev/null && command -v groupadd useradd >/dev/null'
  buildah config --env LANG=C.UTF-8 \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["python3"]' --created-by "debootstrap --variant=minbase bookworm" "$work_container"
  buildah commit --quiet --rm "$work_container" "$BASE_NAME" >/dev/null
  work_container=""
  save "$BASE_NAME" "$CACHE/base.tar"
  say "base built in $((SECONDS - started)) s"
}

# The base: in buildah's store already, else from the cached archive, else built (and cached).
if [ -z "$(image_id "$BASE_NAME")" ]; then
  if [ -s "$CACHE/base.tar" ]; then
    say "loading the base from $CACHE/base.tar"
    id=$(buildah pull --quiet "oci-archive:$CACHE/base.tar")
    buildah tag "$id" "$BASE_NAME"
  else
    build_base
  fi
elif [ ! -s "$CACHE/base.tar" ]; then
  save "$BASE_NAME" "$CACHE/base.tar"
fi

cd "$REPO"
for image in "${images[@]}"; do
  name=docker.io/elastic-inference/$image:$TAG
  file=$CACHE/$image.tar
  started=$SECONDS
  say "building $name"
  buildah bud "${BUILD_OPTS[@]}" --ignorefile "container/Dockerfile.$image.dockerignore" --build-arg "BASE=$BASE_NAME" \
    -f "container/Dockerfile.$image" -t "$name" . >"$CACHE/$image.build.log" 2>&1 \
    || { tail -n 30 "$CACHE/$image.build.log" >&2; die "building $image failed; see $CACHE/$image.build.log"; }
  built=$((SECONDS - started))
  id=$(image_id "$name")
  if [ -s "$file" ] && [ "$(cat "$file.id" 2>/dev/null)" = "$id" ]; then
    saved="unchanged, archive kept"
  else
    save "$name" "$file"
    echo "$id" >"$file.id"
    saved="archive written in $((SECONDS - started - built)) s"
  fi
  size=$(buildah images --format '{{.Size}}' "$name" | head -n 1)
  printf '%-45s image %-9s archive %-7s built in %3d s, %s\n' \
    "$name" "$size" "$(du -h "$file" | cut -f1)" "$built" "$saved"
done
echo "import into containerd with: ctr -n k8s.io images import FILE   (files in $CACHE)"
