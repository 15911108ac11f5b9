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
