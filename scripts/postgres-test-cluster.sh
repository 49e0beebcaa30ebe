#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (shared/PLATFORM.md, "PostgreSQL for tests").
#
#   scripts/postgres-test-cluster.sh start      initdb into a new /tmp/streamswarm-pg-XXXX, start it on
#                                               127.0.0.1 and a free high port (fsync off), create the
#                                               role and database streamswarm_test; prints the directory
#   scripts/postgres-test-cluster.sh start --durable   the same with fsync and synchronous commit on
#   scripts/postgres-test-cluster.sh env DIR    prints: export SWARM_TEST_POSTGRES_URL=... (also in DIR/url)
#                                               and SWARM_TEST_POSTGRES_CA (the CA of its TLS certificate)
#   scripts/postgres-test-cluster.sh stop DIR   stops the cluster and deletes DIR
#
# It installs nothing: scripts/bootstrap.sh installs the postgresql package. As root, the server
# runs as the postgres user (initdb refuses root). A missing PostgreSQL is a failure, not a skip.
set -euo pipefail

die() {
    echo "postgres-test-cluster: $*" >&2
    exit 1
}

bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && {
            echo "$dir"
            return 0
        }
    done
    die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: run scripts/bootstrap.sh (it installs postgresql)"
}

# as_owner COMMAND...: runs a server command as the cluster's owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local bin dir port password durability
    bin=$(bin_dir)
    # --durable (the benchmarks): fsync and synchronous commit on, as a production server runs.
    durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    [[ ${1:-} == --durable ]] && durability="-c fsync=on -c synchronous_commit=on"
    if [[ $(id -u) -eq 0 ]] && ! id postgres > /dev/null 2>&1; then
        die "there is no postgres user to run the server as: run scripts/bootstrap.sh (the postgresql package makes it)"
    fi
    dir=$(mktemp -d /tmp/streamswarm-pg-XXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    chmod 700 "$dir"
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s\n' "$password" > "$dir/superuser-password"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/superuser-password"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/superuser-password" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale > "$dir/initdb.log" 2>&1 ||
        die "initdb failed; see $dir/initdb.log"
    port=$(free_port)
    # TLS too, for the sslmode tests: a throwaway CA ($dir/ca.pem) and a server certificate for
    # 127.0.0.1 and localhost, valid two days. Plain connections stay allowed.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=streamswarm test PostgreSQL CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2> /dev/null ||
        die "openssl could not make the test CA (scripts/bootstrap.sh installs openssl)"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$dir/data/server.key" -out "$dir/server.csr" 2> /dev/null || die "openssl could not make a CSR"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "extendedKeyUsage=serverAuth" > "$dir/server.ext"
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
        -extfile "$dir/server.ext" -out "$dir/data/server.crt" 2> /dev/null || die "openssl could not sign the certificate"
    chmod 600 "$dir/data/server.key"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/data/server.key" "$dir/data/server.crt" "$dir/ca.pem"
    # fsync off: the cluster is thrown away; max_connections: the conformance suite runs its
    # contracts in parallel, each with a database and a few handles of its own; autovacuum off: its
    # workers run as the superuser, and DROP DATABASE ... WITH (FORCE) by the test role cannot end them.
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability \
-c max_connections=400 -c autovacuum=off -c ssl=on" > /dev/null ||
        die "the server did not start; see $dir/server.log"
    echo "$port" > "$dir/port"
    as_owner "$bin/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE streamswarm_test LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE streamswarm_test OWNER streamswarm_test" ||
        die "creating the streamswarm_test role and database failed; see $dir/server.log"
    echo "postgres://streamswarm_test:$password@127.0.0.1:$port/streamswarm_test?sslmode=disable" > "$dir/url"
    echo "$dir"
}

cluster_dir() {
    local dir=${1:-${STREAMSWARM_PG_DIR:-}}
    [[ -n "$dir" && -d "$dir" ]] || die "give the directory 'start' printed (or set STREAMSWARM_PG_DIR)"
    echo "$dir"
}

case "${1:-}" in
start) start "${2:-}" ;;
env)
    dir=$(cluster_dir "${2:-}")
    echo "export SWARM_TEST_POSTGRES_URL='$(cat "$dir/url")'"
    echo "export SWARM_TEST_POSTGRES_CA='$dir/ca.pem'"
    ;;
stop)
    dir=$(cluster_dir "${2:-}")
    as_owner "$(bin_dir)/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*) die "usage: $0 start [--durable] | env DIR | stop DIR" ;;
esac
