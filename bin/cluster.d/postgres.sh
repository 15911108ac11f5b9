# bin/cluster.d/postgres.sh — PostgreSQL with automatic failover by pg_auto_failover 2.0 (Debian's
# postgresql-15-auto-failover; docs/design/failover.md says why it and not Patroni): a monitor on
# `monitor`, a keeper (`pg_autoctl run`, the parent of its PostgreSQL) on db1, db2 and db3. db1 starts as
# the primary and db2, db3 are cloned from it by their keepers; after that the monitor decides who is
# primary, and a host that returns rejoins as a standby. On each database host, PgBouncer in front of
# the database beside it (docs/design/fleet.md says why there). Data directories under
# $STATE/<host>/pgdata (not Debian clusters: pg_lsclusters and the machine's own 5432/5433/5434 stay
# untouched), each server listening in its host's namespace, its unix socket in $STATE/<host>/run (0700:
# only postgres and root reach it), pg_autoctl's configuration and state under $STATE/<host>/xdg.
#
# Env: FORTRESS_CLUSTER_SYNC (on, the default: one synchronous standby of the two; off: asynchronous),
# applied on every `up`.
# shellcheck shell=bash

DB_HOSTS=(db1 db2 db3)
MONITOR=monitor
# The roles `up` starts with; pg_current_roles gives them as they are now.
PRIMARY=db1
STANDBYS=(db2 db3)
SYNC="${FORTRESS_CLUSTER_SYNC:-on}"
[[ $SYNC == on || $SYNC == off ]] || die "FORTRESS_CLUSTER_SYNC is '$SYNC': on or off"

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

# pg_autoctl as postgres in <host>'s namespace, its configuration and state kept with the host's.
autoctl_env() {  # autoctl_env <host>: sets AUTOCTL_ENV
    AUTOCTL_ENV=(XDG_CONFIG_HOME="$STATE/$1/xdg/config" XDG_DATA_HOME="$STATE/$1/xdg/data"
        XDG_RUNTIME_DIR="$STATE/$1/xdg/run" PGDATA="$(pg_data "$1")" PGHOST="$(pg_socket_dir "$1")"
        PGPORT="$PG_PORT")
}
autoctl() {  # autoctl <host> <pg_autoctl args...>
    local host=$1
    shift
    autoctl_env "$host"
    (cd / && in_ns "$host" runuser -u postgres -- env "${AUTOCTL_ENV[@]}" pg_autoctl "$@")
}

pg_ready() {  # pg_ready <host>: accepts connections on its address
    pg_isready -q -h "${ADDR[$1]}" -p "$PG_PORT" -t 2 2>/dev/null
}

# psql over TCP to <host>'s database as the replication role (it reads the replication views:
# pg_read_all_stats); one row, fields separated by blanks.
pg_probe() {  # pg_probe <host> <sql>
    PGPASSWORD="$REPL_PASSWORD" PGCONNECT_TIMEOUT=2 psql -X -q -At -F ' ' -h "${ADDR[$1]}" -p "$PG_PORT" \
        -U "$REPL_USER" -d postgres -c "$2" 2>/dev/null
}

# As the postgres superuser over <host>'s unix socket.
pg_super() {  # pg_super <host> [psql args...]
    local host=$1
    shift
    as_postgres psql -X -q -At -v ON_ERROR_STOP=1 -h "$(pg_socket_dir "$host")" -p "$PG_PORT" -U postgres \
        -d postgres "$@"
}

# The monitor's view, one node per line: "<name> <reported state> <goal state>".
monitor_nodes() {
    pg_super "$MONITOR" -F ' ' -d pg_auto_failover -c \
        "SELECT nodename, reportedstate, goalstate FROM pgautofailover.node ORDER BY nodeid" 2>/dev/null
}

# Not in recovery (asked over its socket: before pg_provision there is no role to ask with over TCP).
pg_is_primary() { [[ "$(pg_super "$1" -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" == f ]]; }  # pg_is_primary <host>

