# pg_lib.sh - a throwaway PostgreSQL cluster for the integration tests: pg_start, pg_stop.
# Sourced (not run) by the integration scripts. Defines fail unless the script already did.
#
# pg_start creates a cluster in a fresh temporary directory (initdb, trust authentication, UTF8,
# locale C), starts it listening only on a unix socket in that directory (no TCP), waits until it
# accepts connections, creates the database ajuste_test and exports PGHOST, PGPORT, PGUSER
# (the superuser, postgres) and PGDATABASE for the test's clients. pg_stop stops it (fast mode)
# and removes the directory; it never fails, so it belongs in an EXIT trap:
#
#   . pg_lib.sh
#   trap 'pg_stop' EXIT
#   pg_start
#
# The server refuses to run as root: run as root, the server binaries run as the OS user
# PG_OS_USER (default postgres, from Debian's postgresql package) through runuser, and that user
# owns the directory; run as anyone else, they run directly as the current user. Nobody but that
# user (and root) can reach the socket: the directory is mode 0700, which is what makes trust
# authentication safe here. The port only names the socket file (.s.PGSQL.<port>) in a
# directory of our own, so a random one cannot collide with another server.
#
# Settings: PG_BINDIR (the server binaries; default the newest /usr/lib/postgresql/*/bin, else
# where initdb is on PATH), PG_OS_USER, PG_SERVER_OPTS (more "-c name=value" for the server),
# PG_START_TIMEOUT (seconds, default 60). Every command reads /dev/null, never the terminal.
# shellcheck shell=bash

if ! declare -F fail >/dev/null; then
  fail() {
    echo "FAIL: $*" >&2
    exit 1
  }
fi

pg_dir=""       # the cluster's directory: data/, the socket, server.log
pg_bindir=""
pg_watchdog=""  # pid of the process that stops the server if this shell dies without pg_stop
pg_as=()        # the prefix that runs a server binary as the right OS user
pg_opts=""      # the server's options (pg_server_start starts it again with them)

# pg_find_bindir: sets pg_bindir to the directory holding initdb, pg_ctl and postgres.
pg_find_bindir() {
  local d
  if [ -n "${PG_BINDIR:-}" ]; then
    pg_bindir=$PG_BINDIR
  else
    pg_bindir=""
    # Newest major version first (sort -V: 15 before 9.6 is wrong with a plain sort).
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
      if [ -x "$d/initdb" ]; then
        pg_bindir=$d
        break
      fi
    done
    if [ -z "$pg_bindir" ] && command -v initdb >/dev/null 2>&1; then
      pg_bindir=$(dirname "$(command -v initdb)")
    fi
  fi
  local b
  for b in initdb pg_ctl postgres; do
    [ -x "$pg_bindir/$b" ] ||
      fail "pg_start: no PostgreSQL server binary '$b' in '${pg_bindir:-/usr/lib/postgresql/*/bin}' (install Debian's postgresql package, or set PG_BINDIR)"
  done
}

# pg_as_server CMD...: runs CMD as the OS user the server runs as, reading /dev/null.
pg_as_server() {
  "${pg_as[@]}" "$@" </dev/null
}

