# bin/services.d/replica.sh — the streaming hot standbys of the primary: replica (127.0.0.1:5433)
# and replica2 (127.0.0.1:5434), one set of replica_* functions for both.
# shellcheck shell=bash

# Two streaming replicas, alike but for these (use_replica selects one for the replica_* functions):
# service name = Debian cluster name (/etc/postgresql/<ver>/<name>), port, and cluster_name, which
# is also its application_name on the primary. PgBouncer's <db>_ro goes to the first.
declare -A REPLICA_PORTS REPLICA_APPS
REPLICA_PORTS=([replica]=5433 [replica2]=5434)
REPLICA_APPS=([replica]=fortress_replica [replica2]=fortress_replica2)
use_replica() {  # use_replica <service>: sets REPLICA_NAME, REPLICA_CLUSTER, REPLICA_PORT, REPLICA_APP
    REPLICA_NAME=$1 REPLICA_CLUSTER=$1 REPLICA_PORT=${REPLICA_PORTS[$1]} REPLICA_APP=${REPLICA_APPS[$1]}
}
use_replica replica
REPL_USER=fortress_replicator
REPL_PASSWORD="${REPLICATION_PASSWORD:-fortress}"

# up_replica, status_replica, down_replica and the same for replica2 (bin/services calls
# <command>_<service>): each selects its replica, then runs the shared function.
for _replica in "${!REPLICA_PORTS[@]}"; do
    eval "up_$_replica() { use_replica $_replica; replica_up; }
        status_$_replica() { use_replica $_replica; replica_status; }
        down_$_replica() { use_replica $_replica; replica_down; }"
done
unset _replica

# psql as the replication role over TCP: needs no root, so `status` works for anyone
# (the role is granted pg_read_all_stats to see pg_stat_replication / pg_stat_wal_receiver).
repl_psql() {  # repl_psql <port> <sql>
    PGPASSWORD="$REPL_PASSWORD" PGCONNECT_TIMEOUT=3 psql -X -q -At -F ' ' \
        -h "$PG_HOST" -p "$1" -U "$REPL_USER" -d postgres -c "$2" 2>/dev/null
}

replica_ready() { pg_isready -q -h "$PG_HOST" -p "$REPLICA_PORT" -t 2 2>/dev/null; }

# Primary side, every `up` (one psql call): the replication role, its pg_hba.conf line, and
# the facts the replica needs. Sets PG_MAJOR, PRIMARY_SYSID and PRIMARY_LIMITS.
replica_primary_setup() {
    local out wal_level senders hba_file
    out="$(pg_super "$PG_PORT" -F ' ' -v repl_user="$REPL_USER" -v repl_password="$REPL_PASSWORD" <<'SQL'
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I', :'repl_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'repl_user') \gexec
SELECT format('ALTER ROLE %I REPLICATION LOGIN PASSWORD %L', :'repl_user', :'repl_password') \gexec
SELECT format('GRANT pg_read_all_stats TO %I', :'repl_user')
 WHERE NOT pg_has_role(:'repl_user', 'pg_read_all_stats', 'MEMBER') \gexec
SELECT current_setting('server_version_num')::int / 10000, current_setting('wal_level'),
       current_setting('max_wal_senders'), system_identifier,
       current_setting('max_connections'), current_setting('max_prepared_transactions'),
       current_setting('max_locks_per_transaction'), current_setting('max_worker_processes'),
       current_setting('hba_file')
  FROM pg_control_system();
SQL
    )"
    read -r PG_MAJOR wal_level senders PRIMARY_SYSID PRIMARY_LIMITS <<<"$out"
    hba_file="${PRIMARY_LIMITS##* }"
    PRIMARY_LIMITS="$senders ${PRIMARY_LIMITS% *}"  # max_wal_senders max_connections ... workers
    # Both need a primary restart, which bin/services never does; PG >= 10 defaults are fine.
    [[ "$wal_level" != minimal ]] ||
        die "primary has wal_level = minimal; set wal_level = replica and restart it"
    ((senders >= 2)) || die "primary has max_wal_senders = $senders; pg_basebackup -X stream needs 2"

    # scram-sha-256, as Debian's defaults; the password reaches pg_basebackup via PGPASSWORD
    # and the standby via the primary_conninfo that `pg_basebackup -R` writes.
    local hba_line="host replication $REPL_USER 127.0.0.1/32 scram-sha-256"
    if ! as_root grep -qxF -- "$hba_line" "$hba_file"; then
        log "primary: allowing replication for $REPL_USER from 127.0.0.1 ($hba_file), reloading"
        # Prepended: pg_hba.conf is first-match, so no earlier line can shadow ours.
        as_root sed -i -e "1i # bin/services (Fortress): its streaming replicas" \
            -e "1i $hba_line" "$hba_file"
        pg_super "$PG_PORT" -c 'SELECT pg_reload_conf()' >/dev/null
    fi
}

