#!/usr/bin/env bash
# Runs the control-plane tests again on PostgreSQL, the production database path, when one is reachable:
# EI_TEST_DATABASE_URL if set, else the local server on 127.0.0.1:5432 as user postgres.
set -euo pipefail
cd "$(dirname "$0")/.."
url=${EI_TEST_DATABASE_URL:-}
if [ -z "$url" ]; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
    url=postgres://postgres@127.0.0.1:5432/elastic_inference
  else
    echo "test: no PostgreSQL reachable; skipped the PostgreSQL run (set EI_TEST_DATABASE_URL to run it)"
    exit 0
  fi
fi
echo "test: control-plane tests again on PostgreSQL (${url%%@*}@...)"
DATABASE_URL=$url .venv/bin/python -m pytest -q tests/controlplane "$@"
