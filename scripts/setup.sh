#!/usr/bin/env bash
# Installs everything clp needs on a Debian/Ubuntu machine, then builds the native addon and the
# TypeScript. Safe to run again: each step is skipped when its result is already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# 1. Debian packages: libtorch (the engine), the build tools for the addon, and Chromium, which
# test/compare.test.ts drives through playwright-core to load the comparison report.
# libopenblas0-pthread replaces the reference BLAS that libtorch-dev pulls in without recommends;
# matmuls are several times slower without it.
apt_packages=(g++ make python3 chromium)
# With LIBTORCH set, libtorch comes from that folder instead of Debian.
if [ -z "${LIBTORCH:-}" ]; then apt_packages+=(libtorch-dev libopenblas0-pthread); fi
missing=()
for pkg in "${apt_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo_cmd=(sudo); else
      log "missing Debian packages: ${missing[*]}; run as root: apt-get install -y --no-install-recommends ${missing[*]}"
      exit 1
    fi
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages, only when the lockfile changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null
fi

# 3. The native addon, rebuilt when any of its sources is newer than the built module.
addon=native/build/Release/clp_torch.node
# The stamp records which libtorch the addon was built against, so switching LIBTORCH or upgrading
# the Debian package triggers a rebuild.
stamp=native/build/libtorch-stamp
want_stamp="${LIBTORCH:-debian} $(dpkg-query -W -f='${Version}' libtorch-dev 2>/dev/null || true)"
if [ ! -f "$addon" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_stamp" ] ||
  [ -n "$(find native/src native/binding.gyp native/scripts -newer "$addon" -print -quit)" ]; then
  log "building the libtorch addon (about a minute on 2 cores)"
  npx --no-install node-gyp rebuild --directory native --nodedir=/usr -j 2 >native-build.log 2>&1 || {
    tail -n 40 native-build.log >&2
    log "addon build failed; the full log is in native-build.log"
    exit 1
  }
  printf '%s' "$want_stamp" >"$stamp"
fi

# 4. TypeScript.
log "compiling TypeScript"
npx --no-install tsc -p tsconfig.json

# 5. `npx clp` from the checkout: npm links the bins of dependencies, not the package's own.
mkdir -p node_modules/.bin
ln -sf ../../bin/clp.js node_modules/.bin/clp
