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

# percentiles <p>...: the nearest-rank percentiles (100: the largest) of the numbers on stdin, one line
# each, as "%.1f" separated by spaces; "none" for each when there are no numbers.
percentiles() {
    sort -n | awk -v ps="$*" '
        NF { v[++n] = $1 }
        END {
            k = split(ps, p, " ")
            for (j = 1; j <= k; j++) {
                if (!n) out = "none"
                else { i = int(n * p[j] / 100 + 0.999); if (i < 1) i = 1; if (i > n) i = n; out = sprintf("%.1f", v[i]) }
                printf "%s%s", out, (j < k ? " " : "\n")
            }
        }'
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

# fortress_start <ready url> <log file> [JVM flags...]: the server in the background (its settings
# come from the caller's environment; FORTRESS_JAR and FORTRESS_CONFIG choose another build),
# returning once <ready url> answers 2xx (fortress_wait); fails, showing the log, if the server
# exits first or after 60 s.
fortress_start() {
    local ready=$1 log=$2
    shift 2
    # No load balancer to drain in a benchmark: stop at once.
    SHUTDOWN_DRAIN_PERIOD=0s java "$@" -jar "${FORTRESS_JAR:-target/fortress.jar}" server \
        "${FORTRESS_CONFIG:-config.yml}" >"$log" 2>&1 &
    SERVER_PID=$! SERVER_LOG=$log
    fortress_wait "$ready"
}

# fortress_wait <url> [seconds]: returns once GET <url> answers 2xx; fortress_start's wait, and the
# wait for readiness after it (GET /health-check turns 200 once the server's own warm-up has ended).
# With BENCH_KEY set, the request carries it (Authorization: Bearer; a server from before API keys
# ignores the header). Fails, saying why and showing the end of $SERVER_LOG, after <seconds> (whole;
# default 60) or as soon as the server $SERVER_PID has exited (both set by fortress_start; unset,
# neither is used).
fortress_wait() {
    local url=$1 secs=${2:-60} code deadline why auth=()
    [[ -z "${BENCH_KEY:-}" ]] || auth=(-H "Authorization: Bearer $BENCH_KEY")
    deadline=$((${EPOCHREALTIME//[!0-9]/} + secs * 1000000))  # microseconds
    while :; do
        # -m 5: a request that hangs counts as not ready, so the deadline holds. 000: no answer.
        code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "${auth[@]}" "$url") || true
        [[ $code == 2[0-9][0-9] ]] && return 0
        if [[ -n "${SERVER_PID:-}" ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
            why="the server (pid $SERVER_PID) exited"
            break
        fi
        if ((${EPOCHREALTIME//[!0-9]/} >= deadline)); then
            why="no 2xx within $secs s (last status: ${code/#000/none})"
            break
        fi
        sleep 0.05
    done
    echo "Fortress is not ready: GET $url: $why${SERVER_LOG:+; see $SERVER_LOG}" >&2
    [[ -z "${SERVER_LOG:-}" ]] || tail -n 20 "$SERVER_LOG" >&2
    return 1
}

# bench_ids <database> <file>: the users that exist, "<id> <org>" per line, for bench/ids.lua (seeding
# leaves gaps in the ids, and a request must carry the key of the user's organisation). Exports IDS.
bench_ids() {
    psql -X -q -d "$1" -c "\\copy (select id, org_id from users order by id) to '$2' with (delimiter ' ')"
    export IDS=$2
}

# bench_keys <database> <file> [orgs]: one API key per organisation 1..orgs (default 1000), scopes read,
# write and import, made by `keys create --org 1-<orgs>` of target/fortress.jar on <database>'s primary,
# "<org> <key>" per line into <file>, for bench/keys.lua. The keys of earlier runs are deleted first (a
# bench database's keys are the bench's own), so that every run's look-ups meet a table of the same
# size. Exports KEYS. A server that reads a replica finds the keys once it has replayed them.
bench_keys() {
    local db=$1 file=$2 orgs=${3:-1000}
    psql -X -q -d "$db" -c 'delete from api_keys'
    DATABASE_URL_WRITE="jdbc:postgresql://127.0.0.1:5432/$db" java -jar target/fortress.jar keys create \
        --org "1-$orgs" --scopes read,write,import config.yml >"$file.out" 2>&1 || true
    grep -E '^[0-9]+ fk_[0-9A-Za-z]+$' "$file.out" >"$file" || true
    if (($(wc -l <"$file") != orgs)); then
        echo "keys create gave $(wc -l <"$file") keys for organisations 1-$orgs:" >&2
        tail -n 20 "$file.out" >&2
        return 1
    fi
    export KEYS=$file
}

# bench_key_of <org>: the key of <org> in $KEYS.
bench_key_of() { awk -v o="$1" '$1 == o { print $2; exit }' "$KEYS"; }

# bench_kept_db <database> <folder> [orgs]: a database kept between runs (bench/hostile's, shared by
# bench/overload and bench/idle-tail): created when missing, migrated, seeded up to 100,000 users over
# organisations 1..orgs (default 1000), then this run's keys and users (bench_keys, bench_ids) into
# <folder>/keys and <folder>/ids. Exports the server's DATABASE_URL_WRITE and DATABASE_URL_READ (the
# replica on 5433), and KEYS and IDS as bench_keys and bench_ids do.
bench_kept_db() {
    local db=$1 folder=$2 orgs=${3:-1000} have
    psql -X -Atc "select 1 from pg_database where datname = '$db'" | grep -q 1 || createdb "$db"
    export DATABASE_URL_WRITE="jdbc:postgresql://127.0.0.1:5432/$db"
    export DATABASE_URL_READ="jdbc:postgresql://127.0.0.1:5433/$db"
    java -jar target/fortress.jar db migrate config.yml >/dev/null 2>&1
    have=$(psql -X -d "$db" -Atc 'select count(*) from users')
    if ((have < 100000)); then
        java -jar target/fortress.jar seed config.yml --users $((100000 - have)) --orgs "$orgs" 2>/dev/null | grep '^seeded'
    fi
    bench_keys "$db" "$folder/keys" "$orgs"
    bench_ids "$db" "$folder/ids"
}

# replica_keys <database> <count>: waits (at most 60 s) until the replica on 5433 holds <count> API
# keys, so that a server reading it finds every key made for the run.
replica_keys() {
    local _
    for _ in $(seq 1 600); do
        [[ $(psql -X -p 5433 -d "$1" -Atc "select count(*) from api_keys") == "$2" ]] && return 0
        sleep 0.1
    done
}

# newconn_probe <n> <url> [curl options]: <n> GETs of <url> one after another, a new curl and connection
# each; "<status> <seconds>" per line, 000 for one that failed (curl writes its line then too, so
# nothing is added for it). PROBE as for keepalive_probe.
newconn_probe() {
    local n=$1 url=$2 i
    shift 2
    for i in $(seq 1 "$n"); do
        # shellcheck disable=SC2086  # PROBE is a command prefix of several words
        ${PROBE:-} curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "$@" "$url" || true
    done
}

# keepalive_probe <n> <url> [curl options]: <n> GETs of <url> one after another on one keep-alive
# connection, 20 a second (curl --rate), as an API client's pool sends them; "<status> <seconds>" per
# line, 000 for one that failed (the next goes on). PROBE, when set, is a command prefix for curl
# (taskset, nice).
keepalive_probe() {
    local n=$1 url=$2 urls=() i
    shift 2
    for i in $(seq 1 "$n"); do urls+=(-o /dev/null "$url"); done
    # shellcheck disable=SC2086  # PROBE is a command prefix of several words
    ${PROBE:-} curl -s --rate 20/s -m 10 -w '%{http_code} %{time_total}\n' "$@" "${urls[@]}" || true
}

# baseline_build <git ref>: the service as it was at <ref> (e.g. before API keys), built once into
# target/baseline-<commit>/ (fortress.jar, and the ref's own config.yml, since a config of another
# version may not parse): a throwaway worktree under target/ (git worktree add --detach), mvn -B -q
# -DskipTests package there, the jar and config copied out, the worktree removed. Never committed
# (target/ is ignored). Prints the folder.
baseline_build() {
    local sha dir tree
    sha=$(git rev-parse --verify --quiet "$1^{commit}") || { echo "baseline_build: no commit $1" >&2; return 1; }
    dir="target/baseline-${sha:0:12}"
    tree="$dir/tree"
    if [[ ! -f "$dir/fortress.jar" || ! -f "$dir/config.yml" ]]; then
        rm -rf "$tree" && mkdir -p "$dir"
        git worktree prune
        git worktree add --detach "$tree" "$sha" >"$dir/build.log" 2>&1
        if ! (cd "$tree" && mvn -B -q -DskipTests package) >>"$dir/build.log" 2>&1; then
            echo "baseline_build: mvn package of $1 ($sha) failed; see $dir/build.log" >&2
            tail -n 20 "$dir/build.log" >&2
            git worktree remove --force "$tree" >/dev/null 2>&1 || true
            return 1
        fi
        cp "$tree/target/fortress.jar" "$tree/config.yml" "$dir/"
        git worktree remove --force "$tree"
    fi
    echo "$dir"
}

fortress_stop() {
    if [[ -n "${SERVER_PID:-}" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true  # the server's exit status must not stop the clean-up
        SERVER_PID=
    fi
}

# cpu_sample <fortress pid>: cumulative CPU jiffies, one "key value" per line: "total" and "idle"
# from /proc/stat (all cores), then "<group> <pid> <jiffies>" per process of interest (user +
# system of all its threads, plus its reaped children's: the pgbench backends that end within
# a window are counted in the postmaster), groups fortress, postgres, redis, pgbouncer.
cpu_sample() {
    local fpid=$1
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print "total", t; print "idle", $5 + $6 }' /proc/stat
    awk -v f="$fpid" '
        { pid = $1; comm = $2; n = split($0, a, ") "); split(a[n], r, " "); j = r[12] + r[13] + r[14] + r[15] }
        pid == f { print "fortress", pid, j; next }
        comm == "(postgres)" { print "postgres", pid, j }
        comm == "(redis-server)" { print "redis", pid, j }
        comm == "(pgbouncer)" { print "pgbouncer", pid, j }' /proc/[0-9]*/stat 2>/dev/null || true  # some exit meanwhile
}

# cpu_split <before> <after> <load generator cpu seconds>: shares of the machine in the window,
# "fortress postgres redis pgbouncer loadgen other idle" in percent (they add up to 100). A
# process counts for what it used in the window: ones that started in it count whole; ones that
# ended in it are left out, except through their parent's reaped-children time (a PostgreSQL
# backend that lived before the window and ended in it is then counted whole: a rare overcount).
cpu_split() {
    awk -v g="$3" -v hz="$(getconf CLK_TCK)" '
        FNR == 1 { file++ }
        file == 1 { if (NF == 2) b[$1] = $2; else bp[$1 " " $2] = $3; next }
        NF == 2 { a[$1] = $2; next }
        { used[$1] += $3 - ((($1 " " $2) in bp) ? bp[$1 " " $2] : 0) }
        END {
            total = a["total"] - b["total"]; if (total <= 0) total = 1
            idle = a["idle"] - b["idle"]; gen = g * hz
            other = total - idle - used["fortress"] - used["postgres"] - used["redis"] - used["pgbouncer"] - gen
            if (other < 0) other = 0
            printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", 100 * used["fortress"] / total, 100 * used["postgres"] / total,
                100 * used["redis"] / total, 100 * used["pgbouncer"] / total, 100 * gen / total, 100 * other / total, 100 * idle / total
        }' <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# pg_sample: cumulative CPU jiffies per PostgreSQL instance bin/services runs, "total <jiffies>" from
# /proc/stat then "<instance> <pid> <jiffies>" per postgres process (its own and its reaped
# children's), the instance told by the process title (cluster_name: fortress_replica,
# fortress_replica2) or the postmaster's config file path; everything else counts as the primary.
pg_sample() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print "total", t }' /proc/stat
    ps -o pid=,args= -C postgres 2>/dev/null | awk '
        { c = "primary" }
        /fortress_replica2[: ]|\/replica2\// { c = "replica2" }
        c == "primary" && /fortress_replica[: ]|\/replica\// { c = "replica" }
        { print $1, c }' | while read -r pid c; do
        awk -v c="$c" -v p="$pid" '{ n = split($0, a, ") "); split(a[n], r, " "); print c, p, r[12] + r[13] + r[14] + r[15] }' \
            "/proc/$pid/stat" 2>/dev/null || true
    done
}

# pg_split <before> <after>: "primary replica replica2" shares of the machine in the window, percent.
pg_split() {
    awk '
        FNR == 1 { file++ }
        file == 1 { if (NF == 2) b = $2; else bp[$1 " " $2] = $3; next }
        NF == 2 { a = $2; next }
        { used[$1] += $3 - ((($1 " " $2) in bp) ? bp[$1 " " $2] : 0) }
        END { t = a - b; if (t <= 0) t = 1
              printf "%.0f %.0f %.0f\n", 100 * used["primary"] / t, 100 * used["replica"] / t, 100 * used["replica2"] / t }' \
        <(printf '%s\n' "$1") <(printf '%s\n' "$2")
}

# curve_window <url> <out file>: one 5 s window of the warm-up curve, GET /users/{id} on random
# existing ids (IDS) with their organisations' keys (KEYS) at 64 connections against the server
# $SERVER_PID; prints
# "requests/s p99_ms errors fortress_cpu_% idle_%" (bench/run and bench/curve).
curve_window() {
    local before after rps p99 non2xx errs f idle
    before=$(cpu_sample "$SERVER_PID")
    wrk -t2 -c64 -d5s --latency -s bench/users-random.lua "$1" >"$2"
    after=$(cpu_sample "$SERVER_PID")
    read -r rps _ p99 non2xx errs < <(wrk_summary "$2")
    read -r f _ _ _ _ _ idle < <(cpu_split "$before" "$after" 0)
    echo "$rps $p99 $((non2xx + errs)) $f $idle"
}
