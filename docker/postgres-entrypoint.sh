#!/bin/sh
# Initialises the data directory on first start (as the official image does, from
# POSTGRES_HOST_AUTH_METHOD, POSTGRES_PASSWORD and POSTGRES_DB), then runs the server in the
# foreground, listening on every address of the container.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  method="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [ "$method" != trust ] && [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "postgres: set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust (local use only)" >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-unused}" >"$pwfile"
  # UTF8, as the official image has it (drover refuses other encodings): without a locale
  # in the environment initdb would pick SQL_ASCII.
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" -A "$method" --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all $method" >>"$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    postgres --single -D "$PGDATA" postgres <<SQL >/dev/null
CREATE DATABASE "$POSTGRES_DB";
SQL
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*'
