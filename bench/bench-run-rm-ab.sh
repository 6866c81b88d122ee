#!/usr/bin/env bash
# `docker run --rm busybox true` on two builds of VIC-C in one run: a VCH from each build's
# binaries (BIN_A, BIN_B: directories holding vic-machine and the rest), one local
# docker-registry with busybox for both, ROUNDS rounds that alternate the builds, RUNS runs
# per build per round. Prints each build's median per round and over all runs, and the ratio
# B/A: a before/after comparison on a machine whose load moves (interleaving spreads it over
# both). Needs root.
#   bash bench/bench-run-rm-ab.sh BIN_A BIN_B
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: $0 BIN_A BIN_B" >&2; exit 2; }
A=$(cd "$1" && pwd) B=$(cd "$2" && pwd)
ROUNDS=${BENCH_AB_ROUNDS:-6}
RUNS=${BENCH_AB_RUNS:-10}
DOCKER=${DOCKER:-$(command -v docker || echo /usr/local/bin/docker)}
work=$(mktemp -d)
reg_addr="127.0.0.1:$((20000 + $$ % 20000))"
export REGISTRY_ADDR=$reg_addr
log() { echo "bench-run-rm-ab: $*" >&2; }
cleanup() {
    for x in a b; do
        bin=$A; [ $x = b ] && bin=$B
        "$bin/vic-machine" delete --home "$work/$x" --bin-dir "$bin" --name ab --force \
            >/dev/null 2>&1
    done
    bash tests/fixtures/registry-busybox.sh "$work/registry" stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

bash tests/fixtures/registry-busybox.sh "$work/registry" >/dev/null || { log "no registry"; exit 1; }
image="$reg_addr/busybox"
declare -A envs
for x in a b; do
    bin=$A; [ $x = b ] && bin=$B
    mkdir -p "$work/$x"
    log "VCH from $bin"
    "$bin/vic-machine" create --home "$work/$x" --bin-dir "$bin" --name ab >/dev/null || exit 1
    envs[$x]=$("$bin/vic-machine" inspect --home "$work/$x" --bin-dir "$bin" --name ab --env)
    env ${envs[$x]} DOCKER_CONFIG="$work/cli-$x" "$DOCKER" pull "$image" >/dev/null || exit 1
    env ${envs[$x]} DOCKER_CONFIG="$work/cli-$x" "$DOCKER" run --rm "$image" true >/dev/null
done
all_a=() all_b=()
printf '| round | A median (ms) | B median (ms) |\n|---:|---:|---:|\n'
for r in $(seq 1 "$ROUNDS"); do
    for x in a b; do
        xs=()
        for _ in $(seq 1 "$RUNS"); do
            t0=$(date +%s%N)
            env ${envs[$x]} DOCKER_CONFIG="$work/cli-$x" "$DOCKER" run --rm "$image" true \
                >/dev/null 2>&1 || { log "run failed on $x"; exit 1; }
            xs+=($((($(date +%s%N) - t0) / 1000000)))
        done
        if [ $x = a ]; then all_a+=("${xs[@]}"); ma=$(median "${xs[@]}"); else
            all_b+=("${xs[@]}"); mb=$(median "${xs[@]}"); fi
    done
    printf '| %d | %s | %s |\n' "$r" "$ma" "$mb"
done
ma=$(median "${all_a[@]}") mb=$(median "${all_b[@]}")
printf '| all %d runs | %s | %s |\n\nB/A: %s (load %s)\n' "$((ROUNDS * RUNS))" "$ma" "$mb" \
    "$(awk -v a="$ma" -v b="$mb" 'BEGIN{printf "%.2f", b/a}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