# In recovery and its WAL receiver streaming.
pg_standby_ok() {  # pg_standby_ok <host>
    [[ "$(pg_probe "$1" "SELECT pg_is_in_recovery(),
        coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')")" == "t streaming" ]]
}

# The host that is primary now (asked of the databases themselves), else nothing and a failure.
pg_current_primary() {
    local h
    for h in "${DB_HOSTS[@]}"; do
        if pg_is_primary "$h"; then echo "$h"; return 0; fi
    done
    return 1
}

# PRIMARY and STANDBYS as they are now (for scripts that measure the fleet as they find it).
pg_current_roles() {
    local h
    PRIMARY="$(pg_current_primary)" || die "no database host is primary now: $(monitor_nodes | xargs)"
    STANDBYS=()
    for h in "${DB_HOSTS[@]}"; do [[ $h == "$PRIMARY" ]] || STANDBYS+=("$h"); done
}

# Settings of every node and the monitor, in postgresql.auto.conf: read after the
# postgresql-auto-failover.conf pg_autoctl includes, so these win; a standby's copy comes with its base
# backup, so nothing here is per host (pg_autoctl sets listen_addresses and port). What is per host is in
# $STATE/<host>/host.conf, outside the data directory (so no base backup copies it), included by a path
# relative to postgresql.conf.
pg_write_conf() {  # pg_write_conf <data dir> <monitor|node>
    grep -qxF "include_if_exists = '../host.conf'" "$1/postgresql.conf" ||
        echo "include_if_exists = '../host.conf'" >>"$1/postgresql.conf"
    local conf="$1/postgresql.auto.conf"
    cat >>"$conf" <<CONF
# Written by bin/cluster (Fortress fleet).
# pg_autoctl sizes shared_buffers to a quarter of the machine's memory; here four servers share it.
shared_buffers = '128MB'
effective_cache_size = '1GB'
maintenance_work_mem = '64MB'
CONF
    if [[ $2 == node ]]; then
        cat >>"$conf" <<CONF
# 5 instances x (writer 10 + readers 20) when they connect directly (FORTRESS_CLUSTER_DB=direct);
# through PgBouncer far fewer. A standby needs at least the primary's value.
max_connections = 200
# pg_auto_failover keeps a replication slot per standby; this bounds the WAL a standby that is gone
# for good can make the primary keep.
max_slot_wal_keep_size = '2GB'
hot_standby_feedback = on
max_standby_streaming_delay = 30s
# Round trips per route are counted from pg_stat_statements (issue 24).
shared_preload_libraries = 'pg_stat_statements'
# A node that rejoins and cannot be rewound is cloned again by pg_autoctl, whose pg_basebackup waits for
# a spread checkpoint: 0.9 x checkpoint_timeout, 4.5 min with the default 5 min (a .ci/fleet run at
# 02:48Z, 2026-12-06: the killed primary's rewind failed and its clone waited 4 min 30 s). Also bounds
# what a standby flushes when pg_autoctl restarts it during a failover. Costs more full-page writes.
checkpoint_timeout = '30s'
CONF
    fi
    chown postgres:postgres "$conf"
    # First match wins. Over the socket (in the 0700 data directory) pg_autoctl and the superuser;
    # from the fleet's network the application and the probes' role with a password. pg_autoctl appends
    # its own lines for its roles (autoctl_node, pgautofailover_monitor, pgautofailover_replicator:
    # --auth trust, on this private bridge only; docs/design/failover.md).
    cat >"$1/pg_hba.conf" <<HBA
# Written by bin/cluster (Fortress fleet); pg_autoctl appends below.
local   all           all                         trust
host    all           $DB_USER  $NET.0/24  scram-sha-256
host    all           $REPL_USER  $NET.0/24  scram-sha-256
# pg_rewind of a node that rejoins connects to the new primary's "postgres" database as pg_autoctl's
# replication role, for which pg_autoctl writes no line: without it the rewind fails and the node is
# cloned whole again (pg_basebackup), minutes instead of seconds.
host    postgres      pgautofailover_replicator  $NET.0/24  trust
HBA
    chown postgres:postgres "$1/pg_hba.conf"
}

pg_initdb() {  # pg_initdb <host> <monitor|node>
    local data
    data="$(pg_data "$1")"
    log "$1: initdb $data"
    rm -rf -- "$data"
    as_postgres "$(pg_bin initdb)" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 --data-checksums \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    pg_write_conf "$data" "$2"
}

pg_host_dirs() {  # pg_host_dirs <host>: its directories, and its settings of its own (pg_write_conf)
    install -d -o postgres -g postgres -m 0755 "$(pg_dir "$1")" "$STATE/$1/xdg"
    install -d -o postgres -g postgres -m 0700 "$(pg_socket_dir "$1")"
    # The namespaces share the file system, and /var/run/postgresql is the machine's own server's.
    printf "# Written by bin/cluster (Fortress fleet): %s's own.\nunix_socket_directories = '%s'\n" \
        "$1" "$(pg_socket_dir "$1")" | install -o postgres -g postgres -m 0644 /dev/stdin "$(pg_dir "$1")/host.conf"
}

# The pg_autoctl service of <host> (the parent of its PostgreSQL), if it runs.
autoctl_pid() {  # autoctl_pid <host>
    local p
    for p in $(ip netns pids "$1" 2>/dev/null); do
        # The service's first process: pg_autoctl run (its children are `pg_autoctl do service ...`).
        if [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == pg_autoctl &&
            "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" == "pg_autoctl run "* ]]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

autoctl_start() {  # autoctl_start <host>: `pg_autoctl run` in the background, unless it runs
    local host=$1
    autoctl_pid "$host" >/dev/null && return 0
    log "$host: starting pg_autoctl run"
    autoctl_env "$host"
    # The whole background job's output to the log: nothing of it may hold the caller's stdout open.
    (cd / && exec ip netns exec "$host" setsid runuser -u postgres -- env "${AUTOCTL_ENV[@]}" pg_autoctl run) \
        >>"$(pg_dir "$host")/pg_autoctl.log" 2>&1 </dev/null &
}

# The keepers reach the monitor through the PgBouncer beside it (deploy/pgbouncer-monitor.ini says why).
MONITOR_URI="postgres://autoctl_node@${ADDR[$MONITOR]}:$BOUNCER_PORT/pg_auto_failover?sslmode=disable"

# The monitor decides a failover; these bound how soon (issue 25: writes back within 15 s of losing the
# primary's host). Health checks every second, a node unhealthy after 3 s without its keeper's report
# and a failed check, and the old primary given 3 s to say it has stopped before a standby is promoted
# (each keeper's network_partition_timeout, 2 s, is below it, and counts from the keeper's last contact,
# before the monitor's 3 s begin: a primary cut off from the monitor and every standby has demoted
# itself first, so two primaries never take writes). The 3 s wait was 4 s until 2026-12-06: in a kill
# at 02:28Z the standby then waited 3.2 s in stop_replication for it, of the 13.6 s to wait_primary.
monitor_settings() {
    pg_super "$MONITOR" <<'SQL'
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000;
SELECT pg_reload_conf();
SQL
}

up_monitor() {
    local host=$MONITOR data
    data="$(pg_data "$host")"
    pg_host_dirs "$host"
    if [[ ! -f "$(pg_dir "$host")/created" ]]; then
        pg_initdb "$host" monitor
        autoctl "$host" create monitor --pgdata "$data" --pgport "$PG_PORT" --hostname "${ADDR[$host]}" \
            --auth trust --no-ssl --pgctl "$(pg_bin pg_ctl)" >>"$(pg_dir "$host")/pg_autoctl.log" 2>&1 ||
            die "$host: pg_autoctl create monitor failed; see $(pg_dir "$host")/pg_autoctl.log"
        touch "$(pg_dir "$host")/created"
    fi
    autoctl_start "$host"
    wait_for 60 monitor_ready || die "$host: the monitor does not answer; see $(pg_dir "$host")/pg_autoctl.log"
    monitor_settings >/dev/null
    monitor_bouncer_start
}

# --- The monitor's PgBouncer (deploy/pgbouncer-monitor.ini), on its address and $BOUNCER_PORT.
monitor_bouncer_dir() { echo "$STATE/$MONITOR/pgbouncer"; }

monitor_bouncer_ready() {  # answers the protocol (an auth request counts)
    pg_isready -q -h "${ADDR[$MONITOR]}" -p "$BOUNCER_PORT" -U autoctl_node -d pg_auto_failover -t 2 2>/dev/null
}

monitor_bouncer_start() {
    local dir cfg
    dir="$(monitor_bouncer_dir)"
    live_pid "$dir/pgbouncer.pid" pgbouncer >/dev/null && return 0
    cfg="$(<"$REPO_DIR/deploy/pgbouncer-monitor.ini")"
    cfg="${cfg//@BOUNCER_DIR@/"$dir"}"
    cfg="${cfg//@BOUNCER_PORT@/"$BOUNCER_PORT"}"
    cfg="${cfg//@MONITOR_ADDR@/"${ADDR[$MONITOR]}"}"
    cfg="${cfg//@MONITOR_SOCKET_DIR@/"$(pg_socket_dir "$MONITOR")"}"
    cfg="${cfg//@PG_PORT@/"$PG_PORT"}"
    bouncer_install "$dir" pgbouncer-monitor.ini "$cfg" '"autoctl_node" ""'
    log "$MONITOR: starting PgBouncer for the keepers on ${ADDR[$MONITOR]}:$BOUNCER_PORT"
    bouncer_launch "$MONITOR" "$dir"
    wait_for 10 monitor_bouncer_ready || die "$MONITOR: PgBouncer does not answer; see $dir/pgbouncer.log"
}

monitor_ready() { pg_super "$MONITOR" -d pg_auto_failover -c 'SELECT 1 FROM pgautofailover.node LIMIT 1' >/dev/null 2>&1; }

# A node has reached the state the monitor assigned it, a serving one, as the monitor saw it after
# <since> (the monitor's clock): a health check that passed after then, and a report of the node's
# keeper after that check. Right after a kill the monitor still holds the node's last report
# (secondary, say), and a standby that comes back is sent through catchingup, its PostgreSQL restarted,
# once the monitor learns it was gone (2026-12-07: `start db3` 1.5 s after its kill).
node_settled() {  # node_settled <host> <since>
    local state
    state="$(pg_super "$MONITOR" -d pg_auto_failover -v node="$1" -v since="$2" 2>/dev/null <<'SQL'
SELECT reportedstate FROM pgautofailover.node
 WHERE nodename = :'node' AND reportedstate = goalstate
   AND health = 1 AND healthchecktime > :'since' AND reporttime > healthchecktime;
SQL
)" || return 1
    case "$state" in
        primary | secondary | single | wait_primary) return 0 ;;
        *) return 1 ;;
    esac
}

