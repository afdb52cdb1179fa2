#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that tests and benchmarks use are answering, and that
# the browser the browser tests drive is installed.
#
#   deploy/local/services.sh [ensure]
#
# Default: PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379; if one is installed
# but stopped it is started (Debian layout) and awaited for up to 30 s. When
# BALKORT_TEST_DATABASE_URL / BALKORT_TEST_REDIS_URL point elsewhere, those services are
# someone else's to run: they are only checked. Chromium (Debian's package, /usr/bin/chromium)
# is installed with apt-get when missing: Playwright drives it, its own download is not used.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=30
CHROMIUM=/usr/bin/chromium

say() { echo "services: $*"; }
problem() { echo "services: $*" >&2; problems=$((problems + 1)); }

postgres_answers() {
    if [[ -n "${BALKORT_TEST_DATABASE_URL:-}" ]]; then
        pg_isready -q -d "$BALKORT_TEST_DATABASE_URL"
    else
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    fi
}

redis_answers() {
    local reply
    if [[ -n "${BALKORT_TEST_REDIS_URL:-}" ]]; then
        reply=$(redis-cli -u "$BALKORT_TEST_REDIS_URL" ping 2>/dev/null) || return 1
    else
        reply=$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
    fi
    [[ "$reply" == PONG* ]]
}

wait_for() {
    local name=$1 probe=$2 waited=0
    until "$probe"; do
        if ((waited >= WAIT_SECONDS)); then
            problem "$name did not answer within ${WAIT_SECONDS} s of starting"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "$name is up"
}

ensure_postgres() {
    if ! command -v pg_isready >/dev/null; then
        problem "PostgreSQL client tools are missing: install them (Debian: apt-get install postgresql)"
        return 0
    fi
    if postgres_answers; then
        say "PostgreSQL answers"
        return 0
    fi
    if [[ -n "${BALKORT_TEST_DATABASE_URL:-}" ]]; then
        problem "PostgreSQL at BALKORT_TEST_DATABASE_URL does not answer (it is not started from here)"
        return 0
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    if ! command -v pg_ctlcluster >/dev/null || [[ -z "$version" ]]; then
        problem "PostgreSQL is not installed: install it (Debian: apt-get install postgresql)"
        return 0
    fi
    say "starting PostgreSQL $version (cluster main)"
    if ! pg_ctlcluster --skip-systemctl-redirect "$version" main start; then
        problem "PostgreSQL $version/main would not start (see /var/log/postgresql/)"
        return 0
    fi
    wait_for PostgreSQL postgres_answers || true
}

ensure_redis() {
    if ! command -v redis-cli >/dev/null; then
        problem "Redis is missing: install it (Debian: apt-get install redis-server)"
        return 0
    fi
    if redis_answers; then
        say "Redis answers"
        return 0
    fi
    if [[ -n "${BALKORT_TEST_REDIS_URL:-}" ]]; then
        problem "Redis at BALKORT_TEST_REDIS_URL does not answer (it is not started from here)"
        return 0
    fi
    if ! command -v redis-server >/dev/null; then
        problem "Redis server is not installed: install it (Debian: apt-get install redis-server)"
        return 0
    fi
    say "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    if ! redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log; then
        problem "Redis would not start (see /var/log/redis/ci.log)"
        return 0
    fi
    wait_for Redis redis_answers || true
}

# apt-get as root, or through sudo when there is one; nothing else is tried.
as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

chromium_works() {
    [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --version >/dev/null 2>&1
}

ensure_chromium() {
    if chromium_works; then
        say "Chromium is installed ($CHROMIUM)"
        return 0
    fi
    if ! command -v apt-get >/dev/null || { ((EUID != 0)) && ! command -v sudo >/dev/null; }; then
        problem "Chromium is missing at $CHROMIUM and cannot be installed from here: install Debian's chromium package (apt-get install chromium)"
        return 0
    fi
    say "installing Chromium (apt-get install chromium)"
    export DEBIAN_FRONTEND=noninteractive
    if ! as_root apt-get install -y -q chromium >/dev/null; then
        say "apt-get install failed; updating the package lists and trying again"
        as_root apt-get update -q >/dev/null || true
        as_root apt-get install -y -q chromium >/dev/null || true
    fi
    if chromium_works; then
        say "Chromium is installed ($CHROMIUM)"
    else
        problem "Chromium could not be installed at $CHROMIUM (apt-get install chromium failed)"
    fi
}

ensure() {
    problems=0
    ensure_postgres
    ensure_redis
    ensure_chromium
    if ((problems > 0)); then
        echo "services: PostgreSQL, Redis and Chromium are required; tests fail without them rather than skip" >&2
        exit 1
    fi
}

case "${1:-ensure}" in
    ensure) ensure ;;
    *)
        echo "usage: $0 [ensure]" >&2
        exit 2
        ;;
esac
