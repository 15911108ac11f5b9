# bin/services.d/prometheus.sh — Prometheus on 127.0.0.1:9090 with grafana/prometheus/ (scraping
# Fortress's :8081/prometheus), data in the state directory.
# shellcheck shell=bash

PROM_HOST=127.0.0.1
PROM_PORT=9090
PROM_DIR="$STATE_DIR/prometheus"            # data/ (TSDB, 2 days), prometheus.log
PROM_BIN=/usr/bin/prometheus
PROM_CONFIG="$REPO_DIR/grafana/prometheus/prometheus.yml"  # loads alerts.yml beside it

prom_get() {  # prom_get <path>: the body of GET http://127.0.0.1:9090<path>, or failure
    command -v curl >/dev/null && curl -sf -m 2 "http://$PROM_HOST:$PROM_PORT$1" 2>/dev/null
}

prom_ready() { prom_get /-/ready >/dev/null; }
prom_gone() { ! prom_ready; }
prom_ready_or_dead() { prom_ready || ! kill -0 "$1" 2>/dev/null; }  # <pid> we just started

# The --config.file of the Prometheus answering on our port (from its flags API).
prom_config_file() {
    prom_get /api/v1/status/flags | grep -o '"config.file":"[^"]*"' | cut -d'"' -f4
}

prom_install() {
    # Without the recommended node exporter: nothing here scrapes it.
    apt_install --no-install-recommends prometheus
    # The package's own instance (0.0.0.0:9090, /etc/prometheus/prometheus.yml, scraping itself
    # and a node exporter) would hold our port now or after the next boot.
    stop_package_instance prometheus
}

prom_start() {
    mkdir -p "$PROM_DIR/data"
    log "starting Prometheus on $PROM_HOST:$PROM_PORT ($PROM_CONFIG)"
    # In its own session, so it outlives this script; not as root (it does not need it).
    setsid "$PROM_BIN" --config.file="$PROM_CONFIG" --storage.tsdb.path="$PROM_DIR/data" \
        --web.listen-address="$PROM_HOST:$PROM_PORT" --storage.tsdb.retention.time=2d \
        </dev/null >>"$PROM_DIR/prometheus.log" 2>&1 &
    local pid=$!
    # Gives up early if it exits (a bad config, or the port taken meanwhile).
    wait_for 30 prom_ready_or_dead "$pid" || true
    if ! prom_ready || ! kill -0 "$pid" 2>/dev/null; then
        die "Prometheus did not start on $PROM_HOST:$PROM_PORT; see $PROM_DIR/prometheus.log"
    fi
    write_marker prometheus "$pid"
    touch "$PROM_DIR/config.loaded"
}

prom_stop() {  # prom_stop <pid>
    log "stopping Prometheus (pid $1)"
    kill -TERM "$1"
    wait_for 30 test ! -e "/proc/$1" || die "prometheus (pid $1) did not exit"
    rm -f "$(marker prometheus)"
}

up_prometheus() {
    [[ -x "$PROM_BIN" ]] || prom_install
    command -v curl >/dev/null || apt_install curl
    promtool check config "$PROM_CONFIG" >/dev/null ||
        die "$PROM_CONFIG is invalid: promtool check config $PROM_CONFIG"
    local pid config
    if pid="$(marker_live prometheus prometheus)"; then
        config="$(prom_config_file || true)"
        if [[ -n "$config" && "$config" != "$PROM_CONFIG" ]]; then
            log "prometheus: running with $config, not this checkout's; restarting it"
            prom_stop "$pid"
            prom_start
        elif [[ ! -e "$PROM_DIR/config.loaded" ||
            -n "$(find "$REPO_DIR/grafana/prometheus" -newer "$PROM_DIR/config.loaded" -print -quit)" ]]; then
            log "prometheus: configuration changed, reloading (pid $pid)"
            kill -HUP "$pid"
            touch "$PROM_DIR/config.loaded"
        fi
        return 0
    fi
    if prom_ready; then
        config="$(prom_config_file || true)"
        if [[ "$config" == /etc/prometheus/prometheus.yml ]]; then
            log "prometheus: $PROM_HOST:$PROM_PORT is the Debian package's own instance ($config); stopping and disabling it"
            stop_package_instance prometheus
            wait_for 15 prom_gone ||
                die "the Prometheus with $config still holds $PROM_HOST:$PROM_PORT; stop it"
        else
            log "prometheus: $PROM_HOST:$PROM_PORT is served by a Prometheus bin/services did not start (${config:-config unknown}); leaving it"
            [[ "$(prom_get '/api/v1/targets?state=any' || true)" == *'"job":"fortress"'* ]] ||
                log "prometheus: it has no 'fortress' scrape job: add the one in $PROM_CONFIG, or the dashboards stay empty"
            return 0
        fi
    fi
    prom_start
}

status_prometheus() {
    local state=down owner=- detail='' scrape
    if prom_ready; then
        state=up owner="$(started_by prometheus prometheus)"
        # up{job="fortress"}: 1 when the last scrape of :8081/prometheus worked
        scrape="$(prom_get '/api/v1/query?query=up%7Bjob%3D%22fortress%22%7D' |
            grep -o '"value":\[[^]]*\]' | head -n1 | cut -d'"' -f4 || true)"
        case "$scrape" in
            1) scrape=up ;;
            0) scrape=down ;;
            *) scrape=none ;;
        esac
        detail="http://$PROM_HOST:$PROM_PORT fortress-scrape=$scrape"
    fi
    status_row prometheus "$state" "$PROM_HOST:$PROM_PORT" "$owner" "$detail"
}

down_prometheus() {
    local pid
    pid="$(ours_to_stop prometheus prometheus prom_ready)" || return 0
    prom_stop "$pid"
}
