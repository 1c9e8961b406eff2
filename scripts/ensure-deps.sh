#!/usr/bin/env bash
# ensure-deps.sh: make sure the system packages kezekd builds and tests against are present
# (libuv and hiredis headers via pkg-config, redis-server for the integration tests and
# `make run`, redis-cli for scripts/ensure-redis.sh) and that `swift` is on PATH.
# Quiet and idempotent when all is there. As root it installs what is missing with apt-get;
# otherwise it prints the exact command to run and exits 1.
set -euo pipefail

# libredis-perl, php-cli with php-redis: real client libraries for the compatibility tests
# (Tests/clients); prometheus-redis-exporter: the monitoring tool those tests scrape with;
# openssl: the TLS tests make their certificates with it; stunnel4: the tunnel to a TLS Redis;
# curl: the HTTPS listeners are checked with it.
pkgs=(libuv1-dev libhiredis-dev libssl-dev redis-server redis-tools pkg-config libredis-perl php-cli php-redis prometheus-redis-exporter
      openssl stunnel4 curl)
missing=()
for p in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then
        echo "ensure-deps: installing ${missing[*]}" >&2
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    else
        echo "ensure-deps: missing packages: ${missing[*]}" >&2
        echo "  run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "ensure-deps: swift is not on PATH" >&2
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "  it is at /opt/swift/usr/bin: export PATH=/opt/swift/usr/bin:\$PATH" >&2
    else
        echo "  install Swift 6.1+ (https://www.swift.org/install/) and add its usr/bin to PATH" >&2
    fi
    exit 1
fi
