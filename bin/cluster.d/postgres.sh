# bin/cluster.d/postgres.sh — db1: the PostgreSQL primary; db2, db3: streaming hot standbys cloned from
# it with pg_basebackup; on each of the three, PgBouncer in front of its own database
# (docs/design/fleet.md says why there). Plain initdb data directories under $STATE/<host>/ (not
# Debian clusters: pg_lsclusters and the machine's own 5432/5433/5434 stay untouched), each server
# listening on its host's address only, its unix socket in $STATE/<host>/run.
# shellcheck shell=bash

pg_bin() {  # pg_bin <program>: the newest installed major version's binary
    local ver
    ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -n | tail -n1)"
    [[ -n "$ver" ]] || return 1
    echo "/usr/lib/postgresql/$ver/bin/$1"
}

pg_dir() { echo "$STATE/$1"; }            # the host's directory, owned by postgres
pg_data() { echo "$STATE/$1/pgdata"; }
pg_socket_dir() { echo "$STATE/$1/run"; }

as_postgres() { (cd / && runuser -u postgres -- "$@"); }  # postgres cannot read root's cwd

pg_ready() {  # pg_ready <host>: accepts connections on its address
    pg_isready -q -h "${ADDR[$1]}" -p "$PG_PORT" -t 2 2>/dev/null
}

# psql over TCP to <host>'s database as the replication role (it reads the replication views:
# pg_read_all_stats); one row, fields separated by blanks.
pg_probe() {  # pg_probe <host> <sql>
    PGPASSWORD="$REPL_PASSWORD" PGCONNECT_TIMEOUT=2 psql -X -q -At -F ' ' -h "${ADDR[$1]}" -p "$PG_PORT" \
        -U "$REPL_USER" -d postgres -c "$2" 2>/dev/null
}

# As the postgres superuser over <host>'s unix socket (peer authentication).
pg_super() {  # pg_super <host> [psql args...]
    local host=$1
    shift
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$(pg_socket_dir "$host")" -p "$PG_PORT" -U postgres \
        -d postgres "$@"
}

pg_primary_ok() { [[ "$(pg_probe "$PRIMARY" 'SELECT pg_is_in_recovery()')" == f ]]; }

# In recovery and its WAL receiver streaming from the primary.
pg_standby_ok() {  # pg_standby_ok <host>
    [[ "$(pg_probe "$1" "SELECT pg_is_in_recovery(),
        coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")" == "t streaming" ]]
}

pg_sysid() {  # pg_sysid <data dir>: the cluster's system identifier
    "$(pg_bin pg_controldata)" "$1" 2>/dev/null | awk -F': *' '/^Database system identifier/ {print $2}'
}

# Settings shared by all three (a standby's copy comes with its base backup). Per host on the command
# line: the address, the socket directory, cluster_name (a standby's application_name on the primary).
pg_write_conf() {  # pg_write_conf <data dir>
    local conf="$1/fortress-cluster.conf"
    cat >"$conf" <<CONF
# Written by bin/cluster (Fortress fleet). listen_addresses, unix_socket_directories and
# cluster_name come from its command line (pg_ctl -o), one per host.
port = $PG_PORT
# 5 instances x (writer 10 + readers 20) when they connect directly (FORTRESS_CLUSTER_DB=direct);
# through PgBouncer far fewer. A standby needs at least the primary's value.
max_connections = 200
# No replication slots (a standby gone for good never makes the primary keep WAL without bound):
# this much WAL is kept for a standby that was down for a while instead.
wal_keep_size = 512MB
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s
# Round trips per route are counted from pg_stat_statements (issue 24).
shared_preload_libraries = 'pg_stat_statements'
CONF
    chown postgres:postgres "$conf"
    grep -qxF "include_if_exists = 'fortress-cluster.conf'" "$1/postgresql.conf" ||
        echo "include_if_exists = 'fortress-cluster.conf'" >>"$1/postgresql.conf"
    # First match wins: the superuser only over the unix socket; everyone else only from the fleet's
    # network, with a password.
    cat >"$1/pg_hba.conf" <<HBA
# Written by bin/cluster (Fortress fleet).
local   all           postgres                    peer
host    all           all              $NET.0/24  scram-sha-256
host    replication   $REPL_USER  $NET.0/24  scram-sha-256
HBA
    chown postgres:postgres "$1/pg_hba.conf"
}

