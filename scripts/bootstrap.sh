#!/usr/bin/env bash
# Set up tcbackmap on a fresh Debian/Ubuntu machine; safe to run again.
#   1. system packages that are missing: build tools, libtorch (apt's libtorch-dev
#      unless LIBTORCH / Torch_DIR / a Python torch already provides one) and, with
#      apt's libtorch, Gloo's headers for train --distributed (libgloo-dev);
#      with --bench also what the benchmarks compare against (python3-torch);
#   2. npm ci, which builds the addon (install script) and the TypeScript (prepare);
#   3. a smoke run of the addon (skip with --no-smoke).
# --test-deps also installs what the tests compare against (Debian's mdtraj and
# OpenMM); --dry-run says what it would install and why, and changes nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

bench=0
smoke=1
test_deps=0
dry=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1; test_deps=1 ;;
    --test-deps) test_deps=1 ;;
    --no-smoke) smoke=0 ;;
    --dry-run) dry=1 ;;
    *) echo "bootstrap.sh: unknown option $arg (expected --bench, --test-deps, --no-smoke, --dry-run)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# ---------------------------------------------------------------- system packages
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v git >/dev/null || need+=(git)

# Sets torch_where to where libtorch was found (each candidate tested on its
# own: one missing path must not hide another that exists).
torch_where=""
torch_found() {
  if [ -n "${LIBTORCH:-}" ]; then torch_where="LIBTORCH=$LIBTORCH"; return 0; fi
  if [ -n "${Torch_DIR:-}" ]; then torch_where="Torch_DIR=$Torch_DIR"; return 0; fi
  for f in /usr/lib/*/cmake/Torch/TorchConfig.cmake /usr/lib/cmake/Torch/TorchConfig.cmake; do
    if [ -f "$f" ]; then torch_where=$f; return 0; fi
  done
  for py in python3 /usr/bin/python3; do
    if "$py" - >/dev/null 2>&1 <<'PY'; then torch_where="$py's torch"; return 0; fi
import os, torch.utils
assert os.path.isfile(os.path.join(torch.utils.cmake_prefix_path, 'Torch', 'TorchConfig.cmake'))
PY
  done
  return 1
}
if torch_found; then say "libtorch: $torch_where"; else need+=(libtorch-dev); fi
# train --distributed: Debian's libtorch has c10d and Gloo, but Gloo's headers
# are a package of their own (a LIBTORCH folder or a Python torch brings its own).
if [ -z "${LIBTORCH:-}${Torch_DIR:-}" ] && [ ! -f /usr/include/gloo/algorithm.h ] && command -v apt-get >/dev/null \
  && { [ "${#need[@]}" -gt 0 ] && [[ " ${need[*]} " == *" libtorch-dev "* ]] || [[ "$torch_where" == /usr/lib/* ]]; }; then
  need+=(libgloo-dev)
fi
if [ "$bench" = 1 ]; then
  /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need+=(python3-torch)
fi
if [ "$test_deps" = 1 ]; then
  /usr/bin/python3 -c 'import mdtraj' >/dev/null 2>&1 || need+=(python3-mdtraj)
  /usr/bin/python3 -c 'import openmm' >/dev/null 2>&1 || need+=(python3-simtk libopenmm-plugins)
fi

if [ "$dry" = 1 ]; then
  if [ "${#need[@]}" -gt 0 ]; then say "dry run: would apt-get install ${need[*]}"; else say "dry run: every system package is present, no apt"; fi
  exit 0
fi

if [ "${#need[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "bootstrap.sh: missing ${need[*]} and no apt-get here; install them by hand (see README)" >&2
    exit 1
  fi
  say "installing ${need[*]} (apt)"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
else
  say "system packages present"
fi

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=17)?1:0)' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "bootstrap.sh: Node.js >= 20.17 is required (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# ---------------------------------------------------------------- npm packages + build
say "npm ci (builds the addon and the TypeScript)"
npm ci --no-audit --no-fund

if [ "$smoke" = 1 ]; then
  say "smoke run"
  node bin/tcbackmap.js info --check
fi
