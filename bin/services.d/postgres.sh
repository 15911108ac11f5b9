# bin/services.d/postgres.sh — the primary PostgreSQL (127.0.0.1:5432): a Debian cluster, the app
# role and database. Its pg_* helpers serve the replicas too.
# shellcheck shell=bash

PG_HOST=127.0.0.1
PG_PORT=5432
PG_SOCKET_DIR=/var/run/postgresql   # Debian's default unix socket directory

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 2>/dev/null; }

# "version cluster status datadir" of the Debian cluster configured for a port ($PG_PORT).
pg_cluster_line() {
    pg_lsclusters -h 2>/dev/null | awk -v port="${1:-$PG_PORT}" '$3 == port {print $1, $2, $4, $6; exit}'
}

pg_postmaster_pid() {  # <datadir>; postmaster.pid is readable only by postgres/root
    as_root head -n1 "$1/postmaster.pid" 2>/dev/null || true
}

# No usable systemd here: bypass pg_ctlcluster's systemctl redirect.
pg_cluster_ctl() {  # pg_cluster_ctl <ver> <cluster> start|stop|restart
    as_root pg_ctlcluster --skip-systemctl-redirect "$@"
}

pg_install_if_missing() {
    # pgbench ships in the server package on Debian, so it doubles as "server installed".
    if command -v pg_ctlcluster >/dev/null && command -v psql >/dev/null &&
        pgbench --version >/dev/null 2>&1; then
        return 0
    fi
    apt_install postgresql postgresql-contrib
}

up_postgres() {
    pg_install_if_missing
    if ! pg_ready; then
        local line ver cluster state datadir
        line="$(pg_cluster_line)"
        if [[ -z "$line" ]]; then
            [[ -z "$(pg_lsclusters -h 2>/dev/null)" ]] ||
                die "PostgreSQL clusters exist but none on port $PG_PORT:"$'\n'"$(pg_lsclusters)"
            # Package installed without a cluster (e.g. create_main_cluster = false).
            ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n1)"
            log "creating PostgreSQL cluster $ver/main on port $PG_PORT"
            as_root pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null
            line="$(pg_cluster_line)"
        fi
        read -r ver cluster state datadir <<<"$line"
        if [[ "$state" != online ]]; then
            log "starting PostgreSQL $ver/$cluster"
            pg_cluster_ctl "$ver" "$cluster" start
            write_marker postgres "$(pg_postmaster_pid "$datadir")" "$ver" "$cluster"
        fi
        wait_for 30 pg_ready ||
            die "PostgreSQL $ver/$cluster does not answer on $PG_HOST:$PG_PORT (check listen_addresses, /var/log/postgresql/)"
    fi
    pg_provision
}

# Create the app role + database as the postgres superuser over the unix socket
# (peer auth on stock Debian, trust on CI — both let the OS user postgres in).
# The ALTER runs every time so the role converges to LOGIN CREATEDB + the current
# password (CREATEDB: tests create throwaway databases). Values go through psql
# variables (:'x' quotes literals, %I quotes identifiers), so any name is safe.
pg_provision() {
    (
        cd /  # postgres cannot read root's cwd; avoids "could not change directory"
        as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 \
            -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres \
            -v db_user="$DB_USER" -v db_password="$DB_PASSWORD" -v db_name="$DB_NAME" <<'SQL'
SELECT format('CREATE ROLE %I', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'db_user') \gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'db_user', :'db_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db_name', :'db_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db_name') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db_name', :'db_user') \gexec
SQL
        # Tests pause and resume WAL replay on the replica (read-your-writes, lag fallback). Function
        # privileges live per database: grant in template1 (so throwaway test databases inherit
        # them) and in the app database; physical replication carries the grants to the replica.
        local db
        for db in template1 "$DB_NAME"; do
            as_root runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 \
                -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d "$db" -v db_user="$DB_USER" <<'SQL'
SELECT format('GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume() TO %I', :'db_user') \gexec
SQL
        done
    )
}

# psql as the postgres superuser over the unix socket (peer on stock Debian, trust on CI).
pg_super() {  # pg_super <port> [psql args...]
    local port=$1
    shift
    (
        cd /  # postgres cannot read root's cwd
        as_root runuser -u postgres -- psql -X -q -At -v ON_ERROR_STOP=1 \
            -h "$PG_SOCKET_DIR" -p "$port" -U postgres -d postgres "$@"
    )
}

status_postgres() {
    local state=down owner=-
    if pg_ready; then state=up owner="$(started_by postgres postgres)"; fi
    status_row postgres "$state" "$PG_HOST:$PG_PORT" "$owner"
}

down_postgres() {
    local words pid ver cluster
    words="$(ours_to_stop postgres postgres pg_ready)" || return 0
    read -r pid ver cluster <<<"$words"
    log "stopping PostgreSQL $ver/$cluster (pid $pid)"
    pg_cluster_ctl "$ver" "$cluster" stop
    rm -f "$(marker postgres)"
}
