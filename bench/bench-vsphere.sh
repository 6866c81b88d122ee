#!/usr/bin/env bash
# The vsphere driver against vcsim, beside govmomi doing the same work in the same run:
# bench/vsphere_bench (our vim25 client through hv.h) and bench/govmomi/main.go (govmomi, from
# Debian's golang-github-vmware-govmomi-dev in GOPATH mode), RUNS iterations each of login,
# inventory walk, pool create, VM create with 50 extraConfig keys, power on, reconfigure,
# power off, destroy, pool destroy, logout. Medians, and SOAP round trips per iteration.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${VIC_BUILD_DIR:-build}
RUNS=${BENCH_VSPHERE_RUNS:-20}
work=$(mktemp -d)
trap 'bash tests/fixtures/vcsim.sh "$work" stop >/dev/null 2>&1; rm -rf "$work"' EXIT
log() { echo "bench-vsphere: $*" >&2; }
skip() {
    cat <<TABLE
## The vsphere driver against vcsim, beside govmomi

Skipped: $1
TABLE
    exit 0
}
bash tests/fixtures/vcsim.sh "$work" >/dev/null 2>"$work/vcsim.err" || skip "vcsim did not start ($(tail -1 "$work/vcsim.err"))"
# shellcheck disable=SC1091
. "$work/vcsim.env"
thumb=$(openssl s_client -connect "$VCSIM_ADDR" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha1 | cut -d= -f2)
[ -n "$thumb" ] || skip "no certificate from vcsim at $VCSIM_ADDR"
log "govmomi peer"
mkdir -p "$work/gopath"
(cd bench/govmomi && GO111MODULE=off GOFLAGS= GOPATH="/usr/share/gocode:$work/gopath" \
    GOCACHE="$work/.gocache" go build -o "$work/govmomi-peer" ./main.go) >"$work/go.log" 2>&1 ||
    skip "the govmomi peer did not build: $(tail -1 "$work/go.log")"
log "ours x$RUNS"
ours=$(VCSIM_PASSWORD="$VCSIM_PASSWORD" "$B/bench/vsphere_bench" "$VCSIM_ADDR" "$VCSIM_USER" "$thumb" "$RUNS") ||
    skip "vsphere_bench failed"
log "govmomi x$RUNS"
peer=$("$work/govmomi-peer" -u "https://$VCSIM_USER:$VCSIM_PASSWORD@$VCSIM_ADDR/sdk" -n "$RUNS") ||
    skip "the govmomi peer failed"
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k{print $2}'; }
o_ms=$(field "$ours" median_ms) o_rt=$(field "$ours" round_trips)
p_ms=$(field "$peer" median_ms) p_rt=$(field "$peer" round_trips)
cat <<TABLE
## The vsphere driver against vcsim, beside govmomi (same run, median of $RUNS iterations)

Command: \`bash bench/bench-vsphere.sh\`. One iteration: login, inventory walk (datacenters,
compute resources, pools, datastores, networks), create a pool, create a VM with 50
extraConfig keys, power on, reconfigure one key, power off, destroy the VM and the pool, log
out. Target (issue 8): at least as fast as govmomi, with fewer round trips.

| client | per iteration | SOAP round trips | vs govmomi |
|---|---:|---:|---:|
| VIC-C vsphere driver (libcurl + libxml2) | $o_ms ms | $o_rt | $(awk -v a="$o_ms" -v b="$p_ms" 'BEGIN{printf "%.2f", a/b}') |
| peer: govmomi ($(dpkg-query -W -f '${Version}' golang-github-vmware-govmomi-dev 2>/dev/null)) | $p_ms ms | $p_rt | 1.00 |

Both talk TLS to the same vcsim on one keep-alive connection per login; round trips are
counted in each client (govmomi through a wrapping soap.RoundTripper). The peer's inventory
walk also lists hosts, which hv.h does not model as a kind of its own.
TABLE
