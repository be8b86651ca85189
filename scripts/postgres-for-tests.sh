#!/usr/bin/env bash
# Start a throw-away PostgreSQL for gitward's store tests; print its URL.
#
#   out=$(scripts/postgres-for-tests.sh [start])  # stdout: datadir=DATADIR, then the URL
#   GITWARD_TEST_POSTGRES_URL=$(tail -n 1 <<<"$out") pytest tests/stores
#   scripts/postgres-for-tests.sh stop DATADIR     # stops it and deletes DATADIR
#
# The server listens on 127.0.0.1 only, on a free port, with trust
# authentication and durability off (fsync) — for tests, never for data. Its
# data directory is a fresh mktemp directory; the exact stop command is printed
# on stderr. PostgreSQL refuses to run as root, so as root the server runs as
# the `postgres` user (from the Debian `postgresql` package).
set -euo pipefail

die() { echo "postgres-for-tests: $*" >&2; exit 1; }

server_bindir() {
    local candidate
    if command -v pg_config >/dev/null 2>&1; then
        candidate=$(pg_config --bindir)
        [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ] && { echo "$candidate"; return; }
    fi
    # pg_config may come from libpq-dev alone; the server lives here on Debian.
    candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ] && { echo "$candidate"; return; }
    candidate=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
    [ -x "$candidate/initdb" ] && { echo "$candidate"; return; }
    die "no PostgreSQL server found; install it (apt-get install postgresql)"
}

# Run a server binary as the user that owns the data directory.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

stop_server() {
    local datadir=$1
    [ -f "$datadir/PG_VERSION" ] || die "$datadir is not a PostgreSQL data directory"
    as_owner "$(server_bindir)/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
    rm -rf -- "$datadir"
}

start_server() {
    local bindir datadir port
    bindir=$(server_bindir)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server"
    fi
    datadir=$(mktemp -d "${TMPDIR:-/tmp}/gitward-pg.XXXXXX")
    [ "$(id -u)" -eq 0 ] && chown postgres: "$datadir"
    chmod 700 "$datadir"
    as_owner "$bindir/initdb" -D "$datadir" -U postgres --auth=trust --encoding=UTF8 \
        --no-locale --no-sync >"$datadir.initdb.log" 2>&1 \
        || { cat "$datadir.initdb.log" >&2; die "initdb failed"; }
    rm -f -- "$datadir.initdb.log"
    port=$(free_port)
    as_owner "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$datadir'" \
        -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
        || { cat "$datadir/server.log" >&2; die "the server did not start"; }
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres gitward_test
    echo "PostgreSQL runs on 127.0.0.1:$port; stop it with: $0 stop $datadir" >&2
    echo "datadir=$datadir"
    echo "postgresql://postgres@127.0.0.1:$port/gitward_test"
}

case "${1:-start}" in
    start) start_server ;;
    stop) [ $# -eq 2 ] || die "usage: $0 stop DATADIR"; stop_server "$2" ;;
    *) die "usage: $0 [start | stop DATADIR]" ;;
esac
