#!/usr/bin/env bash
# Idempotent setup of .venv-pex: KLayout-PEX (kpex) for parasitic extraction.
# KPEX needs Python >= 3.12, while the project venv is 3.11 (its CPU torch wheel is for 3.11),
# so kpex lives in a venv of its own and bmru_pdk calls it as a program.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-pex
# Pinned: the versions bmru_pdk/verification/pex.py is tested with (klayout-pex needs
# klayout >= 0.30.12; the same klayout as the project venv).
PACKAGES=("klayout-pex==0.6.12" "klayout==0.30.12")

find_python() {
  local candidate
  for candidate in python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  # pyenv keeps 3.12 out of PATH unless asked for it
  if command -v pyenv >/dev/null 2>&1; then
    local version
    version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12\.[0-9]+$' | sort -V | tail -1)
    if [ -n "$version" ]; then
      echo "$(pyenv root)/versions/$version/bin/python3.12"
      return 0
    fi
  fi
  return 1
}

stamp="$VENV/.bmru-pex-installed"
wanted="${PACKAGES[*]}"
if [ -x "$VENV/bin/kpex" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  if ! python=$(find_python); then
    echo "Parasitic extraction needs Python 3.12 (for klayout-pex): install python3.12 and run scripts/setup_pex.sh again." >&2
    exit 2
  fi
  "$python" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "${PACKAGES[@]}"
echo "$wanted" >"$stamp"
echo "kpex ready in $VENV"
