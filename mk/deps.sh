#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet.
# Fast when nothing is missing (one dpkg-query). Needs root to install; otherwise prints the
# exact command to run and fails.
set -euo pipefail

missing=()
status=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "$@" 2>/dev/null || true)
for pkg in "$@"; do
    if ! grep -qE "^${pkg//+/\\+} ii" <<<"$status"; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run as root:  sudo $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! $cmd >/tmp/vic-deps.$$.log 2>&1; then
    echo "deps: package index may be stale; running apt-get update" >&2
    apt-get update >/dev/null
    if ! $cmd >/tmp/vic-deps.$$.log 2>&1; then
        tail -n 20 /tmp/vic-deps.$$.log >&2
        rm -f /tmp/vic-deps.$$.log
        echo "deps: installing failed: $cmd" >&2
        exit 1
    fi
fi
rm -f /tmp/vic-deps.$$.log