up_node() {  # up_node <host>
    local host=$1 data since
    data="$(pg_data "$host")"
    pg_host_dirs "$host"
    if [[ ! -f "$(pg_dir "$host")/created" ]]; then
        # The first node of the formation gets our initdb and becomes its primary; the others start
        # empty and their keepers clone the primary (pg_basebackup) when they run.
        if [[ -z "$(monitor_nodes)" ]]; then
            pg_initdb "$host" node
        else
            rm -rf -- "$data"
        fi
        autoctl "$host" create postgres --pgdata "$data" --pgport "$PG_PORT" --hostname "${ADDR[$host]}" \
            --name "$host" --monitor "$MONITOR_URI" --auth trust --no-ssl --dbname "$DB_NAME" \
            --pgctl "$(pg_bin pg_ctl)" >>"$(pg_dir "$host")/pg_autoctl.log" 2>&1 ||
            die "$host: pg_autoctl create postgres failed; see $(pg_dir "$host")/pg_autoctl.log"
        autoctl "$host" config set timeout.network_partition_timeout 2 >/dev/null
        touch "$(pg_dir "$host")/created"
    fi
    since="$(pg_super "$MONITOR" -c 'SELECT now()')" || die "the monitor does not answer"
    autoctl_start "$host"
    wait_for 180 node_settled "$host" "$since" ||
        die "$host: not serving as the monitor assigned ($(monitor_nodes | xargs)); see $(pg_dir "$host")/pg_autoctl.log"
}

