# bin/cluster.d/haproxy.sh — lb: HAProxy in the machine's own namespace on deploy/haproxy.cfg as it is
# (the environment fills in addresses), its runtime API, and the rolling restart built on it.
# shellcheck shell=bash

LB_DIR="$STATE/lb"
LB_CFG="$REPO_DIR/deploy/haproxy.cfg"
LB_SOCK="$LB_DIR/admin.sock"
LB_BACKEND=fortress_api

lb_env() {  # sets LB_ENV: what deploy/haproxy.cfg reads
    LB_ENV=(FORTRESS_LB_BIND="$LB_HOST:$LB_PORT" FORTRESS_LB_STATS_BIND="$LB_HOST:$LB_STATS_PORT"
        FORTRESS_LB_RUN_DIR="$LB_DIR")
    local i
    for i in "${!APIS[@]}"; do LB_ENV+=("FORTRESS_API$((i + 1))=${ADDR[${APIS[i]}]}:$APP_PORT"); done
}

lb_pid() { live_pid "$LB_DIR/haproxy.pid" haproxy; }

lb_ready() {
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$LB_HOST:$LB_STATS_PORT/")" == 200 ]]
}

# One command on the runtime API; its answer on stdout.
lb_cmd() {  # lb_cmd <command>
    echo "$1" | socat -t 5 stdio "unix-connect:$LB_SOCK"
}

# A field of `show stat` for one server of the backend, by the CSV header's name (status: UP, DOWN,
# DRAIN, MAINT, ...; scur: its sessions now).
lb_field() {  # lb_field <server> <field>
    lb_cmd "show stat" 2>/dev/null | awk -F, -v be="$LB_BACKEND" -v sv="$1" -v want="$2" '
        NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
        $1 == be && $2 == sv { print $(col[want]); exit }'
}

lb_status_is() {  # lb_status_is <server> <status...>: its check status is one of these
    local now s
    now="$(lb_field "$1" status)"
    for s in "${@:2}"; do [[ "$now" == "$s" ]] && return 0; done
    return 1
}

# HAProxy's checks see the server up, whatever its admin state (drain, maint): srv_op_state 1 (in its
# slowstart, weight growing) or 2 (running at full weight).
lb_checks_up() {  # lb_checks_up <server>
    [[ "$(lb_cmd "show servers state $LB_BACKEND" 2>/dev/null | awk -v sv="$1" '
        NR == 2 { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
        NR > 2 && $4 == sv { print $(col["srv_op_state"]); exit }')" == [12] ]]
}

lb_idle() { [[ "$(lb_field "$1" scur)" == 0 ]]; }

# A checksum of what HAProxy was started with: a change of the file or the addresses reloads it.
lb_sum() { { cat "$LB_CFG"; printf '%s\n' "${LB_ENV[@]}"; } | sha256sum | cut -d' ' -f1; }

lb_launch() {  # lb_launch [old pid]: a new HAProxy (taking over from the old one, which finishes)
    local old=${1:-} pid
    env "${LB_ENV[@]}" haproxy -c -q -f "$LB_CFG" || die "deploy/haproxy.cfg does not pass haproxy -c"
    # Foreground (-db) under setsid, its stderr (the log, see `log stderr` in the file) appended to
    # haproxy.log; -sf: the old process stops listening and finishes its requests.
    env "${LB_ENV[@]}" setsid haproxy -f "$LB_CFG" -db ${old:+-sf "$old"} >>"$LB_DIR/haproxy.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$LB_DIR/haproxy.pid"
    wait_for 10 lb_pid >/dev/null || die "HAProxy did not start; see $LB_DIR/haproxy.log"
    lb_sum >"$LB_DIR/config.sum"
    wait_for 10 lb_ready || die "HAProxy's stats page does not answer on $LB_HOST:$LB_STATS_PORT; see $LB_DIR/haproxy.log"
}

up_lb() {
    mkdir -p "$LB_DIR"
    lb_env
    local pid
    if pid="$(lb_pid)"; then
        if [[ "$(lb_sum)" != "$(cat "$LB_DIR/config.sum" 2>/dev/null)" ]]; then
            log "lb: deploy/haproxy.cfg changed: reloading HAProxy (old pid $pid finishes its requests)"
            lb_launch "$pid"
        fi
    else
        log "lb: starting HAProxy: API on $LB_HOST:$LB_PORT, stats on $LB_HOST:$LB_STATS_PORT"
        lb_launch
    fi
}

# Until HAProxy's own checks see every API instance up (and out of any drain or maintenance).
lb_wait_all_up() {
    local api
    for api in "${APIS[@]}"; do
        wait_for 30 lb_status_is "$api" UP || die "lb: HAProxy does not see $api UP (status: $(lb_field "$api" status))"
    done
}

status_lb() { status_line lb "$LB_HOST:$LB_PORT" lb "$(ready_word lb_ready)"; }

stop_lb() {
    local pid
    pid="$(lb_pid)" || return 0
    log "lb: stopping HAProxy (pid $pid)"
    stop_pid "$pid" TERM 10
}

kill_lb() {
    local pid
    pid="$(lb_pid)" || { log "lb: nothing runs there"; return 0; }
    log "lb: SIGKILL to HAProxy (pid $pid)"
    kill -KILL "$pid"
}

# `bin/cluster roll`: one API instance after another, drained in HAProxy, stopped with SIGTERM, started
# on the current release, waited for (its readiness: warmed up), and given back its traffic, which
# slowstart then ramps up.
roll() {
    lb_pid >/dev/null || die "lb: HAProxy does not run: bin/cluster up first"
    [[ -f "$JAR" ]] || die "no $JAR to roll out: mvn -B -DskipTests package"
    release_install  # target/fortress.jar as built now (no build here: that would take the cores mid-roll)
    local api slowstart
    slowstart="$(awk '$1 == "default-server" { for (i = 1; i < NF; i++) if ($i == "slowstart") print $(i + 1) }' "$LB_CFG")"
    for api in "${APIS[@]}"; do
        log "roll: $api: drain"
        lb_cmd "set server $LB_BACKEND/$api state drain" >/dev/null
        wait_for 30 lb_idle "$api" || log "roll: $api: $(lb_field "$api" scur) requests still in flight after 30 s"
        fortress_stop "$api"
        fortress_start "$api"
        fortress_wait "$api"
        # HAProxy's checks must have seen it ready too (rise 2), or "ready" below would wait for them.
        # Its slowstart begins then, drained or not: enabled at once, it ramps up from there (waiting
        # for "running" instead let the whole ramp pass while drained, and it came back at full weight).
        wait_for 30 lb_checks_up "$api" || die "roll: HAProxy does not see $api up again (status: $(lb_field "$api" status))"
        lb_cmd "set server $LB_BACKEND/$api state ready" >/dev/null
        wait_for 10 lb_status_is "$api" UP || die "roll: $api is not UP in HAProxy after 'state ready'"
        # Its full share before the next one leaves.
        log "roll: $api: ready; slowstart ${slowstart:-0s}"
        [[ -z "$slowstart" ]] || sleep "${slowstart%s}"
    done
    log "roll: done"
}
