# bin/cluster.d/redis.sh — cache: Redis bound to its host's address, a cache without persistence
# bounded as bin/services bounds the machine's own (maxmemory, volatile-lru: bin/services.d/redis.sh).
# shellcheck shell=bash

CACHE=cache

redis_ready() {
    [[ "$(redis-cli -h "${ADDR[$CACHE]}" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

up_redis() {
    local dir="$STATE/$CACHE"
    mkdir -p "$dir"
    if live_pid "$dir/redis.pid" redis-server >/dev/null; then
        wait_for 10 redis_ready || die "$CACHE: Redis runs but does not answer; see $dir/redis.log"
        return 0
    fi
    log "$CACHE: starting Redis on ${ADDR[$CACHE]}:$REDIS_PORT"
    rm -f "$dir/redis.pid"
    # protected-mode off: it would refuse the other hosts (no password), and the address exists only on
    # the fleet's bridge.
    in_ns "$CACHE" redis-server --daemonize yes --bind "${ADDR[$CACHE]}" --port "$REDIS_PORT" \
        --protected-mode no --save "" --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
        --pidfile "$dir/redis.pid" --maxmemory "${REDIS_MAXMEMORY:-256mb}" \
        --maxmemory-policy "${REDIS_MAXMEMORY_POLICY:-volatile-lru}"
    wait_for 10 redis_ready || die "$CACHE: Redis does not answer; see $dir/redis.log"
}

status_redis() {
    status_line "$CACHE" "${ADDR[$CACHE]}:$REDIS_PORT" redis-master "$(ready_word redis_ready)"
}
