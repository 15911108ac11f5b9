# bin/services.d/browser.sh — `bin/services browser` (tests only): Debian's Chromium and a pinned
# playwright-core in target/browser, for the dashboard browser test.
# shellcheck shell=bash

CHROMIUM_BIN=/usr/bin/chromium
PLAYWRIGHT_VERSION=1.65.1                   # drives Debian's Chromium; downloads no browser
BROWSER_DIR="$REPO_DIR/target/browser"     # node_modules/ here; `mvn clean` drops it

playwright_version() {
    node -p 'require(process.argv[1]).version' "$BROWSER_DIR/node_modules/playwright-core/package.json" \
        2>/dev/null || true
}

browser() {
    [[ -x "$CHROMIUM_BIN" ]] || apt_install chromium
    command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
    local node_major
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    ((node_major >= 20)) || die "playwright-core $PLAYWRIGHT_VERSION needs Node >= 20; node is $(node --version)"
    [[ "$(playwright_version)" != "$PLAYWRIGHT_VERSION" ]] || return 0
    log "npm install playwright-core@$PLAYWRIGHT_VERSION into $BROWSER_DIR"
    mkdir -p "$BROWSER_DIR"
    # --no-save/--no-package-lock: nothing but node_modules/ is written, no lock file to commit.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$BROWSER_DIR" --no-save \
        --no-package-lock --no-audit --no-fund --loglevel=error "playwright-core@$PLAYWRIGHT_VERSION" >&2
    [[ "$(playwright_version)" == "$PLAYWRIGHT_VERSION" ]] ||
        die "playwright-core $PLAYWRIGHT_VERSION is not in $BROWSER_DIR/node_modules after npm install"
}
