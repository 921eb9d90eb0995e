#!/usr/bin/env bash
# Create the virtual environment and install the platform with its test tools.
# Installs the few system packages it needs (venv support, PostgreSQL server binaries, npm) when
# they are missing and we may (root with apt-get); otherwise says what to install.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need_apt=()
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing system packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "please install: ${need_apt[*]} (or set DOMOTIC_PG_DSN / DOMOTIC_PG_BIN)" >&2
  fi
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
"$VENV/bin/python" -m pip install --quiet -e '.[test]'
# the dashboards' chart library (and axe-core for their test), exactly as package-lock.json says
npm ci --prefix domotic_assets/dashboards/assets --no-audit --no-fund --loglevel=error
echo "installed into $VENV"
