# bin/services.d/toolchain.sh — `bin/services toolchain`: mvn and a JDK >= 17.
# shellcheck shell=bash

java_major() {  # "javac 17.0.9" -> 17 ; "javac 1.8.0_392" -> 8
    local v
    v="$(javac -version 2>&1 | awk '{print $2}')"
    v="${v#1.}"
    echo "${v%%[!0-9]*}"
}

toolchain() {
    if command -v mvn >/dev/null && command -v javac >/dev/null && (($(java_major) >= 17)); then
        return 0
    fi
    apt_install maven openjdk-17-jdk-headless
    # An older JDK chosen manually via update-alternatives would still win.
    (($(java_major) >= 17)) ||
        die "javac is $(javac -version 2>&1); select JDK 17: update-alternatives --config javac (and java)"
}
