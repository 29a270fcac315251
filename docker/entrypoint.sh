#!/bin/sh
# Container start. `serve` (the default) applies migrations unless MIGRATE_ON_START=false, then
# runs gunicorn in the foreground; any other command runs as `httprouter <command>` (`worker`,
# `db upgrade`, `config check`, `resend`, ...). Flags alone (`--workers 4`) are serve's flags.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- serve "$@"
fi

if [ "$1" = "serve" ]; then
  shift
  if [ "${MIGRATE_ON_START:-true}" != "false" ]; then
    httprouter db upgrade
  fi
  exec httprouter serve --host "${BIND_HOST:-0.0.0.0}" --workers "${WEB_WORKERS:-2}" --no-migrate "$@"
fi

exec httprouter "$@"
