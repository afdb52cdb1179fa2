#!/usr/bin/env bash
# A local Citus cluster (a coordinator and workers, each its own PostgreSQL server on a private
# port and data directory, owned by the `postgres` OS user), for tests, benchmarks and trying
# out schema moves. It never touches the machine's own PostgreSQL.
#
#   deploy/local/citus.sh start   [--dir DIR] [--port PORT] [--workers N] [--plain]
#   deploy/local/citus.sh stop    [--dir DIR]          # stop every node, keep the data
#   deploy/local/citus.sh destroy [--dir DIR]          # stop every node and delete the data
#   deploy/local/citus.sh status  [--dir DIR]
#   deploy/local/citus.sh url     [--dir DIR]          # the coordinator's URL (database postgres)
#   deploy/local/citus.sh node stop|start|restart NAME [--dir DIR]   # NAME: coordinator, worker1, ...
#   deploy/local/citus.sh build                        # build and install Citus when missing
#
# Defaults: DIR=$BALKORT_CITUS_DIR or /tmp/balkort-citus, PORT=$BALKORT_CITUS_PORT or 55432
# (the coordinator; worker k listens on PORT+k), two workers. `--plain` starts one plain
# PostgreSQL server (no Citus) the same way: what fault tests stop and start.
#
# The coordinator's database `postgres` is a Citus database with every worker registered;
# tests/databases.py sets up each further database the same way (the extension and the node
# list are per database in Citus). Citus is built from ../shared/citus (BALKORT_CITUS_SOURCE
# overrides) into the machine's PostgreSQL 15 the first time it is needed: about 2-5 minutes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
DIR=${BALKORT_CITUS_DIR:-/tmp/balkort-citus}
PORT=${BALKORT_CITUS_PORT:-55432}
WORKERS=2
PLAIN=0
HOST=127.0.0.1
WAIT_SECONDS=60

say() { echo "citus: $*"; }
die() {
    echo "citus: $*" >&2
    exit 1
}

