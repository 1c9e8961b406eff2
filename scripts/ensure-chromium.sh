#!/usr/bin/env bash
# ensure-chromium.sh: Debian's headless Chromium, which the public-page tests and
# `make screenshot` load pages with. As root it installs the package; otherwise it prints the
# exact command and exits 1. Quiet when it is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [[ $(id -u) == 0 ]]; then
    echo "ensure-chromium: installing chromium" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
else
    echo "ensure-chromium: chromium is missing; run: sudo apt-get install -y chromium" >&2
    exit 1
fi
