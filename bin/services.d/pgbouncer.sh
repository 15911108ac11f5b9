# bin/services.d/pgbouncer.sh — PgBouncer on 127.0.0.1:6432, transaction pooling: <db> -> primary,
# <db>_ro -> the first replica; its config is deploy/pgbouncer.ini rendered into the state directory.
# shellcheck shell=bash

BOUNCER_PORT=6432
BOUNCER_DIR="$STATE_DIR/pgbouncer"           # rendered config, userlist, pid, log, socket
BOUNCER_BIN=/usr/sbin/pgbouncer

bouncer_ready() {  # an auth request counts as alive; no password needed
    pg_isready -q -h "$PG_HOST" -p "$BOUNCER_PORT" -U "$DB_USER" -d "$DB_NAME" -t 2 2>/dev/null
}

bouncer_query() {  # bouncer_query <database> <sql>
    PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=3 psql -X -q -At \
        -h "$PG_HOST" -p "$BOUNCER_PORT" -U "$DB_USER" -d "$1" -c "$2" 2>/dev/null
}

# <db> must reach the primary and <db>_ro the replica.
bouncer_routes_ok() {
    [[ "$(bouncer_query "$DB_NAME" 'SELECT pg_is_in_recovery()')" == f &&
        "$(bouncer_query "${DB_NAME}_ro" 'SELECT pg_is_in_recovery()')" == t ]]
}

# deploy/pgbouncer.ini with the placeholders filled in, plus userlist.txt. Sets FILE_CHANGED.
bouncer_render() {
    local cfg
    cfg="$(<"$REPO_DIR/deploy/pgbouncer.ini")"
    # Quoted replacements: bash 5.2 would otherwise expand & in them.
    cfg="${cfg//@BOUNCER_DIR@/"$BOUNCER_DIR"}"
    cfg="${cfg//@BOUNCER_PORT@/"$BOUNCER_PORT"}"
    cfg="${cfg//@PG_HOST@/"$PG_HOST"}"
    cfg="${cfg//@PG_PORT@/"$PG_PORT"}"
    cfg="${cfg//@REPLICA_PORT@/"${REPLICA_PORTS[replica]}"}"
    cfg="${cfg//@DB_NAME@/"$DB_NAME"}"
    cfg="${cfg//@DB_USER@/"$DB_USER"}"
    [[ "$cfg" != *@[A-Z_]*@* ]] || die "deploy/pgbouncer.ini has a placeholder bin/services does not know"
    mkdir -p "$STATE_DIR"  # as the caller first: markers are written without sudo
    as_root install -d -o postgres -g postgres -m 0755 "$BOUNCER_DIR"
    FILE_CHANGED=0
    put_file "$BOUNCER_DIR/pgbouncer.ini" 0644 "$cfg"
    # Plain-text password (see the template's comment on auth_type); "" escapes ".
    put_file "$BOUNCER_DIR/userlist.txt" 0600 "\"${DB_USER//\"/\"\"}\" \"${DB_PASSWORD//\"/\"\"}\""
}

bouncer_install() {
    apt_install pgbouncer
    # That instance on 6432 exists only because we just installed it: it would hold the port
    # now or after the next boot.
    stop_package_instance pgbouncer
}

up_pgbouncer() {
    [[ -x "$BOUNCER_BIN" ]] || bouncer_install
    bouncer_render
    local pid
    if pid="$(marker_live pgbouncer pgbouncer)"; then
        if ((FILE_CHANGED)); then
            log "pgbouncer: configuration changed, reloading (pid $pid)"
            as_root kill -HUP "$pid"
        fi
    elif bouncer_ready; then
        log "pgbouncer: $PG_HOST:$BOUNCER_PORT is served by a process bin/services did not start; leaving it"
    else
        log "starting PgBouncer on $PG_HOST:$BOUNCER_PORT"
        as_root rm -f "$BOUNCER_DIR/pgbouncer.pid"
        # As postgres: pgbouncer refuses root. max_client_conn = 10000 needs ~10100 fds: raise
        # the hard limit as root, then the soft one as postgres (runuser's PAM resets it).
        # shellcheck disable=SC2016  # $1/$2 are the inner shells' arguments
        as_root sh -c 'ulimit -n 20000 2>/dev/null; cd / && exec runuser -u postgres -- sh -c \
            '\''ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$1" -q -d "$2"'\'' sh "$1" "$2"' \
            sh "$BOUNCER_BIN" "$BOUNCER_DIR/pgbouncer.ini" ||
            die "pgbouncer did not start; see $BOUNCER_DIR/pgbouncer.log"
        wait_for 10 as_root test -s "$BOUNCER_DIR/pgbouncer.pid" ||
            die "pgbouncer wrote no pid file; see $BOUNCER_DIR/pgbouncer.log"
        write_marker pgbouncer "$(as_root cat "$BOUNCER_DIR/pgbouncer.pid")"
    fi
    wait_for 15 bouncer_routes_ok ||
        die "PgBouncer $PG_HOST:$BOUNCER_PORT does not route $DB_NAME -> primary and ${DB_NAME}_ro -> replica; see $BOUNCER_DIR/pgbouncer.log"
}

status_pgbouncer() {
    local state=down owner=- detail='' mode=''
    if bouncer_ready; then
        state=up owner="$(started_by pgbouncer pgbouncer)"
        # Another's pool mode is in a config we do not know.
        if [[ $owner == bin/services ]]; then
            mode="$(awk -F' *= *' '$1 == "pool_mode" {print $2}' "$BOUNCER_DIR/pgbouncer.ini" 2>/dev/null || true)"
        fi
        detail="pool_mode=${mode:-?}"
    fi
    status_row pgbouncer "$state" "$PG_HOST:$BOUNCER_PORT" "$owner" "$detail"
}

down_pgbouncer() {
    local pid
    pid="$(ours_to_stop pgbouncer pgbouncer bouncer_ready)" || return 0
    log "stopping PgBouncer (pid $pid)"
    as_root kill -TERM "$pid"  # immediate shutdown; SIGINT would wait for clients to leave
    wait_for 10 test ! -e "/proc/$pid" || die "pgbouncer (pid $pid) did not exit"
    rm -f "$(marker pgbouncer)"
}
