#!/usr/bin/env bash
# `npm test`'s own set-up (the pretest step), so that `npm ci && npm test` is all a fresh machine
# needs: a project-local Python environment with pyarrow (the extract tests read the lake as
# pandas users would) and pyspark (`--engine spark` runs in local[2]: pyspark ships spark-submit,
# its Arrow functions want pandas), and a headless Chromium (the report tests open the HTML report).
# Java and Maven are checked by `gamepipe up` itself, which says how to install them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test set-up: %s\n' "$*" >&2; }

venv=.venv
# pyspark 3.5.9: the newest Spark whose Kafka source (3.5.7) Maven Central serves here
pip_packages=(pyarrow pandas pyspark==3.5.9)
if ! "$venv/bin/python" -c 'import pyarrow, pandas, pyspark' >/dev/null 2>&1; then
  command -v python3 >/dev/null 2>&1 || {
    say 'python3 is missing: install Python 3 with venv and pip (apt-get install python3-venv)'
    exit 1
  }
  say "setting up $venv: ${pip_packages[*]} (python3 -m venv, pip install)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_packages[@]}"
fi

if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null 2>&1; then
  say 'chromium is missing: installing Debian'"'"'s chromium package (apt-get install chromium)'
  if [ "$(id -u)" = 0 ]; then
    sudo=()
  elif sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    say 'cannot install chromium without root: run `sudo apt-get install chromium`, or set CHROMIUM_PATH'
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
fi
