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
    # No load balancer to drain in a benchmark: stop at once.
    SHUTDOWN_DRAIN_PERIOD=0s java "$@" -jar target/fortress.jar server config.yml >"$log" 2>&1 &
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

# cpu_sample <fortress pid>: cumulative CPU jiffies, one line: "total idle fortress postgres redis
# pgbouncer". Per process from /proc/<pid>/stat (user + system of all its threads, plus its
# exited children's: a PostgreSQL backend that ended is counted in the postmaster), grouped by
# command name; total and idle from /proc/stat (all cores).
cpu_sample() {
    local fpid=$1
    {
        awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print "total", t; print "idle", $5 + $6 }' /proc/stat
        awk -v f="$fpid" '
            { pid = $1; comm = $2; n = split($0, a, ") "); split(a[n], r, " "); j = r[12] + r[13] + r[14] + r[15] }
            pid == f { print "fortress", j; next }
            comm == "(postgres)" { print "postgres", j }
            comm == "(redis-server)" { print "redis", j }
            comm == "(pgbouncer)" { print "pgbouncer", j }' /proc/[0-9]*/stat 2>/dev/null || true  # some exit meanwhile
    } | awk '{ s[$1] += $2 } END { printf "%d %d %d %d %d %d\n", s["total"], s["idle"], s["fortress"], s["postgres"], s["redis"], s["pgbouncer"] }'
}

# cpu_split <before> <after> <load generator cpu seconds>: shares of the machine in the window,
# "fortress postgres redis pgbouncer loadgen other idle" in percent (they add up to 100).
cpu_split() {
    awk -v b="$1" -v a="$2" -v g="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        total = y[1] - x[1]; if (total <= 0) total = 1
        idle = y[2] - x[2]; f = y[3] - x[3]; p = y[4] - x[4]; r = y[5] - x[5]; pb = y[6] - x[6]
        gen = g * hz
        other = total - idle - f - p - r - pb - gen; if (other < 0) other = 0
        printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", 100*f/total, 100*p/total, 100*r/total, 100*pb/total, 100*gen/total, 100*other/total, 100*idle/total
    }'
}