# Every server runs as `postgres`: as root through runuser, otherwise as whoever runs this.
as_pg() {
    if ((EUID == 0)); then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

psql_at() {
    local port=$1
    shift
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$port" -U postgres -d postgres -At "$@"
}

citus_installed() {
    [[ -f "/usr/lib/postgresql/$PG_MAJOR/lib/citus.so" ]] &&
        grep -q "default_version = '13\." "/usr/share/postgresql/$PG_MAJOR/extension/citus.control" 2>/dev/null
}

build_script() {
    local candidate
    for candidate in "${BALKORT_CITUS_SOURCE:-}" "$repo/../shared/citus" /work/shared/citus; do
        if [[ -n "$candidate" && -f "$candidate/build.sh" ]]; then
            echo "$candidate/build.sh"
            return 0
        fi
    done
    return 1
}

build() {
    if citus_installed; then
        say "Citus is installed for PostgreSQL $PG_MAJOR"
        return 0
    fi
    local script
    script=$(build_script) || die "Citus is not installed and its source is not found: set BALKORT_CITUS_SOURCE to the folder holding build.sh"
    ((EUID == 0)) || die "building Citus installs into the system's PostgreSQL: run as root (bash $script)"
    say "building Citus (bash $script; a few minutes)"
    bash "$script"
    citus_installed || die "the build finished but Citus is not installed"
}

node_names() {
    if ((PLAIN)); then
        echo coordinator
        return
    fi
    echo coordinator
    local k
    for ((k = 1; k <= WORKERS; k++)); do echo "worker$k"; done
}

node_port() {
    case "$1" in
        coordinator) echo "$PORT" ;;
        worker*) echo $((PORT + ${1#worker})) ;;
        *) die "no node named $1" ;;
    esac
}

# What `start` recorded, so that later commands know the ports, workers and kind.
load_layout() {
    [[ -f "$DIR/layout" ]] || die "no cluster at $DIR (start one first)"
    # shellcheck disable=SC1091
    source "$DIR/layout"
}

init_node() {
    local name=$1 port data
    port=$(node_port "$name")
    data="$DIR/$name/data"
    if [[ -f "$data/PG_VERSION" ]]; then
        return 0
    fi
    as_pg mkdir -p "$DIR/$name"
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$DIR/$name/initdb.log" 2>&1 ||
        die "initdb for $name failed (see $DIR/$name/initdb.log)"
    local connections=200
    [[ $name == worker* ]] && connections=400
    {
        echo "# Balkort's local cluster ($name)"
        echo "port = $port"
        echo "listen_addresses = '$HOST'"
        echo "unix_socket_directories = '$DIR/$name'"
        echo "max_connections = $connections"
        echo "shared_buffers = 256MB"
        # Logical replication is what an online schema move (citus_move_shard_placement) uses.
        echo "wal_level = logical"
        echo "max_wal_senders = 20"
        echo "max_replication_slots = 20"
        if ((!PLAIN)); then
            echo "shared_preload_libraries = 'citus'"
        fi
    } | as_pg tee -a "$data/postgresql.conf" >/dev/null
}

start_node() {
    local name=$1 port
    port=$(node_port "$name")
    if "$PG_BIN/pg_isready" -q -h "$HOST" -p "$port"; then
        return 0
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$DIR/$name/data" -l "$DIR/$name/server.log" -w -t "$WAIT_SECONDS" start >/dev/null ||
        die "$name did not start (see $DIR/$name/server.log)"
}

stop_node() {
    local name=$1
    if [[ -f "$DIR/$name/data/postmaster.pid" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$DIR/$name/data" -m fast -w -t "$WAIT_SECONDS" stop >/dev/null || true
    fi
}

# The coordinator's `postgres` database as a Citus database with every worker registered.
register_nodes() {
    local name
    for name in $(node_names); do
        psql_at "$(node_port "$name")" -c "CREATE EXTENSION IF NOT EXISTS citus"
    done
    psql_at "$PORT" -c "SELECT citus_set_coordinator_host('$HOST', $PORT)" >/dev/null
    for name in $(node_names); do
        [[ $name == worker* ]] || continue
        local port
        port=$(node_port "$name")
        if [[ -z $(psql_at "$PORT" -c "SELECT 1 FROM pg_dist_node WHERE nodename = '$HOST' AND nodeport = $port") ]]; then
            psql_at "$PORT" -c "SELECT citus_add_node('$HOST', $port)" >/dev/null
        fi
    done
}

start() {
    ((PLAIN)) || build
    [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL $PG_MAJOR's server binaries are missing under $PG_BIN"
    if [[ -f "$DIR/layout" ]]; then
        local want_port=$PORT want_workers=$WORKERS want_plain=$PLAIN
        load_layout
        [[ $PORT == "$want_port" && $WORKERS == "$want_workers" && $PLAIN == "$want_plain" ]] ||
            die "$DIR holds a cluster of another shape (port $PORT, workers $WORKERS, plain $PLAIN): destroy it first"
    fi
    mkdir -p "$DIR"
    ((EUID == 0)) && chown postgres: "$DIR"
    chmod 700 "$DIR"
    printf 'PORT=%s\nWORKERS=%s\nPLAIN=%s\n' "$PORT" "$WORKERS" "$PLAIN" | as_pg tee "$DIR/layout" >/dev/null
    local name
    for name in $(node_names); do
        init_node "$name"
        start_node "$name"
    done
    ((PLAIN)) || register_nodes
    if ((PLAIN)); then
        say "PostgreSQL (plain) at $(url)"
    else
        say "Citus with $WORKERS workers at $(url) (workers on ports $((PORT + 1))-$((PORT + WORKERS)))"
    fi
}

url() { echo "postgresql://postgres@$HOST:$PORT/postgres"; }

stop() {
    [[ -f "$DIR/layout" ]] || return 0
    load_layout
    local name
    for name in $(node_names); do stop_node "$name"; done
    say "stopped the nodes at $DIR"
}

destroy() {
    stop
    rm -rf "$DIR"
    say "removed $DIR"
}

status() {
    load_layout
    local name port state
    for name in $(node_names); do
        port=$(node_port "$name")
        state=down
        "$PG_BIN/pg_isready" -q -h "$HOST" -p "$port" && state=up
        echo "$name $HOST:$port $state"
    done
}

node() {
    local action=${1:-} name=${2:-}
    [[ -n $action && -n $name ]] || die "usage: node stop|start|restart NAME"
    load_layout
    grep -qx "$name" <<<"$(node_names)" || die "no node named $name"
    case "$action" in
        stop) stop_node "$name" ;;
        start) start_node "$name" ;;
        restart)
            stop_node "$name"
            start_node "$name"
            ;;
        *) die "usage: node stop|start|restart NAME" ;;
    esac
}

# Options may come before or after the command.
command=
positional=()
while (($#)); do
    case "$1" in
        --dir) DIR=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --workers) WORKERS=$2; shift 2 ;;
        --plain) PLAIN=1; shift ;;
        *)
            if [[ -z $command ]]; then command=$1; else positional+=("$1"); fi
            shift
            ;;
    esac
done
case "$command" in
    build) build ;;
    start) start ;;
    stop) stop ;;
    destroy) destroy ;;
    status) status ;;
    url) load_layout && url ;;
    node) node "${positional[@]}" ;;
    *)
        sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
