#!/usr/bin/env bash
# The docker CLI against a VCH, beside Debian's Docker Engine (dockerd) in the same run:
#   - `docker run --rm busybox true`, median of RUNS, and the raw `unshare ... /bin/true` floor
#   - `docker ps -a` with MANY created containers, `docker ps` with RUNNING running ones
#   - idle RSS of the appliance (vic-init + port layer + personality + vicadmin) and the RSS
#     each running container adds (its VM's monitor + tether), next to dockerd + containerd
#     and a container's shim.
# dockerd runs under a temp root, started by tests/fixtures/dockerd.sh (its rows say why when
# it cannot start). A local docker-registry with busybox comes from tests/fixtures. Needs root.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VIC_BIN_DIR:-$PWD/bin}
RUNS=${BENCH_DOCKER_RUNS:-30}
MANY=${BENCH_DOCKER_MANY:-1000}
RUNNING=${BENCH_DOCKER_RUNNING:-100}
DOCKER=${DOCKER:-$(command -v docker || echo /usr/local/bin/docker)}
work=$(mktemp -d)
home="$work/home"
mkdir -p "$home"
reg_addr="127.0.0.1:$((20000 + $$ % 20000))"
export REGISTRY_ADDR=$reg_addr
dockerd_pid=""

cleanup() {
    [ -n "$dockerd_pid" ] && stop_dockerd
    "$BIN/vic-machine" delete --home "$home" --name bench --containers all --force >/dev/null 2>&1
    bash tests/fixtures/registry-busybox.sh "$work/registry" stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
log() { echo "bench-docker: $*" >&2; }
now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
# median wall time (ms) of N runs of a command
time_ms() {
    local n=$1 t0 xs=()
    shift
    for _ in $(seq 1 "$n"); do
        t0=$(now_ns)
        "$@" >/dev/null 2>&1 || { echo fail; return; }
        xs+=($(( ($(now_ns) - t0) / 1000000 )))
    done
    median "${xs[@]}"
}
rss_kb() { # summed VmRSS of the given PIDs
    local sum=0 p
    for p in "$@"; do sum=$((sum + $(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done
    echo "$sum"
}
pss_kb() { # summed proportional set size (shared pages split among their users)
    local sum=0 p
    for p in "$@"; do sum=$((sum + $(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0))); done
    echo "$sum"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a/b; else print "n/a" }'; }

log "registry with busybox on $reg_addr"
bash tests/fixtures/registry-busybox.sh "$work/registry" >/dev/null || { log "no registry"; exit 1; }
image="$reg_addr/busybox"

# ---- the VCH ----
log "VCH"
"$BIN/vic-machine" create --home "$home" --name bench >/dev/null || exit 1
vch_env=$("$BIN/vic-machine" inspect --home "$home" --name bench --env)
vdocker() { env $vch_env DOCKER_CONFIG="$work/cli" "$DOCKER" "$@"; }
vdocker pull "$image" >/dev/null
vdocker run --rm "$image" true >/dev/null # warm
descendants() { # pid and all its descendants
    local p
    echo "$1"
    for p in $(pgrep -P "$1"); do descendants "$p"; done
}
monitor_of() { cat "$home/datastore1/$1/monitor.pid" 2>/dev/null; }
appliance_pids() { local m; m=$(monitor_of bench); [ -n "$m" ] && descendants "$m"; }
vch_idle_kb=$(rss_kb $(appliance_pids))
vch_idle_pss=$(pss_kb $(appliance_pids))
log "VCH: run --rm x$RUNS"
vch_run=$(time_ms "$RUNS" vdocker run --rm "$image" true)
log "VCH: $RUNNING running"
for i in $(seq 1 "$RUNNING"); do vdocker run -d --name "r$i" "$image" sleep 1000 >/dev/null; done
vch_ps_running=$(time_ms 10 vdocker ps)
per_pids=""
for d in "$home"/datastore1/r*-*/; do # each containerVM: its monitor and its tether
    m=$(cat "$d/monitor.pid" 2>/dev/null) || continue
    per_pids="$per_pids $m $(pgrep -P "$m" | tr '\n' ' ')"
done
per_vm_kb=$(( $(rss_kb $per_pids) / RUNNING ))
vdocker rm -f $(vdocker ps -q) >/dev/null 2>&1
log "VCH: $MANY created"
for i in $(seq 1 "$MANY"); do vdocker create "$image" true >/dev/null; done
vch_ps_many=$(time_ms 10 vdocker ps -a)
vdocker ps -aq | xargs -r -n 100 env $vch_env DOCKER_CONFIG="$work/cli" "$DOCKER" rm >/dev/null 2>&1

# ---- the floor ----
floor=$(time_ms "$RUNS" unshare --user --map-root-user --mount --pid --fork --net --uts /bin/true)

# ---- Docker Engine ----
dd_root="$work/dockerd"
# tests/fixtures/dockerd.sh starts it under dd_root and gives the host its firewall back
stop_dockerd() {
    bash tests/fixtures/dockerd.sh stop "$dd_root" >/dev/null
    dockerd_pid=""
}
dd_note=""
if dd_err=$(bash tests/fixtures/dockerd.sh start "$dd_root" --insecure-registry "$reg_addr" 2>&1 >/dev/null); then
    dockerd_pid=$(cat "$dd_root/dockerd.pid")
else
    dd_note=$(tail -1 <<<"${dd_err#dockerd.sh: }")
fi
dd_run=n/a dd_ps_running=n/a dd_ps_many=n/a dd_idle_kb=n/a dd_per_kb=n/a dd_idle_pss=n/a
if [ -n "$dockerd_pid" ]; then
    ddocker() { DOCKER_HOST="unix://$dd_root/docker.sock" DOCKER_CONFIG="$work/cli" "$DOCKER" "$@"; }
    ddocker pull "$image" >/dev/null
    ddocker run --rm "$image" true >/dev/null
    cont_pid=$(pgrep -P "$dockerd_pid" containerd | head -1)
    dd_idle_kb=$(rss_kb "$dockerd_pid" $cont_pid)
    dd_idle_pss=$(pss_kb "$dockerd_pid" $cont_pid)
    log "dockerd: run --rm x$RUNS"
    dd_run=$(time_ms "$RUNS" ddocker run --rm "$image" true)
    log "dockerd: $RUNNING running"
    for i in $(seq 1 "$RUNNING"); do ddocker run -d "$image" sleep 1000 >/dev/null; done
    dd_ps_running=$(time_ms 10 ddocker ps)
    shims=$(pgrep -f containerd-shim | tr '\n' ' ')
    dd_per_kb=$(( $(rss_kb $shims) / RUNNING ))
    ddocker rm -f $(ddocker ps -q) >/dev/null 2>&1
    log "dockerd: $MANY created"
    for i in $(seq 1 "$MANY"); do ddocker create "$image" true >/dev/null; done
    dd_ps_many=$(time_ms 10 ddocker ps -a)
    stop_dockerd
fi

kb_mb() { [ "$1" = n/a ] && echo n/a || awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
cat <<TABLE
## The docker CLI against a VCH, beside Docker Engine (same run)

Command: \`bash bench/bench-docker.sh\` (RUNS=$RUNS, MANY=$MANY, RUNNING=$RUNNING); medians.
Docker Engine: ${dd_note:-dockerd $(dockerd --version 2>/dev/null | awk '{print $3}' | tr -d ,) started by hand under a temp root.}

| measure | VCH | Docker Engine | VCH / Docker | target |
|---|---:|---:|---:|---:|
| \`docker run --rm busybox true\` | $vch_run ms | $dd_run ms | $(ratio "$vch_run" "$dd_run") | under 100 ms |
| floor: \`unshare --user --map-root-user --mount --pid --fork --net --uts /bin/true\` | $floor ms | | | |
| \`docker ps -a\`, $MANY created | $vch_ps_many ms | $dd_ps_many ms | $(ratio "$vch_ps_many" "$dd_ps_many") | under 80 ms |
| \`docker ps\`, $RUNNING running | $vch_ps_running ms | $dd_ps_running ms | $(ratio "$vch_ps_running" "$dd_ps_running") | |
| idle RSS: appliance / dockerd + containerd | $(kb_mb "$vch_idle_kb") MB | $(kb_mb "$dd_idle_kb") MB | $(ratio "$vch_idle_kb" "$dd_idle_kb") | under 25 MB |
| idle PSS: the same processes | $(kb_mb "$vch_idle_pss") MB | $(kb_mb "$dd_idle_pss") MB | $(ratio "$vch_idle_pss" "$dd_idle_pss") | |
| RSS added per running container: monitor + tether / shim | $(kb_mb "$per_vm_kb") MB | $(kb_mb "$dd_per_kb") MB | $(ratio "$per_vm_kb" "$dd_per_kb") | under 2 MB |

A VCH's \`run --rm\` creates a VM (a folder with its .vmx), builds its root disk from the
image's layers, powers it on (a monitor and a namespace sandbox whose PID 1 is the tether),
waits for its exit and deletes it. The container's own session (busybox sleep) is not
counted in the per-container RSS on either side. The appliance is five processes (its
monitor, vic-init, the port layer, the Docker endpoint, vicadmin); most of each one's RSS is
the same shared libraries (libcurl, GnuTLS, OpenSSL, sqlite), which PSS counts once.
TABLE
