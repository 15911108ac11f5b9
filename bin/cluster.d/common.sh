# bin/cluster.d/common.sh — the fleet's hosts and addresses, logging, packages, waiting, pid files
# and the status line. Sourced by bin/cluster (which sets REPO_DIR) before the other parts.
# shellcheck shell=bash

# Everything the fleet writes: data directories, logs, pid files, rendered configs, the release.
# `bin/cluster down` deletes it.
STATE="${FORTRESS_CLUSTER_DIR:-/var/tmp/fortress-cluster}"
# The private network: a /24 that exists only on the bridge below; .1 is the machine's own leg.
NET="${FORTRESS_CLUSTER_NET:-10.77.0}"
BRIDGE=fortress-br0
BRIDGE_ADDR="$NET.1"

# One network namespace per host, named after it. Start order; `down` goes in reverse.
HOSTS=(monitor cache cache2 db1 db2 db3 api1 api2 api3 worker1 worker2)
declare -A ADDR=([monitor]="$NET.51" [cache]="$NET.41" [cache2]="$NET.42" [db1]="$NET.31" [db2]="$NET.32" [db3]="$NET.33"
    [api1]="$NET.11" [api2]="$NET.12" [api3]="$NET.13" [worker1]="$NET.21" [worker2]="$NET.22")
APIS=(api1 api2 api3)
WORKERS=(worker1 worker2)
STANDBYS=(db2 db3)
PRIMARY=db1

# Ports inside each host's namespace (every host has addresses of its own, so they repeat freely).
PG_PORT=5432
BOUNCER_PORT=6432
REDIS_PORT=6379
APP_PORT=8080
ADMIN_PORT=8081
# `lb` (HAProxy) runs in the machine's own namespace and publishes on loopback only.
LB_HOST=127.0.0.1
LB_PORT=8090
LB_STATS_PORT=8404

DB_USER="${DATABASE_USER:-fortress}"
DB_PASSWORD="${DATABASE_PASSWORD:-fortress}"
DB_NAME="${FORTRESS_DB:-fortress}"
REPL_USER=fortress_replicator
REPL_PASSWORD="${REPLICATION_PASSWORD:-fortress}"

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

((EUID == 0)) || die "bin/cluster makes network namespaces and a bridge: run it as root"

is_host() { [[ -n "${ADDR[$1]:-}" ]]; }

# Refresh the package index at most once per invocation, and only if we install.
APT_UPDATED=0
apt_install() {
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A Debian package may start its own instance when installed (e.g. haproxy with
# /etc/haproxy/haproxy.cfg): the fleet runs its own processes, so stop it and keep it from boot.
stop_package_instance() {  # stop_package_instance <init service name>
    if [[ -d /run/systemd/system ]]; then
        systemctl disable --now "$1.service" >/dev/null 2>&1 || true
    else
        update-rc.d "$1" disable >/dev/null 2>&1 || true
        "/etc/init.d/$1" stop >/dev/null 2>&1 || true
    fi
}

# Everything the fleet runs comes from Debian packages (and the project's jar).
ensure_packages() {
    local missing=()
    # ip (namespaces, veth pairs, the bridge): not in every minimal image.
    command -v ip >/dev/null || missing+=(iproute2)
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v socat >/dev/null || missing+=(socat)
    command -v curl >/dev/null || missing+=(curl)
    command -v pgbouncer >/dev/null || missing+=(pgbouncer)
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
    [[ -x "$(pg_bin initdb 2>/dev/null)" ]] && command -v psql >/dev/null || missing+=(postgresql)
    # pg_auto_failover (bin/cluster.d/postgres.sh): pg_autoctl and the extension for the server's major.
    command -v pg_autoctl >/dev/null || missing+=(pg-auto-failover-cli)
    local major
    major="$(pg_bin initdb 2>/dev/null | awk -F/ '{ print $5 }')"
    [[ -z $major || -f /usr/share/postgresql/$major/extension/pgautofailover.control ]] ||
        missing+=("postgresql-$major-auto-failover")
    ((${#missing[@]})) || return 0
    apt_install "${missing[@]}"
    local p
    for p in "${missing[@]}"; do
        case $p in
            haproxy | pgbouncer | redis-server | redis-sentinel) stop_package_instance "$p" ;;
        esac
    done
}

wait_for() {  # wait_for <seconds> <command...>
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

# <pid> runs: it has a /proc entry and is not a zombie. A process that died keeps its entry and its
# comm until its parent reaps it, and a daemon's parent is PID 1, which on these machines reaps a
# second or more later: a `start` right after `kill` took a dead PgBouncer's pid file for a live one.
pid_runs() {  # pid_runs <pid>
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"  # after "<pid> (<comm>) ": the state letter
    [[ "${stat:0:1}" != [ZX] ]]
}
pid_gone() { ! pid_runs "$1"; }  # pid_gone <pid>

# The pid in <file> if that process runs and is <comm>; else nothing and a failure.
live_pid() {  # live_pid <pid file> <expected /proc/PID/comm>
    local pid
    pid="$(head -n1 "$1" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] && pid_runs "$pid" || return 1
    echo "$pid"
}

# Sends <signal> to <pid> and waits up to <seconds> for it to exit; SIGKILL after that.
stop_pid() {  # stop_pid <pid> <signal> <seconds>
    kill "-$2" "$1" 2>/dev/null || return 0
    wait_for "$3" pid_gone "$1" && return 0
    log "pid $1 still runs $3 s after SIG$2: SIGKILL"
    kill -KILL "$1" 2>/dev/null || true
    wait_for 5 pid_gone "$1" || true
}

# `bin/cluster status`: <host> <address> <role> <ready|down>.
status_line() {  # status_line <host> <address> <role> <ready|down>
    printf '%-8s %-16s %-12s %s\n' "$1" "$2" "$3" "$4"
}

# true -> ready, false -> down (a probe as a word).
ready_word() { if "$@"; then echo ready; else echo down; fi; }
