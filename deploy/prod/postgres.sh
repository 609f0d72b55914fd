#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of Debian's PostgreSQL for Temporal: a cluster in $PIVOTRL_STATE/prod/pg on 127.0.0.1:$PG_PORT, the role
# `temporal`, the databases `temporal` and `temporal_visibility`, their schemas set up and updated from the server module's own
# schema files with temporal-sql-tool. Runs pg_ctl directly (no systemd).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

pg_bin_dir() {
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

# Runs a PostgreSQL command as the cluster's owner (the `postgres` user when we are root).
as_owner() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The SQL goes on stdin: a statement may hold the role's password, which must not show on a command line.
superuser_sql() {
  as_owner "$PG/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtX <<<"$1"
}

running() { as_owner "$PG/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

ensure_installed() {
  if ! PG="$(pg_bin_dir)"; then
    log "installing Debian's postgresql"
    apt_install postgresql
    PG="$(pg_bin_dir)" || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
  fi
}

ensure_cluster() {
  if [ -f "$PG_DATA/PG_VERSION" ]; then
    return
  fi
  log "creating a PostgreSQL cluster in $PG_DATA"
  mkdir -p "$PG_DATA" "$PG_SOCKET_DIR" "$PROD_LOGS"
  is_root && chown postgres: "$PG_DATA" "$PG_SOCKET_DIR"
  chmod 700 "$PG_DATA" "$PG_SOCKET_DIR"
  # The socket lives in a directory only the owner can enter, so local connections are trusted; TCP needs the password.
  as_owner "$PG/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    >>"$PROD_LOGS/postgres-initdb.log" 2>&1 || {
    tail -n 10 "$PROD_LOGS/postgres-initdb.log" >&2
    die "initdb failed (does the postgres user reach $PG_DATA? every parent directory needs o+x); see $PROD_LOGS/postgres-initdb.log"
  }
}

start_server() {
  mkdir -p "$PG_SOCKET_DIR" "$PROD_LOGS"
  if is_root; then
    chown postgres: "$PG_SOCKET_DIR"
    touch "$PROD_LOGS/postgres.log" && chown postgres: "$PROD_LOGS/postgres.log"
  fi
  log "starting postgresql on $PG_HOST:$PG_PORT (data: $PG_DATA, log: $PROD_LOGS/postgres.log)"
  as_owner "$PG/pg_ctl" -D "$PG_DATA" -l "$PROD_LOGS/postgres.log" -w -t 60 \
    -o "-c listen_addresses=$PG_HOST -c port=$PG_PORT -c unix_socket_directories=$PG_SOCKET_DIR" start >/dev/null || {
    tail -n 10 "$PROD_LOGS/postgres.log" >&2
    die "postgresql did not start; see $PROD_LOGS/postgres.log"
  }
}

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

ensure_role_and_databases() {
  local db
  if [ -z "$(superuser_sql "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" ]; then
    log "creating role $PG_USER"
    superuser_sql "CREATE ROLE $PG_USER LOGIN PASSWORD $(sql_quote "$PG_PASSWORD")" >/dev/null
  fi
  for db in temporal temporal_visibility; do
    if [ -z "$(superuser_sql "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
      log "creating database $db"
      superuser_sql "CREATE DATABASE $db OWNER $PG_USER" >/dev/null
    fi
  done
}

# The password check over TCP, as Temporal connects: a wrong PIVOTRL_PG_PASSWORD fails here, clearly, and not as a server hang.
check_password() {
  local out
  out="$(PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG/psql" -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d temporal -qAtX \
    -c 'SELECT 1' 2>&1)" && return
  if grep -q 'password authentication failed' <<<"$out"; then
    die "PostgreSQL refused the password for role $PG_USER: PIVOTRL_PG_PASSWORD differs from the password the cluster in $PG_DATA" \
      "was set up with. Use that password (unset PIVOTRL_PG_PASSWORD for the one in $SECRETS_ENV), or change the role's password with" \
      "\`runuser -u postgres -- $PG/psql -h $PG_SOCKET_DIR -p $PG_PORT -U postgres -c '\\password $PG_USER'\` (it prompts; then set" \
      "PIVOTRL_PG_PASSWORD in $SECRETS_ENV)," \
      "or run deploy/prod/down.sh and remove $PG_DATA to start over (losing the stack's history)"
  fi
  die "cannot connect to PostgreSQL at $PG_HOST:$PG_PORT as $PG_USER: $out"
}

# setup-schema once (when schema_version is missing), then update-schema, which applies only the versions not yet applied.
ensure_schemas() {
  local module db dir
  module="$(temporal_module_dir)"
  for db in temporal temporal_visibility; do
    dir="$module/schema/postgresql/v12/temporal/versioned"
    [ "$db" = temporal_visibility ] && dir="$module/schema/postgresql/v12/visibility/versioned"
    export SQL_PLUGIN=postgres12 SQL_HOST="$PG_HOST" SQL_PORT="$PG_PORT" SQL_USER="$PG_USER" SQL_PASSWORD="$PG_PASSWORD" SQL_DATABASE="$db"
    if [ "$(as_owner "$PG/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$db" -qAtX \
      -c "SELECT count(*) FROM pg_tables WHERE tablename = 'schema_version'")" = 0 ]; then
      log "setting up the $db schema"
      "$BIN_DIR/temporal-sql-tool" setup-schema -v 0.0 >>"$PROD_LOGS/schema.log" 2>&1 ||
        die "temporal-sql-tool setup-schema failed for $db; see $PROD_LOGS/schema.log"
    fi
    "$BIN_DIR/temporal-sql-tool" update-schema -d "$dir" >>"$PROD_LOGS/schema.log" 2>&1 ||
      die "temporal-sql-tool update-schema -d $dir failed for $db; see $PROD_LOGS/schema.log"
    log "$db schema at version $(as_owner "$PG/psql" -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$db" -qAtX \
      -c "SELECT curr_version FROM schema_version")"
  done
}

start() {
  ensure_secrets
  ensure_installed
  if running; then
    log "postgresql already running ($PG_DATA, $PG_HOST:$PG_PORT)"
  else
    port_free "$PG_PORT" "PostgreSQL"
    ensure_cluster
    start_server
  fi
  ensure_role_and_databases
  check_password
  ensure_schemas
}

stop() {
  PG="$(pg_bin_dir)" || return 0
  if ! running; then
    log "postgresql not running"
    return
  fi
  log "stopping postgresql ($PG_DATA)"
  as_owner "$PG/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
}

status() {
  PG="$(pg_bin_dir)" || { echo "postgresql not installed"; return 3; }
  if running; then echo "postgresql running on $PG_HOST:$PG_PORT ($PG_DATA)"; else echo "postgresql not running"; return 3; fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
