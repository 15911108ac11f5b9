# bin/services.d/redis.sh — Redis on 127.0.0.1:6379, a throwaway cache without persistence.
# shellcheck shell=bash

REDIS_HOST=127.0.0.1
REDIS_PORT=6379

redis_ready() {
    [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_pid() {
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info server 2>/dev/null |
        awk -F: '/^process_id:/ {gsub(/\r/, "", $2); print $2}'
}

up_redis() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server
    fi
    redis_ready && return 0
    log "starting Redis on $REDIS_HOST:$REDIS_PORT"
    as_root mkdir -p /var/lib/redis /var/log/redis
    # Throwaway dev/CI cache: no persistence (--save "", no AOF).
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for 10 redis_ready || die "Redis did not answer on $REDIS_HOST:$REDIS_PORT (see /var/log/redis/ci.log)"
    write_marker redis "$(redis_pid)"
}

status_redis() {
    local state=down owner=-
    if redis_ready; then state=up owner="$(started_by redis redis-server)"; fi
    status_row redis "$state" "$REDIS_HOST:$REDIS_PORT" "$owner"
}

down_redis() {
    local pid
    pid="$(ours_to_stop redis redis-server redis_ready)" || return 0
    log "stopping Redis (pid $pid)"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    wait_for 10 test ! -e "/proc/$pid" || as_root kill "$pid"
    rm -f "$(marker redis)"
}
