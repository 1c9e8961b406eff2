#!/usr/bin/env bash
# ensure-pyclients.sh: the Python Redis client the compatibility tests drive kezekd with:
# redis-py (REDIS_PY_VERSION, default 8.1.0, from PyPI) in a virtual environment under
# .build/pyenv, nothing installed globally. Quiet and idempotent when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${REDIS_PY_VERSION:-8.1.0}
venv=.build/pyenv
if [[ -x $venv/bin/python ]] && $venv/bin/python -c "import redis, sys; sys.exit(redis.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
mkdir -p .build
rm -rf "$venv"
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 makes virtual environments only with python3-venv installed.
    if [[ $(id -u) == 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
        python3 -m venv "$venv"
    else
        echo "ensure-pyclients: cannot make a virtual environment; run: sudo apt-get install -y python3-venv" >&2
        exit 1
    fi
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "redis==$version"
echo "ensure-pyclients: redis-py $version in $venv"
