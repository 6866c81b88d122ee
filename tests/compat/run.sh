#!/usr/bin/env bash
# make compat: the compatibility suite (tests/compat) run twice, against a VCH and against
# Debian's Docker Engine, then one table: each test's result on both, and the tests whose
# results differ with the reason.
#   - the VCH: created on the local target by the real vic-machine (VIC_BIN_DIR, default
#     bin/), by the suite's conftest, and deleted at its end;
#   - Docker Engine: dockerd under a temporary root (tests/fixtures/dockerd.sh);
#   - both pull busybox from one local docker-registry (tests/fixtures/registry-busybox.sh).
# Logs and results go to $VIC_TEST_OUT/compat (default tests/out/compat). Needs root; dockerd
# uses the host's network (its docker0 bridge, iptables), so run it alone. Exits non-zero when
# a test fails against Docker Engine or fails unmarked against the VCH.
set -uo pipefail
cd "$(dirname "$0")/../.."
export VIC_BIN_DIR=${VIC_BIN_DIR:-$PWD/bin}
OUT=${VIC_TEST_OUT:-tests/out}/compat
TIMEOUT=${COMPAT_TIMEOUT:-120}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/vch.json "$OUT"/docker.json
log() { echo "compat: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (VCHs run VMs, dockerd runs containers)"; exit 1; }

work=$(mktemp -d)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export REGISTRY_ADDR=127.0.0.1:$port
cleanup() {
    bash tests/fixtures/dockerd.sh stop "$work/dockerd" >/dev/null 2>&1
    bash tests/fixtures/registry-busybox.sh "$work/registry" stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

log "registry with busybox on $REGISTRY_ADDR"
bash tests/fixtures/registry-busybox.sh "$work/registry" >"$OUT/registry.log" 2>&1 ||
    { log "registry did not start (see $OUT/registry.log)"; exit 1; }
export COMPAT_IMAGE=$REGISTRY_ADDR/busybox:latest

suite() { # suite NAME ENV-ARGS...: the suite, with env(1)'s arguments naming the engine
    local name=$1
    shift
    env "$@" COMPAT_RESULTS="$OUT/$name.json" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        -p timeout --timeout "$TIMEOUT" --junitxml="$OUT/$name.xml" tests/compat \
        >"$OUT/$name.log" 2>&1
    log "$name: $(tail -1 "$OUT/$name.log")"
}

log "against a VCH (vic-machine from $VIC_BIN_DIR)"
suite vch -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH COMPAT_ENGINE=vch

log "against Docker Engine ($(dockerd --version 2>/dev/null || echo 'dockerd not installed'))"
if host=$(bash tests/fixtures/dockerd.sh start "$work/dockerd" --insecure-registry "$REGISTRY_ADDR" \
    2>"$OUT/dockerd-start.log"); then
    suite docker -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH "$host" COMPAT_ENGINE=docker
    cp "$work/dockerd/dockerd.log" "$OUT/dockerd.log" 2>/dev/null
    bash tests/fixtures/dockerd.sh stop "$work/dockerd" >/dev/null
else
    log "Docker Engine not run: $(tail -1 "$OUT/dockerd-start.log")"
fi

echo
/usr/bin/python3 tests/compat/table.py "$OUT/vch.json" "$OUT/docker.json" | tee "$OUT/table.txt"
exit "${PIPESTATUS[0]}"
