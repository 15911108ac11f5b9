# bin/cluster.d/fortress.sh — the project's jar on the fleet: the release (target/fortress.jar and
# config.yml copied under $STATE/release, so a rebuild never changes what runs until a start or a
# roll picks it up), migration, seed and the development key (as bin/run does), and the api and worker
# hosts, each `java -jar fortress.jar server config.yml` in its own namespace.
# shellcheck shell=bash

RELEASE="$STATE/release"
JAR="$REPO_DIR/target/fortress.jar"
# Through PgBouncer (pooled, the default) or straight to PostgreSQL (direct).
CLUSTER_DB="${FORTRESS_CLUSTER_DB:-pooled}"
SEED_USERS="${FORTRESS_CLUSTER_USERS:-100000}"

# As bin/run: rebuild only when an input is newer than the jar.
jar_is_stale() {
    [[ -f "$JAR" ]] || return 0
    local inputs=() p
    for p in src/main migrations pom.xml; do
        [[ -e "$REPO_DIR/$p" ]] && inputs+=("$REPO_DIR/$p")
    done
    ((${#inputs[@]})) || return 1
    [[ -n "$(find "${inputs[@]}" -newer "$JAR" -print -quit)" ]]
}

build_jar() {
    "$REPO_DIR/bin/services" toolchain
    if jar_is_stale; then
        log "building target/fortress.jar"
        (cd "$REPO_DIR" && mvn -B -q -DskipTests package)
    fi
}

# target/fortress.jar and config.yml become the release the hosts start from. A new file replaces
# the old (rename), so JVMs running the old one keep their open copy.
release_install() {
    mkdir -p "$RELEASE"
    local f
    for f in "$JAR" "$REPO_DIR/config.yml"; do
        if ! cmp -s "$f" "$RELEASE/${f##*/}"; then
            cp -- "$f" "$RELEASE/.${f##*/}.new"
            mv -f -- "$RELEASE/.${f##*/}.new" "$RELEASE/${f##*/}"
        fi
    done
}

# The JDBC URLs of the fleet: through the PgBouncer beside each database, or straight to them. Both
# name all three database hosts, since any of them may be the primary: the writer's pool takes the one
# that is (pgjdbc's targetServerType=primary, checked on each new connection; config.yml's writer
# validation query drops a connection that leads to a standby), and the readers use those in recovery
# (a reader that is the primary now takes no reads: db/ReplicaMonitor).
db_urls() {  # sets WRITE_URL READ_URL POOLER
    local port=$BOUNCER_PORT
    POOLER=true
    case $CLUSTER_DB in
        pooled) ;;
        direct) port=$PG_PORT POOLER=false ;;
        *) die "FORTRESS_CLUSTER_DB is '$CLUSTER_DB': pooled or direct" ;;
    esac
    local h hosts=()
    for h in "${DB_HOSTS[@]}"; do hosts+=("${ADDR[$h]}:$port"); done
    # hostRecheckSeconds: how long pgjdbc trusts what it learnt of a host's role (10 s by default); a
    # promoted standby is taken within 1 s of answering as the primary.
    WRITE_URL="jdbc:postgresql://$(IFS=,; echo "${hosts[*]}")/$DB_NAME?targetServerType=primary&hostRecheckSeconds=1"
    # Another way to the writer for the hosts this invocation starts (bench/cluster --delayed-writer puts
    # a proxy that delays each direction in front of db1's PgBouncer for one instance).
    WRITE_URL="${FORTRESS_CLUSTER_WRITE_URL:-$WRITE_URL}"
    READ_URL="jdbc:postgresql://$(IFS=,; echo "${hosts[*]}")/$DB_NAME"
}