pg_start() {  # pg_start <host>
    local host=$1
    log "$host: starting PostgreSQL on ${ADDR[$host]}:$PG_PORT"
    (cd / && in_ns "$host" runuser -u postgres -- "$(pg_bin pg_ctl)" -D "$(pg_data "$host")" \
        -l "$(pg_dir "$host")/postgres.log" -w -t 120 \
        -o "-c listen_addresses=${ADDR[$host]} -c unix_socket_directories=$(pg_socket_dir "$host") -c cluster_name=$host" \
        start >/dev/null) ||
        die "$host: PostgreSQL did not start; see $(pg_dir "$host")/postgres.log"
}

# Whether a postmaster runs on the data directory (it may be starting or recovering: not ready yet).
pg_running() { as_postgres "$(pg_bin pg_ctl)" -D "$(pg_data "$1")" status >/dev/null 2>&1; }

pg_host_dirs() {  # pg_host_dirs <host>
    install -d -o postgres -g postgres -m 0755 "$(pg_dir "$1")" "$(pg_socket_dir "$1")"
}

up_primary() {
    local host=$PRIMARY data
    data="$(pg_data "$host")"
    pg_host_dirs "$host"
    if [[ ! -f "$data/PG_VERSION" ]]; then
        log "$host: initdb $data"
        rm -rf -- "$data"
        as_postgres "$(pg_bin initdb)" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >/dev/null
        pg_write_conf "$data"
    fi
    pg_running "$host" || pg_start "$host"
    wait_for 60 pg_ready "$host" || die "$host: PostgreSQL does not answer; see $(pg_dir "$host")/postgres.log"
    pg_provision
}