# Replica + primary view of replication. Sets R_RECOVERY (t/f/empty when down), R_SYSID,
# P_STATE (the primary's pg_stat_replication state for our standby, or empty) and P_LAG (bytes).
replica_probe() {
    R_RECOVERY='' R_SYSID='' P_STATE='' P_LAG=''
    read -r R_RECOVERY R_SYSID < <(repl_psql "$REPLICA_PORT" \
        'SELECT pg_is_in_recovery(), system_identifier FROM pg_control_system()' || true) || true
    read -r P_STATE P_LAG < <(repl_psql "$PG_PORT" "SELECT state,
        coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint
        FROM pg_stat_replication WHERE application_name = '$REPLICA_APP'
        ORDER BY state = 'streaming' DESC LIMIT 1" || true) || true
}

# Streaming from *this* primary: in recovery, same system identifier, and the primary sees it.
# replica_ok judges the last probe; replica_streaming probes first.
replica_ok() { [[ $R_RECOVERY == t && $R_SYSID == "$PRIMARY_SYSID" && $P_STATE == streaming ]]; }
replica_streaming() { replica_probe; replica_ok; }

# Done waiting: streaming, or broken in a way waiting cannot fix (promoted, or a copy of a
# different primary, e.g. one that was re-created since the clone).
replica_settled() {
    replica_streaming && return 0
    [[ $R_RECOVERY == f || ( -n $R_SYSID && $R_SYSID != "$PRIMARY_SYSID" ) ]]
}

# The cluster's settings, in a conf.d file of its own. Its presence is also how bin/services
# recognises a replica cluster it created (and may re-clone). Sets FILE_CHANGED.
replica_write_conf() {  # replica_write_conf <ver>
    local senders conns prepared locks workers
    read -r senders conns prepared locks workers <<<"$PRIMARY_LIMITS"
    # The text stays byte for byte (it still says "edit bin/services"): any change to it makes the
    # next `up` restart every running replica.
    put_file "/etc/postgresql/$1/$REPLICA_CLUSTER/conf.d/fortress-replica.conf" 0644 "\
# Written by bin/services (Fortress) on every \`up\`; edit bin/services instead.
# A streaming hot standby of the primary on $PG_HOST:$PG_PORT.
listen_addresses = '$PG_HOST'
port = $REPLICA_PORT
cluster_name = '$REPLICA_APP'  # also its application_name in pg_stat_replication
hot_standby = on
hot_standby_feedback = on  # no query cancels for rows vacuum removed on the primary
max_standby_streaming_delay = 30s
# A hot standby refuses to start with less than the primary's values (copied from it):
max_wal_senders = $senders
max_connections = $conns
max_prepared_transactions = $prepared
max_locks_per_transaction = $locks
max_worker_processes = $workers"
}

replica_app_login() {
    [[ "$(PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=3 psql -X -At -h "$PG_HOST" -p "$REPLICA_PORT" \
        -U "$DB_USER" -d "$DB_NAME" -c 'SELECT 1' 2>/dev/null)" == 1 ]]
}

replica_start() {  # replica_start <ver> <datadir>
    log "starting PostgreSQL $1/$REPLICA_CLUSTER (replica)"
    pg_cluster_ctl "$1" "$REPLICA_CLUSTER" start
    write_marker "$REPLICA_NAME" "$(pg_postmaster_pid "$2")" "$1" "$REPLICA_CLUSTER"
}

# Stop (if running), take a fresh base backup of the primary, swap it in. The backup goes to a
# sibling directory first, so a failed pg_basebackup leaves the old data directory in place.
replica_clone() {  # replica_clone <ver> <datadir> <reason>
    local ver=$1 datadir=$2 tmp="$2.bin-services-clone"
    [[ "$datadir" == /?*/?* ]] || die "refusing to replace data directory '$datadir'"
    log "$REPLICA_NAME: cloning $ver/$REPLICA_CLUSTER from the primary with pg_basebackup ($3)"
    # By pg_lsclusters' view (postmaster.pid), not pg_isready: a postmaster that does not
    # accept connections must stop too before its data directory goes.
    if [[ "$(pg_cluster_line "$REPLICA_PORT")" == *" online"* ]]; then
        pg_cluster_ctl "$ver" "$REPLICA_CLUSTER" stop
    fi
    rm -f "$(marker "$REPLICA_NAME")"
    as_root rm -rf -- "$tmp"
    # Created here: the parent (/var/lib/postgresql/<ver>) may belong to root.
    as_root install -d -o postgres -g postgres -m 0700 "$tmp"
    (
        cd /
        # -R: standby.signal + primary_conninfo (with the password); no replication slot, so a
        # stopped replica never makes the primary keep WAL (a long-stopped one is re-cloned).
        as_root runuser -u postgres -- env PGPASSWORD="$REPL_PASSWORD" \
            "/usr/lib/postgresql/$ver/bin/pg_basebackup" -h "$PG_HOST" -p "$PG_PORT" -U "$REPL_USER" \
            -D "$tmp" -R -X stream -c fast
    ) || die "pg_basebackup from $PG_HOST:$PG_PORT failed"
    as_root rm -rf -- "$datadir"
    as_root mv -- "$tmp" "$datadir"
    as_root chown postgres:postgres "$datadir"
    as_root chmod 0700 "$datadir"
}

replica_up() {
    replica_primary_setup
    local line ver cluster state datadir created=0 sysid
    line="$(pg_cluster_line "$REPLICA_PORT")"
    if [[ -z "$line" ]]; then
        local etc="/etc/postgresql/$PG_MAJOR/$REPLICA_CLUSTER"
        # pg_dropcluster leaves files it did not create: our conf.d file alone is no cluster.
        if [[ -d "$etc" && ! -e "$etc/postgresql.conf" && -f "$etc/conf.d/fortress-replica.conf" ]]; then
            as_root rm -rf -- "$etc"
        fi
        [[ ! -e "$etc" ]] ||
            die "cluster $PG_MAJOR/$REPLICA_CLUSTER exists but not on port $REPLICA_PORT:"$'\n'"$(pg_lsclusters)"
        log "creating PostgreSQL cluster $PG_MAJOR/$REPLICA_CLUSTER on port $REPLICA_PORT"
        # manual: not started at boot by the distro's init; bin/services starts it.
        as_root pg_createcluster --start-conf=manual --port "$REPLICA_PORT" "$PG_MAJOR" "$REPLICA_CLUSTER" >/dev/null
        created=1
        line="$(pg_cluster_line "$REPLICA_PORT")"
    fi
    read -r ver cluster state datadir <<<"$line"
    [[ "$ver" == "$PG_MAJOR" && "$cluster" == "$REPLICA_CLUSTER" ]] ||
        die "port $REPLICA_PORT belongs to cluster $ver/$cluster, expected $PG_MAJOR/$REPLICA_CLUSTER (the primary is $PG_MAJOR)"
    ((created)) || as_root test -f "/etc/postgresql/$ver/$cluster/conf.d/fortress-replica.conf" ||
        die "cluster $ver/$cluster was not created by bin/services; remove it (pg_dropcluster --stop $ver $cluster) or free port $REPLICA_PORT"
    FILE_CHANGED=0
    replica_write_conf "$ver"

    if [[ "$state" == online* ]]; then
        if ((FILE_CHANGED)); then
            log "$REPLICA_NAME: configuration changed, restarting $ver/$cluster"
            pg_cluster_ctl "$ver" "$cluster" restart
            write_marker "$REPLICA_NAME" "$(pg_postmaster_pid "$datadir")" "$ver" "$cluster"
        fi
    else
        # Stopped: clone first if the data directory is not (yet) a standby of this primary.
        if ((created)); then
            replica_clone "$ver" "$datadir" "new cluster"
        elif ! as_root test -f "$datadir/standby.signal"; then
            replica_clone "$ver" "$datadir" "its data directory is not a standby"
        else
            sysid="$(as_root "/usr/lib/postgresql/$ver/bin/pg_controldata" "$datadir" |
                awk -F': *' '/^Database system identifier/ {print $2}')"
            if [[ "$sysid" != "$PRIMARY_SYSID" ]]; then
                replica_clone "$ver" "$datadir" "its data comes from another primary (system id $sysid)"
            fi
        fi
        replica_start "$ver" "$datadir"
    fi

    wait_for 20 replica_settled || true
    if ! replica_ok; then
        if [[ $R_RECOVERY == t && $R_SYSID == "$PRIMARY_SYSID" && $P_STATE == catchup ]]; then
            log "$REPLICA_NAME: still catching up with the primary; continuing"
        else
            # Promoted, cloned from an earlier primary, or the WAL it needs is gone.
            log "$REPLICA_NAME: running but not streaming from $PG_HOST:$PG_PORT (recovery=${R_RECOVERY:-?}, primary sees: ${P_STATE:-nothing}); re-cloning it"
            replica_clone "$ver" "$datadir" "not streaming"
            replica_start "$ver" "$datadir"
            wait_for 30 replica_streaming ||
                die "$REPLICA_NAME $ver/$cluster does not stream after a fresh clone; see /var/log/postgresql/postgresql-$ver-$cluster.log"
        fi
    fi
    # Roles and databases arrive by physical replication; the app can log in on the replica.
    wait_for 10 replica_app_login ||
        die "$DB_USER cannot log in to $DB_NAME on the replica $PG_HOST:$REPLICA_PORT"
}

replica_status() {
    local state=down owner=- detail=
    if replica_ready; then
        state=up owner="$(started_by "$REPLICA_NAME" postgres)"
        replica_probe
        if [[ $R_RECOVERY == t && $P_STATE == streaming ]]; then
            detail="streaming=yes lag=${P_LAG}B"
        else
            detail="streaming=no${P_STATE:+ ($P_STATE)}"
        fi
    fi
    status_row "$REPLICA_NAME" "$state" "$PG_HOST:$REPLICA_PORT" "$owner" "$detail"
}

replica_down() {
    local words pid ver cluster
    words="$(ours_to_stop "$REPLICA_NAME" postgres replica_ready)" || return 0
    read -r pid ver cluster <<<"$words"
    log "stopping PostgreSQL $ver/$cluster ($REPLICA_NAME, pid $pid)"
    pg_cluster_ctl "$ver" "$cluster" stop
    rm -f "$(marker "$REPLICA_NAME")"
}
