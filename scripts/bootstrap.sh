#!/usr/bin/env bash
# Idempotent setup on Debian: system tools, the project venv, the pinned PDK assets.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(klayout ngspice libngspice0 libngspice0-dev espeak-ng)
VENV=.venv

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "bmru-pdk needs the Debian packages ${missing[*]}: install them with 'sudo apt-get install ${missing[*]}'." >&2
    exit 2
  fi
  echo "installing ${missing[*]} with apt-get"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
stamp="$VENV/.bmru-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  # torch first and pinned: the CPU build; anything unpinned would pull a CUDA build.
  "$VENV/bin/pip" install -q "torch==2.13.0"
  "$VENV/bin/pip" install -q -e ".[test]"
  touch "$stamp"
fi

"$VENV/bin/bmru" setup