# The environment of a Fortress process on <host> (config.yml reads it).
fortress_env() {  # fortress_env <host>: sets FORTRESS_ENV
    local host=$1 addr=${ADDR[$1]} mode=api
    [[ $host == worker* ]] && mode=worker
    db_urls
    FORTRESS_ENV=(
        "JOBS_MODE=$mode" "JOBS_SERVER_NAME=$host"
        "DATABASE_URL_WRITE=$WRITE_URL" "DATABASE_URL_READ=$READ_URL"
        "WRITER_TRANSACTION_POOLER=$POOLER" "READER_TRANSACTION_POOLER=$POOLER"
        # pg_auto_failover's switchover leaves no primary for 8-11 s here (its three-node election
        # restarts each standby): writes wait that out instead of answering 503, at most
        # WRITER_PRIMARY_WAITERS of them per instance (config.yml: 16), the rest 503 at once
        # (db/PrimaryWait; docs/design/failover.md). A lost host can take longer: 503 after the wait.
        "WRITER_PRIMARY_WAIT=${WRITER_PRIMARY_WAIT:-12s}"
        # A writer connection last checked over 1 s ago is checked at its borrow, as config.yml says. A
        # write that meets a demoted primary within that second is run again by the server on the new one
        # (keyed: on any failure for want of the primary; without a key: on 25006, refused before it wrote),
        # and db/PrimaryWait then checks every borrow for 30 s. 50ms (until 2026-12-06) cost +0.4 to +1.2
        # round trips per keyed write (bench/cluster --validation-compare).
        "WRITER_VALIDATION_INTERVAL=${WRITER_VALIDATION_INTERVAL:-1s}"
        "DATABASE_USER=$DB_USER" "DATABASE_PASSWORD=$DB_PASSWORD"
        # The master through the Sentinels (the URL gives only the database number then).
        "REDIS_URL=redis://${ADDR[$CACHE]}:$REDIS_PORT" "REDIS_SENTINELS=$(redis_sentinels)"
        "REDIS_MASTER_NAME=$REDIS_MASTER_NAME"
        # Its own address only, the admin port too: the hosts reach each other over the bridge.
        "BIND_HOST=$addr" "ADMIN_BIND_HOST=$addr" "PORT=$APP_PORT" "ADMIN_PORT=$ADMIN_PORT"
        # Behind HAProxy every connection comes from the load balancer's address (config.yml, edge:).
        "EDGE_MAX_CONNECTIONS_PER_ADDRESS=0"
        # Requests without a valid key are limited per client address, and behind HAProxy every client
        # has the load balancer's: this bounds all of them together, fleet-wide (the rate is in Redis).
        "RATE_LIMIT_ADDRESS_RPS=${RATE_LIMIT_ADDRESS_RPS:-1000}"
        "RATE_LIMIT_ADDRESS_BURST=${RATE_LIMIT_ADDRESS_BURST:-2000}"
        "IMPORT_SPOOL_DIRECTORY=$STATE/$host/spool"
    )
}

# The one java process in <host>'s namespace.
fortress_pid() {  # fortress_pid <host>
    local p
    for p in $(ip netns pids "$1" 2>/dev/null); do
        if [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == java ]]; then echo "$p"; return 0; fi
    done
    return 1
}

fortress_ready() {  # fortress_ready <host>: readiness answers 200
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://${ADDR[$1]}:$APP_PORT/health-check")" == 200 ]]
}

fortress_start() {  # fortress_start <host>: starts it unless it runs (does not wait)
    local host=$1 dir="$STATE/$1"
    fortress_pid "$host" >/dev/null && return 0
    [[ -f "$RELEASE/fortress.jar" ]] || die "no release in $RELEASE: run bin/cluster up"
    mkdir -p "$dir/tmp" "$dir/spool"
    fortress_env "$host"
    local java_opts
    java_opts="${JAVA_OPTS:-$(grep -v '^#' "$REPO_DIR/deploy/jvm.options" | xargs)}"
    log "$host: starting Fortress (JOBS_MODE=${FORTRESS_ENV[0]#JOBS_MODE=}) on ${ADDR[$host]}:$APP_PORT"
    # setsid: no terminal's hangup or Ctrl-C reaches it. Each host gets its own temporary directory,
    # as on a machine of its own.
    # shellcheck disable=SC2086  # JAVA_OPTS: several flags
    ip netns exec "$host" setsid env "${FORTRESS_ENV[@]}" java $java_opts -Djava.io.tmpdir="$dir/tmp" \
        -jar "$RELEASE/fortress.jar" server "$RELEASE/config.yml" >>"$dir/fortress.log" 2>&1 </dev/null &
}

