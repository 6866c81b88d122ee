#!/usr/bin/env bash
# Installs the UI's npm packages (package-lock.json) into node_modules/ when it is missing or
# older than the lock file. Installs Debian's nodejs and npm first when node is absent.
# A registry that cannot be reached is not fatal here (pass --strict to fail at once), but the
# build then stops at the web UI (mk/ui.sh needs the Clarity styles and fonts).
set -uo pipefail
cd "$(dirname "$0")/.."
strict=0
[ "${1:-}" = "--strict" ] && strict=1

# Debian's nodejs and npm only when there is no node at all: a node from elsewhere (e.g.
# NodeSource, which bundles npm) conflicts with Debian's npm package.
if ! command -v node >/dev/null 2>&1; then
    mk/deps.sh nodejs npm || exit 1
elif ! command -v npm >/dev/null 2>&1; then
    mk/deps.sh npm || exit 1
fi
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] && [ ! package.json -nt "$stamp" ]; then
    exit 0
fi
echo "npm: installing the UI's packages (npm ci)" >&2
if npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/tmp/vic-npm.$$.log 2>&1; then
    touch "$stamp"
    rm -f /tmp/vic-npm.$$.log
    exit 0
fi
tail -n 15 /tmp/vic-npm.$$.log >&2
rm -f /tmp/vic-npm.$$.log
if [ $strict -eq 1 ]; then
    echo "npm: npm ci failed" >&2
    exit 1
fi
echo "npm: WARNING: npm ci failed (registry unreachable?); the build will stop at the web UI," \
    "which needs Clarity's styles and fonts from node_modules" >&2
exit 0