# Roles, the database and the grants, as bin/services gives the machine's own primary; plus the
# probes' role and pg_stat_statements. On the primary of the moment; converges on every `up`.
pg_provision() {
    local primary
    primary="$(pg_current_primary)" || die "no primary to provision: $(monitor_nodes | xargs)"
    pg_super "$primary" -v db_user="$DB_USER" -v db_password="$DB_PASSWORD" -v db_name="$DB_NAME" \
        -v repl_user="$REPL_USER" -v repl_password="$REPL_PASSWORD" <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'db_user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'db_user', :'db_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db_name') \gexec
-- pg_autoctl made the database as postgres: its owner creates the schema (PostgreSQL 15's public).
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db_name', :'db_user') \gexec
SELECT format('CREATE ROLE %I', :'repl_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'repl_user') \gexec
SELECT format('ALTER ROLE %I REPLICATION LOGIN PASSWORD %L', :'repl_user', :'repl_password') \gexec
SELECT format('GRANT pg_read_all_stats TO %I', :'repl_user')
 WHERE NOT pg_has_role(:'repl_user', 'pg_read_all_stats', 'MEMBER') \gexec
SQL
    local db
    for db in template1 "$DB_NAME"; do
        pg_super "$primary" -d "$db" -v db_user="$DB_USER" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT format('GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO %I', :'db_user') \gexec
SQL
    done
}

# Synchronous replication (FORTRESS_CLUSTER_SYNC=on): both standbys in the replication quorum and one
# of them must confirm each commit (synchronous_standby_names = 'ANY 1 (...)', synchronous_commit = on:
# flushed to the standby's disk). off: neither standby in the quorum, commits wait for no standby.
pg_sync_apply() {
    local h quorum=true number=1
    [[ $SYNC == on ]] || quorum=false number=0
    # Each change goes through the monitor's apply_settings on the primary; the next waits for it (the
    # monitor refuses a change while another is being applied). The order keeps number-sync-standbys
    # within the standbys that count towards it at every step.
    [[ $SYNC == on ]] || sync_set formation number-sync-standbys "$number"
    for h in "${DB_HOSTS[@]}"; do sync_set node replication-quorum "$quorum" "$h"; done
    [[ $SYNC == off ]] || sync_set formation number-sync-standbys "$number"
}

# on or off: whether the primary's commits wait for a standby now (synchronous_standby_names set).
pg_sync_now() {
    [[ -n "$(pg_super "$(pg_current_primary)" -c 'SHOW synchronous_standby_names' 2>/dev/null)" ]] && echo on || echo off
}

# To stderr, for a failure's report: the ends of the logs of each node not in its assigned state (the
# keeper's and its PostgreSQL's), where the reason it does not get there is.
pg_tell_unsettled() {
    local h reported assigned f
    while read -r h reported assigned; do
        log "$h: reported $reported, assigned $assigned; the end of its logs:"
        tail -n 30 "$(pg_dir "$h")/pg_autoctl.log" >&2 2>/dev/null || true
        f="$(pg_data "$h")/$(cat "$(pg_data "$h")/current_logfiles" 2>/dev/null | awk '{ print $2 }')"
        [[ -f $f ]] && tail -n 15 "$f" >&2
    done < <(monitor_nodes | awk '$2 != $3')
    return 0
}

formation_settled() { [[ -n "$(monitor_nodes)" && -z "$(monitor_nodes | awk '$2 != $3')" ]]; }

sync_set() {  # sync_set <formation|node> <setting> <value> [host]: pg_autoctl set, on a settled formation
    local host=${4:-${DB_HOSTS[0]}}
    [[ "$(autoctl "$host" get "$1" "$2" 2>/dev/null | tail -n1 | awk '{ print $NF }')" == "$3" ]] && return 0
    wait_for 60 formation_settled || log "the formation has not settled: $(monitor_nodes | xargs)"
    autoctl "$host" set "$1" "$2" "$3" >/dev/null 2>&1 || log "$host: pg_autoctl set $1 $2 $3 failed"
    wait_for 60 formation_settled || log "the formation has not settled after $1 $2 $3: $(monitor_nodes | xargs)"
}

up_databases() {
    up_monitor
    local h
    for h in "${DB_HOSTS[@]}"; do up_node "$h"; done
    pg_provision
    pg_sync_apply
    for h in "${DB_HOSTS[@]}"; do up_bouncer "$h"; done
}

# `bin/cluster switchover`: the monitor promotes a standby and demotes the primary, which rejoins as a
# standby (maintenance of the primary's host); returns once the formation has settled with another
# primary.
pg_switchover() {
    local before after
    before="$(pg_current_primary)" || die "no primary to switch over from: $(monitor_nodes | xargs)"
    log "switchover: from $before"
    if ! autoctl "$before" perform switchover --wait 120 >>"$(pg_dir "$before")/pg_autoctl.log" 2>&1; then
        pg_tell_unsettled
        die "pg_autoctl perform switchover failed; see $(pg_dir "$before")/pg_autoctl.log"
    fi
    if ! wait_for 60 formation_settled; then
        # pg_auto_failover 2.0 can leave the old primary in join_secondary for good: its WAL went past
        # the point where the new primary's timeline forked, and only 2.0's rewind on the way back from
        # a demotion would mend that (upstream #683, fixed after 2.2). Clone it again.
        pg_tell_unsettled
        local h
        for h in $(monitor_nodes | awk '$2 != $3 && $3 == "secondary" { print $1 }'); do pg_rebuild "$h"; done
        wait_for 60 formation_settled || die "the formation has not settled after the switchover: $(monitor_nodes | xargs)"
    fi
    after="$(pg_current_primary)" || die "no primary after the switchover: $(monitor_nodes | xargs)"
    [[ $after != "$before" ]] || die "$before is still the primary after the switchover"
    log "switchover: $after is the primary, $before a standby"
}

# `bin/cluster rebuild <host>`: a standby that cannot follow the primary (its history diverged, its
# data directory is damaged) is dropped from the monitor and cloned afresh from the primary by a new
# keeper (pg_autoctl's procedure for a lost node: drop node --force, create postgres). Refuses the primary.
pg_rebuild() {  # pg_rebuild <host>
    local host=$1 primary pid
    primary="$(pg_current_primary)" || die "no primary to clone $host from: $(monitor_nodes | xargs)"
    [[ $primary != "$host" ]] || die "$host is the primary: bin/cluster switchover first"
    log "$host: rebuilding it as a standby cloned from $primary"
    if pid="$(autoctl_pid "$host")"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_for 30 autoctl_gone "$host" || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Whatever still runs of its PostgreSQL goes: the directory is about to be replaced.
    [[ -f "$(pg_data "$host")/postmaster.pid" ]] &&
        as_postgres "$(pg_bin pg_ctl)" -D "$(pg_data "$host")" stop -m immediate >/dev/null 2>&1 || true
    autoctl "$MONITOR" drop node --monitor "$MONITOR_URI" --formation default --name "$host" --force \
        >>"$(pg_dir "$host")/pg_autoctl.log" 2>&1 || die "$host: pg_autoctl drop node failed; see $(pg_dir "$host")/pg_autoctl.log"
    rm -rf -- "$(pg_data "$host")" "$STATE/$host/xdg/config" "$STATE/$host/xdg/data" "$(pg_dir "$host")/created"
    up_node "$host"
    pg_sync_apply
    log "$host: a standby again ($(monitor_nodes | awk -v n="$host" '$1 == n { print $2 }'))"
}

autoctl_gone() { ! autoctl_pid "$1" >/dev/null; }  # autoctl_gone <host>

# For `down`: SIGTERM to every pg_autoctl service (each stops its PostgreSQL with a fast shutdown), the
# nodes first and the monitor last.
pg_stop_fast_all() {
    local h pid
    for h in "${DB_HOSTS[@]}" "$MONITOR"; do
        pid="$(autoctl_pid "$h")" || continue
        kill -TERM "$pid" 2>/dev/null || true
    done
}

status_pg() {  # status_pg <host>: its role now (the database's own answer, else the monitor's goal for it)
    local host=$1 role goal
    if pg_is_primary "$host"; then
        status_line "$host" "${ADDR[$host]}:$PG_PORT" pg-primary ready
        return 0
    fi
    if pg_standby_ok "$host"; then
        status_line "$host" "${ADDR[$host]}:$PG_PORT" pg-standby ready
        return 0
    fi
    goal="$(monitor_nodes | awk -v n="$host" '$1 == n { print $3 }')"
    case $goal in
        single | wait_primary | primary | join_primary | apply_settings | prepare_promotion | stop_replication) role=pg-primary ;;
        *) role=pg-standby ;;
    esac
    status_line "$host" "${ADDR[$host]}:$PG_PORT" "$role" down
}