# pg_start: see the top of this file. Fails (through fail) naming what failed, with its output.
pg_start() {
  [ -z "$pg_dir" ] || fail "pg_start: a cluster is already running in $pg_dir"
  command -v psql >/dev/null 2>&1 || fail "pg_start: psql not found (install Debian's postgresql-client package)"
  pg_find_bindir

  if [ "$(id -u)" -eq 0 ]; then
    local user=${PG_OS_USER:-postgres}
    id -u "$user" >/dev/null 2>&1 ||
      fail "pg_start: running as root, the server needs an unprivileged OS user '$user' (Debian's postgresql package creates postgres; or set PG_OS_USER)"
    command -v runuser >/dev/null 2>&1 || fail "pg_start: running as root, runuser (util-linux) is needed to run the server as '$user'"
    pg_as=(runuser -u "$user" --)
  else
    pg_as=()
  fi

  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/ajuste-pg.XXXXXX") || fail "pg_start: cannot create a temporary directory"
  if [ ${#pg_as[@]} -gt 0 ]; then
    chown "${PG_OS_USER:-postgres}:" "$pg_dir" || fail "pg_start: cannot give $pg_dir to ${PG_OS_USER:-postgres}"
  fi
  pg_as_server test -w "$pg_dir" ||
    fail "pg_start: the server's OS user cannot write $pg_dir (is ${TMPDIR:-/tmp} reachable by it? set TMPDIR)"

  local out
  if ! out=$(pg_as_server "$pg_bindir/initdb" -D "$pg_dir/data" --auth=trust --username=postgres -E UTF8 \
               --locale=C --no-sync 2>&1); then
    fail "pg_start: initdb -D $pg_dir/data failed: $out"
  fi

  # A port of our own choosing: it only names the socket file in our private directory.
  PGPORT=$((20000 + RANDOM % 40000))
  # fsync off: a test cluster never outlives its machine; listen_addresses empty: no TCP at all.
  local opts="-p $PGPORT -c listen_addresses='' -c unix_socket_directories='$pg_dir' -c fsync=off"
  opts="$opts -c max_connections=40 -c shared_buffers=16MB ${PG_SERVER_OPTS:-}"
  pg_opts=$opts
  if ! out=$(pg_as_server "$pg_bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -o "$opts" \
               -w -t "${PG_START_TIMEOUT:-60}" start 2>&1); then
    fail "pg_start: the server did not start: $out; server log: $(tail -n 30 "$pg_dir/server.log" 2>/dev/null)"
  fi

  # A test killed outright (kill -9, ctest's timeout) runs no EXIT trap: this stops the server and
  # removes the directory once the shell that started them is gone. It holds none of the test's
  # output descriptors, so nobody waits for it.
  local parent=$$ dir=$pg_dir
  (
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    if [ -f "$dir/data/postmaster.pid" ]; then
      pg_as_server "$pg_bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop || true
    fi
    rm -rf "$dir"
  ) </dev/null >/dev/null 2>&1 &
  pg_watchdog=$!

  # The clients of the test: only our server, whatever PG* the caller's environment has.
  unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD PGPASSFILE PGSSLMODE PGREQUIRESSL \
        PGCONNECT_TIMEOUT PGTARGETSESSIONATTRS PGAPPNAME
  export PGHOST=$pg_dir PGPORT PGUSER=postgres PGDATABASE=postgres
  if ! out=$(psql -X -q -v ON_ERROR_STOP=1 -c 'CREATE DATABASE ajuste_test' </dev/null 2>&1); then
    fail "pg_start: the server started but CREATE DATABASE failed: $out; server log: $(tail -n 30 "$pg_dir/server.log")"
  fi
  export PGDATABASE=ajuste_test
  echo "pg_start: PostgreSQL $("$pg_bindir/postgres" --version | awk '{print $3}') on $PGHOST port $PGPORT" \
       "(server runs as $(pg_as_server id -un))" >&2
}

# pg_server_stop [MODE]: stops the running server (pg_ctl -m MODE, default immediate: as if it
# crashed), keeping the cluster; pg_server_start starts it again on the same socket and port.
pg_server_stop() {
  local out
  out=$(pg_as_server "$pg_bindir/pg_ctl" -D "$pg_dir/data" -m "${1:-immediate}" -w -t 30 stop 2>&1) ||
    fail "pg_server_stop: $out"
}
pg_server_start() {
  local out
  out=$(pg_as_server "$pg_bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -o "$pg_opts"           -w -t "${PG_START_TIMEOUT:-60}" start 2>&1) ||
    fail "pg_server_start: $out; server log: $(tail -n 30 "$pg_dir/server.log" 2>/dev/null)"
}

# pg_stop: stops the cluster (fast: rolls back open transactions) and removes its directory.
# Does nothing when none was started; never fails.
pg_stop() {
  [ -n "$pg_dir" ] || return 0
  if [ -n "$pg_watchdog" ]; then
    kill "$pg_watchdog" 2>/dev/null || true
    wait "$pg_watchdog" 2>/dev/null || true
    pg_watchdog=""
  fi
  if [ -f "$pg_dir/data/postmaster.pid" ]; then
    if ! pg_as_server "$pg_bindir/pg_ctl" -D "$pg_dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      # The server we started, by the pid it wrote: nothing else is touched.
      local pid
      pid=$(head -n 1 "$pg_dir/data/postmaster.pid" 2>/dev/null || true)
      case "$pid" in
        '' | *[!0-9]*) ;;
        *) kill -9 "$pid" 2>/dev/null || true ;;
      esac
    fi
  fi
  rm -rf "$pg_dir" 2>/dev/null || true
  pg_dir=""
  return 0
}
