# Shared by the bench/ scripts: tools, a throwaway database, a Fortress on its own ports, wrk parsing.
# shellcheck shell=bash

bench_tools() {  # bench_tools <debian-package>... : install what is missing
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    if ((${#missing[@]})); then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# wrk_summary <wrk output file>: prints "rps p50_ms p99_ms non2xx socket_errors"
wrk_summary() {
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Non-2xx/ { non2xx = $NF }
        /Socket errors/ { split($0, a, /[ ,]+/); errs = a[4] + a[6] + a[8] + a[10] }
        END { printf "%d %.2f %.2f %d %d\n", rps, p50, p99, non2xx, errs }' "$1"
}

# median of numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# bench_setup <database>: services up, the jar built, PG* for psql/pgbench, and a fresh migrated
# database that bench_cleanup drops on exit (with the scratch folder $BENCH_WORK and any server).
bench_setup() {
    BENCH_DB=$1
    BENCH_WORK="$(mktemp -d)"
    SERVER_PID=
    bin/services up >/dev/null
    [[ -f target/fortress.jar ]] || mvn -B -q -DskipTests package
    export PGHOST=127.0.0.1 PGPORT=5432 PGUSER="${DATABASE_USER:-fortress}" PGPASSWORD="${DATABASE_PASSWORD:-fortress}"
    trap bench_cleanup EXIT
    createdb "$BENCH_DB"
    DATABASE_URL_WRITE="jdbc:postgresql://127.0.0.1:5432/$BENCH_DB" \
        java -jar target/fortress.jar db migrate config.yml >/dev/null 2>&1
}

bench_cleanup() {
    fortress_stop
    dropdb --if-exists --force "$BENCH_DB" || true
    rm -rf "$BENCH_WORK"
}

# fortress_start <admin port> <log file> [JVM flags...]: the server in the background (its
# settings come from the caller's environment), returning once the admin /ping answers.
fortress_start() {
    local admin=$1 log=$2
    shift 2
    java "$@" -jar target/fortress.jar server config.yml >"$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        curl -sf "http://127.0.0.1:$admin/ping" >/dev/null && return 0
        sleep 0.5
    done
    echo "Fortress did not start; see $log" >&2
    return 1
}

fortress_stop() {
    if [[ -n "${SERVER_PID:-}" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true  # the server's exit status must not stop the clean-up
        SERVER_PID=
    fi
}