status_monitor() {
    status_line "$MONITOR" "${ADDR[$MONITOR]}:$PG_PORT" monitor "$(ready_word monitor_ready)"
    status_line "$MONITOR" "${ADDR[$MONITOR]}:$BOUNCER_PORT" pgbouncer "$(ready_word monitor_bouncer_ready)"
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
    if ((BOUNCERS > 1)); then
        # Every process sets SO_REUSEPORT on its listening socket, or the second cannot bind the port.
        cfg="${cfg/$'\n[pgbouncer]\n'/$'\n[pgbouncer]\n'";; bin/cluster: FORTRESS_CLUSTER_PGBOUNCERS=$BOUNCERS processes share the port"$'\n'"so_reuseport = 1"$'\n'}"
        [[ "$cfg" == *$'\nso_reuseport = 1\n'* ]] || die "deploy/pgbouncer.ini has no [pgbouncer] section line to add so_reuseport to"
    fi
    bouncer_install "$dir" pgbouncer.ini "$cfg" "\"${DB_USER//\"/\"\"}\" \"${DB_PASSWORD//\"/\"\"}\""
}

# A PgBouncer's files, owned by postgres: <dir>/pgbouncer.ini (<cfg>, rendered from deploy/<template>,
# every placeholder filled) and <dir>/userlist.txt (<users>, one line).
bouncer_install() {  # bouncer_install <dir> <template> <cfg> <users>
    [[ "$3" != *@[A-Z_]*@* ]] || die "deploy/$2 has a placeholder bin/cluster does not know"
    install -d -o postgres -g postgres -m 0755 "$1"
    printf '%s\n' "$3" | install -o postgres -g postgres -m 0644 /dev/stdin "$1/pgbouncer.ini"
    printf '%s\n' "$4" | install -o postgres -g postgres -m 0600 /dev/stdin "$1/userlist.txt"
}

