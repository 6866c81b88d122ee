#!/usr/bin/env bash
# The local host: power-on-to-powered-off of a VM whose session is /bin/true, next to the raw
# namespaces (`unshare ... /bin/true`), medians over the same run; and the resident memory of
# a VM's monitor and tether while its session sleeps. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BENCH_BUILD:-build}
RUNS=${BENCH_VM_RUNS:-50}
echo "bench: local host, $RUNS power cycles" >&2
json=$("$B/bench/hv_bench" "${VIC_BIN_DIR:-bin}" tests/fixtures/busybox-rootfs.sh "$RUNS")
get() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$json" "$1"; }
mon=$(get monitor_rss_kb)
teth=$(get tether_rss_kb)
cat <<TABLE
## Local host: a containerVM's lifecycle (median of $RUNS runs)

| measure | value |
|---|---:|
| VM power on → session /bin/true → powered off | $(get vm_true_ms) ms |
| peer: \`unshare --user --map-root-user --mount --pid --fork --net --uts /bin/true\` | $(get unshare_true_ms) ms |
| ratio (target: under 3) | $(get ratio) |
| monitor (vic-vmx) RSS while the session sleeps | $mon kB |
| tether RSS while the session sleeps | $teth kB |
| monitor + tether (target: under 2048 kB) | $((mon + teth)) kB |
| the session itself (busybox sleep), for scale | $(get session_rss_kb) kB |

The VM cycle includes what the raw namespaces do not: starting the detached monitor, reading
the .vmx, mounting the guest's /dev, /proc and /sys, the tether reading its configuration over
the guestinfo channel, and two durable (fsync'd) reports of the session's state.
TABLE
