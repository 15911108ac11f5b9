# bin/services.d/redis.sh — Redis on 127.0.0.1:6379, a throwaway cache without persistence.
# shellcheck shell=bash

REDIS_HOST=127.0.0.1
REDIS_PORT=6379
# A bound on memory, and what goes when it is reached (docs/operations.md#redis-memory). Without one, keys
# that callers can multiply (a cache entry per id asked for) grow until the machine swaps or the kernel
# kills Redis. volatile-lru, not allkeys-lru: it evicts only keys with a TTL, which every cache entry and
# generation (and rate-limit counter) has, and never the org stats cache's epoch key (no TTL), whose loss
# could make entries stored under an earlier epoch valid again. Full of keys without a TTL, Redis refuses
# writes (OOM) and Fortress fails open to the database.
REDIS_MAXMEMORY="${REDIS_MAXMEMORY:-256mb}"
REDIS_MAXMEMORY_POLICY="${REDIS_MAXMEMORY_POLICY:-volatile-lru}"

redis_ready() {
    [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_pid() {
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server 2>/dev/null |
        awk -F: '/^process_id:/ {gsub(/\r/, "", $2); print $2}'
}

up_redis() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-sentinel >/dev/null; then
        # redis-sentinel: cache/RedisSentinelFailoverTest runs three of its own; the package's own is not wanted.
        apt_install redis-server redis-sentinel
        stop_package_instance redis-sentinel
    fi
    if redis_ready; then
        redis_limit_memory
        return 0
    fi
    log "starting Redis on $REDIS_HOST:$REDIS_PORT"
    as_root mkdir -p /var/lib/redis /var/log/redis
    # Throwaway dev/CI cache: no persistence (--save "", no AOF).
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        --maxmemory "$REDIS_MAXMEMORY" --maxmemory-policy "$REDIS_MAXMEMORY_POLICY"
    wait_for 10 redis_ready || die "Redis did not answer on $REDIS_HOST:$REDIS_PORT (see /var/log/redis/ci.log)"
    write_marker redis "$(redis_pid)"
}

# A Redis already running (the machine's own, or one started before this setting existed) gets the
# bound at run time; CONFIG SET does not touch its config file, so a restart of someone else's Redis
# loses it until the next `bin/services up`.
redis_limit_memory() {
    local current
    current="$(redis_config maxmemory)/$(redis_config maxmemory-policy)"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config set maxmemory "$REDIS_MAXMEMORY" >/dev/null ||
        die "Redis refused CONFIG SET maxmemory $REDIS_MAXMEMORY"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config set maxmemory-policy "$REDIS_MAXMEMORY_POLICY" >/dev/null ||
        die "Redis refused CONFIG SET maxmemory-policy $REDIS_MAXMEMORY_POLICY"
    local now
    now="$(redis_config maxmemory)/$(redis_config maxmemory-policy)"
    [[ "$now" == "$current" ]] || log "Redis: maxmemory/policy $current -> $now"
}

redis_config() {  # redis_config <parameter>: its value
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" config get "$1" 2>/dev/null | sed -n 2p
}

status_redis() {
    local state=down owner=- details=""
    if redis_ready; then
        state=up owner="$(started_by redis redis-server)"
        details="maxmemory=$(redis_config maxmemory) policy=$(redis_config maxmemory-policy)"
    fi
    status_row redis "$state" "$REDIS_HOST:$REDIS_PORT" "$owner" "$details"
}

down_redis() {
    local pid
    pid="$(ours_to_stop redis redis-server redis_ready)" || return 0
    log "stopping Redis (pid $pid)"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    wait_for 10 test ! -e "/proc/$pid" || as_root kill "$pid"
    rm -f "$(marker redis)"
}
