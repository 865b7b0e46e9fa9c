#!/bin/sh
# Installs what questlog needs to build and test, only when it is missing:
# Debian packages (apt-get update first when the lists are stale or empty)
# and the Node readers used by the interop tests (npm install in tests/interop).
set -e
PKGS="libh2o-evloop-dev libssl-dev librdkafka-dev libzstd-dev libsnappy-dev \
libsqlite3-dev sqlite3 libjansson-dev zlib1g-dev kcat apache2-utils curl clang \
libclang-rt-14-dev time python3 libstdc++-12-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Node.js may come from elsewhere than Debian (e.g. NodeSource, whose nodejs
# conflicts with Debian's npm): ask for the commands, not the packages.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  lists=/var/lib/apt/lists
  if [ -z "$(ls $lists/*_Packages* 2>/dev/null)" ] || \
     [ -n "$(find $lists -maxdepth 1 -name '*_Packages*' -mtime +1 2>/dev/null | head -1)" ]; then
    $SUDO apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ ! -d tests/interop/node_modules ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules ]; then
  # `npm install --no-save` installs the locked versions; `npm ci` (npm 11)
  # rejects this lock file over the other platforms' optional DuckDB bindings.
  echo "deps: npm install in tests/interop"
  (cd tests/interop && npm install --no-save --no-audit --no-fund --loglevel=error)
  touch tests/interop/node_modules
fi
