#!/bin/sh
# Entrypoint of container/Dockerfile.postgres: on an empty PGDATA, initdb with POSTGRES_USER's password
# and POSTGRES_DB, then exec the server (as the image's postgres user, uid 999). The server listens on
# every address; remote hosts log in with a password (scram-sha-256), the local socket is trusted (only
# processes in this container reach it).
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
export PGDATA

# Started as root (no runAsUser): hand PGDATA to postgres and come back as it; PostgreSQL refuses root.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "${1:-postgres}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres-entrypoint: PGDATA ($PGDATA) is empty and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  if [ ! -O "$PGDATA" ]; then
    echo "postgres-entrypoint: PGDATA ($PGDATA) is not owned by uid $(id -u); mount the volume at its" \
      "parent directory, or set PGDATA to a directory under the volume" >&2
    exit 1
  fi
  chmod 0700 "$PGDATA"
  # The password reaches initdb on a pipe, never on a command line or in a file.
  printf '%s\n' "$POSTGRES_PASSWORD" | initdb --username="$POSTGRES_USER" --pwfile=/dev/stdin \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  printf '%s\n' "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf '%s\n' "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    db=$(printf '%s' "$POSTGRES_DB" | sed 's/"/""/g')
    printf 'CREATE DATABASE "%s";\n' "$db" | postgres --single -j -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres-entrypoint: initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)" >&2
fi

exec "$@"