# Runs PgBouncer on <dir>/pgbouncer.ini in <host>'s namespace (it daemonizes); returns once its pid file
# names a live pgbouncer.
bouncer_launch() {  # bouncer_launch <host> <dir>
    local host=$1 dir=$2
    rm -f "$dir/pgbouncer.pid"
    # As postgres (PgBouncer refuses root), with room for max_client_conn = 10000 (see bin/services).
    # shellcheck disable=SC2016  # $1/$2 belong to the inner shells
    in_ns "$host" sh -c 'ulimit -n 20000 2>/dev/null; cd / && exec runuser -u postgres -- sh -c \
        '\''ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec pgbouncer -q -d "$1"'\'' sh "$1"' \
        sh "$dir/pgbouncer.ini" || die "$host: PgBouncer did not start; see $dir/pgbouncer.log"
    wait_for 10 live_pid "$dir/pgbouncer.pid" pgbouncer >/dev/null ||
        die "$host: PgBouncer wrote no pid file in $dir; see $dir/pgbouncer.log"
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
    bouncer_launch "$host" "$dir"
}

up_bouncer() {  # up_bouncer <host>
    local host=$1 n
    bouncer_converge "$host"
    for ((n = 1; n <= BOUNCERS; n++)); do bouncer_start "$host" "$n"; done
    wait_for 10 bouncer_ready "$host" || die "$host: PgBouncer does not answer; see $(bouncer_dir "$host")/pgbouncer.log"
    follower_start "$host"
}

