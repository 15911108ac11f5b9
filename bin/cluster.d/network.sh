# bin/cluster.d/network.sh — the data centre's network: a bridge with the machine's own leg on it
# ($BRIDGE_ADDR/24) and one network namespace per host, plugged in with a veth pair.
# shellcheck shell=bash

# The host side of a host's veth pair (interface names are at most 15 characters).
veth_of() { echo "fc-$1"; }

# (Whole outputs compared, not `| grep -q`: with pipefail, grep leaving early can fail the pipe.)
ns_exists() { [[ " $(ip netns list 2>/dev/null | awk '{print $1}' | xargs) " == *" $1 "* ]]; }

has_addr() {  # has_addr <namespace or ""> <device> <address/len>
    [[ "$(ip ${1:+-n "$1"} -4 addr show dev "$2" 2>/dev/null)" == *" $3 "* ]]
}

# Runs <command> inside <host>'s namespace.
in_ns() {  # in_ns <host> <command...>
    local host=$1
    shift
    ip netns exec "$host" "$@"
}

bridge_up() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        log "network: bridge $BRIDGE $BRIDGE_ADDR/24"
        ip link add "$BRIDGE" type bridge
    fi
    has_addr "" "$BRIDGE" "$BRIDGE_ADDR/24" || ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
}

# The host's namespace, its veth pair (eth0 inside, on the bridge outside), its address and lo.
host_net_up() {  # host_net_up <host>
    local host=$1 addr=${ADDR[$1]} veth
    veth="$(veth_of "$1")"
    if ! ns_exists "$host"; then
        log "network: namespace $host ($addr)"
        ip netns add "$host"
    fi
    if ! ip -n "$host" link show eth0 >/dev/null 2>&1; then
        ip link del "$veth" >/dev/null 2>&1 || true  # a host side left without its peer
        ip link add "$veth" type veth peer name eth0 netns "$host"
    fi
    ip link set "$veth" master "$BRIDGE" up
    has_addr "$host" eth0 "$addr/24" || ip -n "$host" addr add "$addr/24" dev eth0
    ip -n "$host" link set lo up
    ip -n "$host" link set eth0 up
}

network_up() {
    bridge_up
    local host
    for host in "${HOSTS[@]}"; do host_net_up "$host"; done
}

# What still runs in any of the hosts' namespaces.
fleet_pids() {
    local host
    for host in "${HOSTS[@]}"; do
        if ns_exists "$host"; then ip netns pids "$host" 2>/dev/null || true; fi
    done | xargs
}
fleet_idle() { [[ -z "$(fleet_pids)" ]]; }
# "<pid> (<command line>)" for each, for the log.
describe_pids() {  # describe_pids <pid...>
    local p
    for p in "$@"; do
        printf '%s (%s) ' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60 | sed 's/ *$//')"
    done
}

# Every process left in the namespaces gets SIGTERM, all at once (Fortress drains for its
# shutdownWaitPeriod, PostgreSQL and PgBouncer stop), then SIGKILL after 20 s; then the namespaces go,
# with their veth pairs, and the bridge.
network_down() {
    local pids host
    pids="$(fleet_pids)"
    if [[ -n "$pids" ]]; then
        log "stopping what runs on the hosts (pids $pids)"
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        if ! wait_for 20 fleet_idle; then
            pids="$(fleet_pids)"
            # shellcheck disable=SC2086
            log "SIGKILL to what still runs after 20 s: $(describe_pids $pids)"
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
            wait_for 5 fleet_idle || log "some processes outlived SIGKILL: $(fleet_pids)"
        fi
    fi
    for host in "${HOSTS[@]}"; do
        if ns_exists "$host"; then
            log "network: removing namespace $host"
            ip netns del "$host"
        fi
        ip link del "$(veth_of "$host")" >/dev/null 2>&1 || true
    done
    if ip link show "$BRIDGE" >/dev/null 2>&1; then
        log "network: removing bridge $BRIDGE"
        ip link del "$BRIDGE"
    fi
}

# `bin/cluster kill <host>`: SIGKILL to every process in the host's namespace, as a power cut would.
# They are stopped first (SIGSTOP), again and again until no process of the host is left running, and
# only then killed: killed one after another, a process could start another before its own SIGKILL
# came. 2026-12-07: pg_autoctl's postgres service saw its PostgreSQL die and started it again, the new
# postmaster was in no list, and the monitor, finding the primary's PostgreSQL up, never failed over.
host_kill() {  # host_kill <host>
    local pids="" new _
    for _ in {1..10}; do
        new="$(ip netns pids "$1" 2>/dev/null | grep -vxF -f <(printf '%s\n' $pids) | xargs)" || true
        [[ -n "$new" ]] || break
        # shellcheck disable=SC2086
        kill -STOP $new 2>/dev/null || true
        pids="${pids:+$pids }$new"
    done
    if [[ -z "$pids" ]]; then
        log "$1: nothing runs there"
        return 0
    fi
    log "$1: SIGKILL to pids $pids"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # Until it is reaped, a dead process keeps its pid, and pg_autoctl and PostgreSQL take a pid file
    # naming it for a running instance and refuse to start (PID 1 reaps orphans a second or more late
    # here): a `start` right after this would fail.
    # shellcheck disable=SC2086
    wait_for 10 pids_reaped $pids || log "$1: some processes outlived SIGKILL or were not reaped"
    [[ -z "$(ip netns pids "$1" 2>/dev/null)" ]] || log "$1: processes still run: $(ip netns pids "$1" | xargs)"
}
pids_reaped() {  # pids_reaped <pid...>: none of them has a /proc entry, zombie or not
    local p
    for p; do [[ ! -e "/proc/$p" ]] || return 1; done
}