# Roles, the database and the grants, as bin/services gives the machine's own primary; plus the
# replication role and pg_stat_statements. Converges on every `up`.
pg_provision() {
    pg_super "$PRIMARY" -v db_user="$DB_USER" -v db_password="$DB_PASSWORD" -v db_name="$DB_NAME" \
        -v repl_user="$REPL_USER" -v repl_password="$REPL_PASSWORD" <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'db_user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'db_user', :'db_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db_name') \gexec
SELECT format('CREATE ROLE %I', :'repl_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'repl_user') \gexec
SELECT format('ALTER ROLE %I REPLICATION LOGIN PASSWORD %L', :'repl_user', :'repl_password') \gexec
SELECT format('GRANT pg_read_all_stats TO %I', :'repl_user')
 WHERE NOT pg_has_role(:'repl_user', 'pg_read_all_stats', 'MEMBER') \gexec
SQL
    local db
    for db in template1 "$DB_NAME"; do
        pg_super "$PRIMARY" -d "$db" -v db_user="$DB_USER" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT format('GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO %I', :'db_user') \gexec
SQL
    done
}

# A fresh base backup of the primary, into a sibling directory first and then swapped in.
pg_clone() {  # pg_clone <host> <reason>
    local host=$1 data tmp
    data="$(pg_data "$host")"
    tmp="$data.clone"
    log "$host: pg_basebackup from ${ADDR[$PRIMARY]} ($2)"
    if pg_running "$host"; then
        as_postgres "$(pg_bin pg_ctl)" -D "$data" -m fast -w stop >/dev/null || true
    fi
    rm -rf -- "$tmp"
    install -d -o postgres -g postgres -m 0700 "$tmp"
    # -R: standby.signal and primary_conninfo (the primary's address, with the password).
    (cd / && in_ns "$host" runuser -u postgres -- env PGPASSWORD="$REPL_PASSWORD" "$(pg_bin pg_basebackup)" \
        -h "${ADDR[$PRIMARY]}" -p "$PG_PORT" -U "$REPL_USER" -D "$tmp" -R -X stream -c fast) ||
        die "$host: pg_basebackup from ${ADDR[$PRIMARY]}:$PG_PORT failed"
    rm -rf -- "$data"
    mv -- "$tmp" "$data"
}

up_standby() {  # up_standby <host>
    local host=$1 data
    data="$(pg_data "$host")"
    pg_host_dirs "$host"
    if [[ ! -f "$data/standby.signal" ]]; then
        pg_clone "$host" "no standby there yet"
    elif [[ "$(pg_sysid "$data")" != "$(pg_sysid "$(pg_data "$PRIMARY")")" ]]; then
        pg_clone "$host" "its data comes from another primary"
    fi
    pg_running "$host" || pg_start "$host"
    wait_for 60 pg_standby_ok "$host" ||
        die "$host: not streaming from ${ADDR[$PRIMARY]}; see $(pg_dir "$host")/postgres.log"
}

# For `down`: SIGINT to every PostgreSQL server, a fast shutdown (sessions are ended, a standby stops
# recovering at once), as `pg_ctl stop` does by default. The SIGTERM `down` sends to everything else
# would be a smart shutdown for PostgreSQL: it waits for every session to end by itself, and a standby
# keeps recovering meanwhile (restarting its WAL receiver while the primary is gone).
pg_stop_fast_all() {
    local h pid
    for h in "$PRIMARY" "${STANDBYS[@]}"; do
        pid="$(live_pid "$(pg_data "$h")/postmaster.pid" postgres)" || continue
        kill -INT "$pid" 2>/dev/null || true
    done
}

status_pg() {  # status_pg <host>
    local host=$1
    if [[ $host == "$PRIMARY" ]]; then
        status_line "$host" "${ADDR[$host]}:$PG_PORT" pg-primary "$(ready_word pg_primary_ok)"
    else
        status_line "$host" "${ADDR[$host]}:$PG_PORT" pg-standby "$(ready_word pg_standby_ok "$host")"
    fi
}

# --- PgBouncer: deploy/pgbouncer.ini (the template bin/services renders too), listening on the
# host's address and pointing at the database beside it.
#
# FORTRESS_CLUSTER_PGBOUNCERS (default 1): PgBouncer processes per database host. PgBouncer is one
# thread, one core at most; with 2 or more, each process gets `so_reuseport = 1` and they all listen on
# the same address and port, the kernel spreading new connections among them (issue 24 compares 1, 2
# and direct connections: bench/cluster --pgbouncer-compare). Each process has its own pool (so N x
# default_pool_size server connections at most), directory, pid file, log and unix socket (its admin
# console): $STATE/<host>/pgbouncer for the first, pgbouncer2, ... for the others. `up` or `start`
# with another number than what runs stops what does not fit (SIGTERM: its clients lose their
# connections and reconnect) and starts the rest.
BOUNCERS="${FORTRESS_CLUSTER_PGBOUNCERS:-1}"
[[ $BOUNCERS =~ ^[1-9][0-9]?$ ]] || die "FORTRESS_CLUSTER_PGBOUNCERS is '$BOUNCERS': a number of processes (1-99)"

bouncer_dir() {  # bouncer_dir <host> [n]: process n's directory (1, the default: pgbouncer; n: pgbouncer<n>)
    local n=${2:-1}
    if ((n == 1)); then echo "$STATE/$1/pgbouncer"; else echo "$STATE/$1/pgbouncer$n"; fi
}

bouncer_ready() {  # bouncer_ready <host>: answers the protocol (an auth request counts)
    pg_isready -q -h "${ADDR[$1]}" -p "$BOUNCER_PORT" -U "$DB_USER" -d "$DB_NAME" -t 2 2>/dev/null
}

bouncer_render() {  # bouncer_render <host> <n>
    local host=$1 dir cfg
    dir="$(bouncer_dir "$host" "$2")"
    cfg="$(<"$REPO_DIR/deploy/pgbouncer.ini")"
    cfg="${cfg//@BOUNCER_DIR@/"$dir"}"
    cfg="${cfg//@BOUNCER_PORT@/"$BOUNCER_PORT"}"
    # Listens on, and connects to, the host's own address: <db> and <db>_ro both reach the database
    # beside it (the primary on db1, a standby on db2 and db3).
    cfg="${cfg//@PG_HOST@/"${ADDR[$host]}"}"
    cfg="${cfg//@PG_PORT@/"$PG_PORT"}"
    cfg="${cfg//@REPLICA_PORT@/"$PG_PORT"}"
    cfg="${cfg//@DB_NAME@/"$DB_NAME"}"
    cfg="${cfg//@DB_USER@/"$DB_USER"}"
    [[ "$cfg" != *@[A-Z_]*@* ]] || die "deploy/pgbouncer.ini has a placeholder bin/cluster does not know"
    if ((BOUNCERS > 1)); then
        # Every process sets SO_REUSEPORT on its listening socket, or the second cannot bind the port.
        cfg="${cfg/$'\n[pgbouncer]\n'/$'\n[pgbouncer]\n'";; bin/cluster: FORTRESS_CLUSTER_PGBOUNCERS=$BOUNCERS processes share the port"$'\n'"so_reuseport = 1"$'\n'}"
        [[ "$cfg" == *$'\nso_reuseport = 1\n'* ]] || die "deploy/pgbouncer.ini has no [pgbouncer] section line to add so_reuseport to"
    fi
    install -d -o postgres -g postgres -m 0755 "$dir"
    printf '%s\n' "$cfg" | install -o postgres -g postgres -m 0644 /dev/stdin "$dir/pgbouncer.ini"
    printf '"%s" "%s"\n' "${DB_USER//\"/\"\"}" "${DB_PASSWORD//\"/\"\"}" |
        install -o postgres -g postgres -m 0600 /dev/stdin "$dir/userlist.txt"
}

# The PgBouncer processes running on <host>: "<n> <pid>" per line.
bouncer_pids() {  # bouncer_pids <host>
    local dir n pid
    for dir in "$STATE/$1"/pgbouncer*; do
        [[ -d $dir ]] || continue
        n=${dir##*/pgbouncer}
        pid="$(live_pid "$dir/pgbouncer.pid" pgbouncer)" || continue
        echo "${n:-1} $pid"
    done
}

# Stops the processes that do not fit FORTRESS_CLUSTER_PGBOUNCERS: numbered above it, or started with
# another so_reuseport setting (a socket without SO_REUSEPORT keeps the port to itself).
bouncer_converge() {  # bouncer_converge <host>
    local host=$1 n pid shared
    while read -r n pid; do
        shared=0
        grep -qx 'so_reuseport = 1' "$(bouncer_dir "$host" "$n")/pgbouncer.ini" 2>/dev/null && shared=1
        if ((n > BOUNCERS || shared != (BOUNCERS > 1))); then
            log "$host: stopping PgBouncer $n (pid $pid): FORTRESS_CLUSTER_PGBOUNCERS=$BOUNCERS"
            stop_pid "$pid" TERM 10
        fi
    done < <(bouncer_pids "$host")
}

bouncer_start() {  # bouncer_start <host> <n>
    local host=$1 n=$2 dir
    dir="$(bouncer_dir "$host" "$n")"
    live_pid "$dir/pgbouncer.pid" pgbouncer >/dev/null && return 0
    bouncer_render "$host" "$n"
    if ((BOUNCERS == 1)); then
        log "$host: starting PgBouncer on ${ADDR[$host]}:$BOUNCER_PORT"
    else
        log "$host: starting PgBouncer $n of $BOUNCERS on ${ADDR[$host]}:$BOUNCER_PORT (so_reuseport)"
    fi
    rm -f "$dir/pgbouncer.pid"
    # As postgres (PgBouncer refuses root), with room for max_client_conn = 10000 (see bin/services).
    # shellcheck disable=SC2016  # $1/$2 belong to the inner shells
    in_ns "$host" sh -c 'ulimit -n 20000 2>/dev/null; cd / && exec runuser -u postgres -- sh -c \
        '\''ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec pgbouncer -q -d "$1"'\'' sh "$1"' \
        sh "$dir/pgbouncer.ini" || die "$host: PgBouncer did not start; see $dir/pgbouncer.log"
    wait_for 10 live_pid "$dir/pgbouncer.pid" pgbouncer >/dev/null ||
        die "$host: PgBouncer $n wrote no pid file; see $dir/pgbouncer.log"
}

up_bouncer() {  # up_bouncer <host>
    local host=$1 n
    bouncer_converge "$host"
    for ((n = 1; n <= BOUNCERS; n++)); do bouncer_start "$host" "$n"; done
    wait_for 10 bouncer_ready "$host" || die "$host: PgBouncer does not answer; see $(bouncer_dir "$host")/pgbouncer.log"
}

status_bouncer() {  # status_bouncer <host>
    status_line "$1" "${ADDR[$1]}:$BOUNCER_PORT" pgbouncer "$(ready_word bouncer_ready "$1")"
}

up_db_host() {  # up_db_host <host>
    if [[ $1 == "$PRIMARY" ]]; then up_primary; else up_standby "$1"; fi
    up_bouncer "$1"
}
