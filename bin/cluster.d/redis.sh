# bin/cluster.d/redis.sh — Redis with Sentinel: a master on cache and a replica on cache2 (which is
# master after a failover: roles are what the Sentinels say, not the host's name), and three Sentinels
# on cache, cache2 and monitor, quorum 2, so that losing any one host leaves two to agree on a failover.
# Each Redis bound to its host's address, a cache without persistence bounded as bin/services bounds
# the machine's own (maxmemory, volatile-lru: bin/services.d/redis.sh). Fortress asks the Sentinels
# for the master (config.yml's redis.sentinels; docs/design/redis-sentinel.md).
# shellcheck shell=bash

CACHE=cache
REDIS_HOSTS=(cache cache2)
SENTINEL_HOSTS=(cache cache2 monitor)
SENTINEL_PORT=26379
REDIS_MASTER_NAME=fortress

redis_ready() {  # redis_ready [host]: answers PING (cache by default)
    [[ "$(redis-cli -h "${ADDR[${1:-$CACHE}]}" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_role() {  # redis_role <host>: master or slave, as the server says
    redis-cli -h "${ADDR[$1]}" -p "$REDIS_PORT" info replication 2>/dev/null | tr -d '\r' | awk -F: '$1 == "role" { print $2 }'
}

sentinel_ready() {  # sentinel_ready <host>: answers, and knows a master
    [[ -n "$(sentinel_master_at "$1")" ]]
}

sentinel_master_at() {  # sentinel_master_at <host>: "<address>" of the master that Sentinel names
    redis-cli -h "${ADDR[$1]}" -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null |
        head -n1 | tr -d '\r'
}

# The master's address as the first Sentinel that answers names it; else cache's (the first `up`).
redis_master_addr() {
    local h addr
    for h in "${SENTINEL_HOSTS[@]}"; do
        addr="$(sentinel_master_at "$h")"
        [[ -n $addr ]] && { echo "$addr"; return 0; }
    done
    echo "${ADDR[$CACHE]}"
}

# Fortress's settings (fortress_env): the Sentinels to ask, and the master's database and password.
redis_sentinels() {
    local h list=()
    for h in "${SENTINEL_HOSTS[@]}"; do list+=("${ADDR[$h]}:$SENTINEL_PORT"); done
    (IFS=,; echo "${list[*]}")
}

up_redis_host() {  # up_redis_host <host>: starts its Redis unless it runs; a replica of the master unless it is it
    local host=$1 dir="$STATE/$1" master args=()
    mkdir -p "$dir"
    if live_pid "$dir/redis.pid" redis-server >/dev/null; then
        wait_for 10 redis_ready "$host" || die "$host: Redis runs but does not answer; see $dir/redis.log"
        return 0
    fi
    master="$(redis_master_addr)"
    # A host that comes back (the master before a failover, say) starts as a replica of the master the
    # Sentinels name now, never as a second master that would take writes meanwhile.
    [[ $master == "${ADDR[$host]}" ]] || args=(--replicaof "$master" "$REDIS_PORT")
    log "$host: starting Redis on ${ADDR[$host]}:$REDIS_PORT${args[*]:+ (replica of $master)}"
    rm -f "$dir/redis.pid"
    # protected-mode off: it would refuse the other hosts (no password), and the address exists only on
    # the fleet's bridge.
    in_ns "$host" redis-server --daemonize yes --bind "${ADDR[$host]}" --port "$REDIS_PORT" \
        --protected-mode no --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
        --pidfile "$dir/redis.pid" --maxmemory "${REDIS_MAXMEMORY:-256mb}" \
        --maxmemory-policy "${REDIS_MAXMEMORY_POLICY:-volatile-lru}" "${args[@]}"
    wait_for 10 redis_ready "$host" || die "$host: Redis does not answer; see $dir/redis.log"
}

up_sentinel() {  # up_sentinel <host>: starts its Sentinel unless it runs
    local host=$1 dir="$STATE/$1" conf
    conf="$dir/sentinel.conf"
    mkdir -p "$dir"
    live_pid "$dir/sentinel.pid" redis-sentinel >/dev/null && return 0
    # Sentinel rewrites its file with what it learns (the master now, the replicas, the other
    # Sentinels): written once, kept across restarts.
    if [[ ! -f $conf ]]; then
        cat >"$conf" <<CONF
# Written by bin/cluster (Fortress fleet); Sentinel adds what it learns below.
bind ${ADDR[$host]}
port $SENTINEL_PORT
protected-mode no
daemonize yes
pidfile $dir/sentinel.pid
logfile $dir/sentinel.log
dir $dir
# Quorum 2 of 3: any one host lost leaves two Sentinels to agree that the master is down, and a
# majority to authorise the failover.
sentinel monitor $REDIS_MASTER_NAME $(redis_master_addr) $REDIS_PORT 2
# A master silent for 2 s is down for this Sentinel; the cache fails open to PostgreSQL meanwhile.
sentinel down-after-milliseconds $REDIS_MASTER_NAME 2000
sentinel failover-timeout $REDIS_MASTER_NAME 10000
sentinel parallel-syncs $REDIS_MASTER_NAME 1
CONF
    fi
    log "$host: starting Sentinel on ${ADDR[$host]}:$SENTINEL_PORT"
    rm -f "$dir/sentinel.pid"
    in_ns "$host" redis-sentinel "$conf"
    wait_for 10 sentinel_ready "$host" || die "$host: Sentinel does not answer; see $dir/sentinel.log"
}

up_redis() {
    local h
    for h in "${REDIS_HOSTS[@]}"; do up_redis_host "$h"; done
    for h in "${SENTINEL_HOSTS[@]}"; do up_sentinel "$h"; done
}

# What runs on <host> of Redis's: its server (cache, cache2) and its Sentinel (cache, cache2, monitor).
up_redis_on() {  # up_redis_on <host>
    local host=$1
    [[ " ${REDIS_HOSTS[*]} " == *" $host "* ]] && up_redis_host "$host"
    [[ " ${SENTINEL_HOSTS[*]} " == *" $host "* ]] && up_sentinel "$host"
    return 0
}

status_redis() {
    local h role master
    master="$(redis_master_addr)"
    for h in "${REDIS_HOSTS[@]}"; do
        case "$(redis_role "$h")" in
            master) status_line "$h" "${ADDR[$h]}:$REDIS_PORT" redis-master ready ;;
            slave) status_line "$h" "${ADDR[$h]}:$REDIS_PORT" redis-replica ready ;;
            *)
                role=redis-replica
                [[ $master == "${ADDR[$h]}" ]] && role=redis-master
                status_line "$h" "${ADDR[$h]}:$REDIS_PORT" "$role" down
                ;;
        esac
    done
    for h in "${SENTINEL_HOSTS[@]}"; do
        status_line "$h" "${ADDR[$h]}:$SENTINEL_PORT" sentinel "$(ready_word sentinel_ready "$h")"
    done
}
