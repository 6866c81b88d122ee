#!/usr/bin/env bash
# VCH lifecycle on the local target: `vic-machine create` to a VCH whose docker endpoint
# answers /info over TLS, and `vic-machine delete`, medians of RUNS each; next to the time of
# one `docker info` against the VCH it made, for scale. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VIC_BIN_DIR:-bin}
RUNS=${BENCH_VCH_RUNS:-10}
home=$(mktemp -d)
trap 'for n in $("$BIN/vic-machine" ls --home "$home" --json 2>/dev/null | /usr/bin/python3 -c "import json,sys; [print(v[\"name\"]) for v in json.load(sys.stdin)]"); do "$BIN/vic-machine" delete --home "$home" --name "$n" --force >/dev/null 2>&1; done; rm -rf "$home"' EXIT
echo "bench: VCH create and delete, $RUNS runs" >&2
ms() { date +%s%N; }
creates=() deletes=() infos=()
for i in $(seq 1 "$RUNS"); do
    t0=$(ms)
    "$BIN/vic-machine" create --home "$home" --name "bench$i" >/dev/null
    t1=$(ms)
    env_lines=$("$BIN/vic-machine" inspect --home "$home" --name "bench$i" --env)
    if command -v docker >/dev/null; then
        t2=$(ms)
        env $env_lines DOCKER_CONFIG="$home/cli" docker info >/dev/null
        infos+=($(( ($(ms) - t2) / 1000000 )))
    fi
    t3=$(ms)
    "$BIN/vic-machine" delete --home "$home" --name "bench$i" >/dev/null
    t4=$(ms)
    creates+=($(( (t1 - t0) / 1000000 )))
    deletes+=($(( (t4 - t3) / 1000000 )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
mc=$(median "${creates[@]}")
md=$(median "${deletes[@]}")
mi=$([ ${#infos[@]} -gt 0 ] && median "${infos[@]}" || echo n/a)
cat <<TABLE
## VCH lifecycle on the local target (median of $RUNS runs)

| measure | value | target |
|---|---:|---:|
| \`vic-machine create\` until docker answers /info over TLS | $mc ms | under 1000 ms |
| \`vic-machine delete\` (appliance, pool, stores, certificates) | $md ms | under 500 ms |
| peer, for scale: one \`docker info\` against the new VCH | $mi ms | |
| create / docker info | $( [ "$mi" != n/a ] && [ "$mi" -gt 0 ] && awk -v a="$mc" -v b="$mi" 'BEGIN{printf "%.1f", a/b}' || echo n/a) | |

Create includes generating a CA, server and client certificate (ECDSA P-256), the resource
pool, the appliance VM, vic-init starting the port layer and the Docker endpoint, and a TLS
/info check with the client certificate. The original vic-machine took minutes against
vCenter.
TABLE