# bin/cluster.d/bouncer-follow on <host>: RECONNECTs its PgBouncers when the database beside them changes
# role (the script says why). Started again with another number of PgBouncers.
follower_pid() {  # follower_pid <host>
    local p
    for p in $(ip netns pids "$1" 2>/dev/null); do
        [[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" == *"/bouncer-follow "* ]] && { echo "$p"; return 0; }
    done
    return 1
}
follower_start() {  # follower_start <host>
    local host=$1 n pid dirs=()
    for ((n = 1; n <= BOUNCERS; n++)); do dirs+=("$(bouncer_dir "$host" "$n")"); done
    if pid="$(follower_pid "$host")"; then
        [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *" ${dirs[*]} " ]] && return 0
        stop_pid "$pid" TERM 5
    fi
    (cd / && exec ip netns exec "$host" setsid runuser -u postgres -- "$REPO_DIR/bin/cluster.d/bouncer-follow" \
        "$(pg_socket_dir "$host")" "$PG_PORT" "$BOUNCER_PORT" "${dirs[@]}") \
        >>"$(pg_dir "$host")/bouncer-follow.log" 2>&1 </dev/null &
}

status_bouncer() {  # status_bouncer <host>
    status_line "$1" "${ADDR[$1]}:$BOUNCER_PORT" pgbouncer "$(ready_word bouncer_ready "$1")"
}

up_db_host() {  # up_db_host <host>: its keeper (which rejoins the formation as the monitor says) and PgBouncer
    up_node "$1"
    up_bouncer "$1"
}