fortress_wait() {  # fortress_wait <host>
    wait_for "${FORTRESS_READY_TIMEOUT:-240}" fortress_ready "$1" && return 0
    # The end of its log says why (bin/cluster down removes the log with the rest of the state).
    tail -n 40 "$STATE/$1/fortress.log" 2>/dev/null | sed "s/^/[$1] /" >&2
    curl -s --max-time 2 "http://${ADDR[$1]}:$ADMIN_PORT/healthcheck" 2>/dev/null | head -c 2000 | sed "s/^/[$1 healthcheck] /" >&2
    echo >&2
    die "$1: readiness (http://${ADDR[$1]}:$APP_PORT/health-check) is not 200; see $STATE/$1/fortress.log"
}

# SIGTERM: readiness turns 503 for health.shutdownWaitPeriod, then Jetty finishes what it accepted.
fortress_stop() {  # fortress_stop <host>
    local pid
    pid="$(fortress_pid "$1")" || return 0
    log "$1: SIGTERM to Fortress (pid $pid)"
    stop_pid "$pid" TERM 60
}

# Migrate, seed an empty database and make a development key, from this namespace straight to the
# primary, as bin/run does.
fortress_prepare() {
    local primary
    primary="$(pg_current_primary)" || die "no primary to migrate: $(monitor_nodes | xargs)"
    local env=(DATABASE_URL_WRITE="jdbc:postgresql://${ADDR[$primary]}:$PG_PORT/$DB_NAME"
        DATABASE_URL_READ="jdbc:postgresql://${ADDR[$primary]}:$PG_PORT/$DB_NAME"
        DATABASE_USER="$DB_USER" DATABASE_PASSWORD="$DB_PASSWORD"
        REDIS_URL="redis://${ADDR[$CACHE]}:$REDIS_PORT" REDIS_SENTINELS="$(redis_sentinels)"
        REDIS_MASTER_NAME="$REDIS_MASTER_NAME")
    env "${env[@]}" java -jar "$RELEASE/fortress.jar" db migrate "$RELEASE/config.yml" >"$STATE/migrate.log" 2>&1 ||
        die "db migrate failed; see $STATE/migrate.log"
    local empty
    empty="$(PGPASSWORD="$DB_PASSWORD" psql -X -tA -v ON_ERROR_STOP=1 -h "${ADDR[$primary]}" -p "$PG_PORT" \
        -U "$DB_USER" -d "$DB_NAME" -c 'SELECT NOT EXISTS (SELECT 1 FROM users)')" ||
        die "cannot read the users table on ${ADDR[$primary]}:$PG_PORT"
    if [[ $empty == t ]]; then
        log "users table is empty: seeding ($SEED_USERS users, 100 orgs)"
        env "${env[@]}" java -jar "$RELEASE/fortress.jar" seed "$RELEASE/config.yml" --users "$SEED_USERS" \
            --orgs 100 >"$STATE/seed.log" 2>&1 || die "seed failed; see $STATE/seed.log"
    fi
    # A development key of organisation 7 (users 6, 106, ... of the seed), valid for a day.
    FORTRESS_KEY="$(env "${env[@]}" java -jar "$RELEASE/fortress.jar" keys create --org 7 \
        --scopes read,write,import --expires 1d "$RELEASE/config.yml" 2>>"$STATE/keys.log" | tail -n 1)" || true
    [[ "$FORTRESS_KEY" == fk_* ]] || die "could not create a development API key; see $STATE/keys.log"
}

status_fortress() {  # status_fortress <host>
    local role=api
    [[ $1 == worker* ]] && role=worker
    status_line "$1" "${ADDR[$1]}:$APP_PORT" "$role" "$(ready_word fortress_ready "$1")"
}
