# bin/services.d/common.sh — what every service file uses: settings shared by several services,
# logging, root, apt-get, "started by bin/services" markers, waiting, the status row, files.
# Sourced by bin/services (which sets REPO_DIR) before the service files.
# shellcheck shell=bash

STATE_DIR="${FORTRESS_STATE_DIR:-/var/tmp/fortress-services}"
DB_USER="${DATABASE_USER:-fortress}"
DB_PASSWORD="${DATABASE_PASSWORD:-fortress}"
DB_NAME="${FORTRESS_DB:-fortress}"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# apt-get, pg_ctlcluster and runuser need root; use sudo when run as a normal user.
as_root() {
    if ((EUID == 0)); then "$@"; else sudo -- "$@"; fi
}

# Refresh the package index at most once per invocation, and only if we install.
APT_UPDATED=0
apt_install() {
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install -y $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A Debian package enables and starts its own instance when installed (systemd, or sysvinit when
# no policy-rc.d forbids it), on the port we want: stop it and keep it from starting at boot.
stop_package_instance() {  # stop_package_instance <init service name>
    if [[ -d /run/systemd/system ]]; then
        as_root systemctl disable --now "$1.service" >/dev/null 2>&1 || true
    else
        as_root update-rc.d "$1" disable >/dev/null 2>&1 || true
        as_root "/etc/init.d/$1" stop >/dev/null 2>&1 || true
    fi
}

# Markers record "bin/services started this"; they hold the PID of the process we
# started so a later `down` never stops a process someone else (re)started.
marker() { printf '%s/%s.started' "$STATE_DIR" "$1"; }

write_marker() {  # write_marker <service> <pid> [extra words...]
    mkdir -p "$STATE_DIR"
    echo "${*:2}" >"$(marker "$1")"
}

# <pid> runs: it has a /proc entry and is not a zombie. A daemon that died keeps its entry and its
# comm until PID 1 reaps it, a second or more later on these machines (bin/cluster.d/common.sh).
pid_runs() {  # pid_runs <pid>
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"  # after "<pid> (<comm>) ": the state letter
    [[ "${stat:0:1}" != [ZX] ]]
}

# Prints the marker's words if the PID in it is still running and is the expected
# program; otherwise drops the stale marker and fails.
marker_live() {  # marker_live <service> <expected /proc/PID/comm>
    local file words pid
    file="$(marker "$1")"
    [[ -f "$file" ]] || return 1
    read -r -a words <"$file" || true
    pid="${words[0]:-}"
    if [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] && pid_runs "$pid"; then
        echo "${words[*]}"
        return 0
    fi
    rm -f "$file"
    return 1
}

# The STARTED BY column of a running service.
started_by() {  # started_by <service> <expected /proc/PID/comm>
    if marker_live "$1" "$2" >/dev/null; then echo "bin/services"; else echo "other"; fi
}

# For down_<service>: prints the marker's words when bin/services started what runs; otherwise
# says why there is nothing to stop and fails.
ours_to_stop() {  # ours_to_stop <service> <expected /proc/PID/comm> <ready command...>
    marker_live "$1" "$2" && return 0
    if "${@:3}"; then log "$1: left running: not started by bin/services"
    else log "$1: not running"; fi
    return 1
}

wait_for() {  # wait_for <seconds> <command...>
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

status_row() {  # status_row <service> <state> <address> <started by> [details]
    local row
    printf -v row '%-10s %-5s %-16s %-12s %s' "$1" "$2" "$3" "$4" "${5:-}"
    echo "${row%"${row##*[! ]}"}"  # without trailing blanks
}

# Writes <content> (plus a newline) to <path>, owned by postgres, only if it differs, and then
# sets FILE_CHANGED=1 — callers reload/restart only on a real change. Plain statement, so
# `set -e` still applies inside.
FILE_CHANGED=0
put_file() {  # put_file <path> <mode> <content>
    [[ "$(as_root cat -- "$1" 2>/dev/null)" != "$3" ]] || return 0
    printf '%s\n' "$3" | as_root install -o postgres -g postgres -m "$2" /dev/stdin "$1"
    FILE_CHANGED=1
}
