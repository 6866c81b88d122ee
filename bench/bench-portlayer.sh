#!/usr/bin/env bash
# The port layer's own API (port-layer-server over HTTP, no Docker endpoint in between), each
# figure beside a peer measured in the same run:
#   - pull of five:latest (busybox and four 4 MiB incompressible layers) from the local
#     registry into a fresh image store (a new port layer on an empty --images directory for
#     each run), beside `skopeo copy docker://ADDR/five:latest dir:DIR` of the same image
#     (runs interleaved; median of PULLS each)
#   - create + start + wait of /bin/true (three requests), median of RUNS, beside the raw
#     `unshare ... /bin/true` floor
#   - GET /containers?all=1 with MANY created containers, median of RUNS, beside reading the
#     MANY VMs' .vmx files (the inventory the listing derives from)
# The HTTP client is /usr/bin/python3 (http.client, one keep-alive connection), timed inside
# the process. Needs root (the port layer runs VMs).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VIC_BIN_DIR:-$PWD/bin}
PULLS=${BENCH_PL_PULLS:-10}
RUNS=${BENCH_PL_RUNS:-30}
MANY=${BENCH_PL_MANY:-1000}
PY=/usr/bin/python3
work=$(mktemp -d)
reg_addr="127.0.0.1:$((20000 + ($$ + 7) % 20000))"
pl_port=$((40000 + $$ % 20000))
pl_addr="127.0.0.1:$pl_port"
export REGISTRY_ADDR=$reg_addr
pl_pid=""

log() { echo "bench-portlayer: $*" >&2; }
stop_pl() {
    [ -n "$pl_pid" ] || return 0
    kill "$pl_pid" 2>/dev/null
    wait "$pl_pid" 2>/dev/null
    pl_pid=""
}
cleanup() {
    stop_pl
    bash tests/fixtures/registry-busybox.sh "$work/registry" stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "## The port layer's API"
    echo
    echo "Skipped: the port layer runs VMs, which needs root."
    exit 0
fi

# start_pl IMAGES_DIR: a port layer on $work/home with that image store
start_pl() {
    "$BIN/port-layer-server" --home "$work/home" --bin-dir "$BIN" --token-file "$work/token" \
        --listen "$pl_addr" --images "$1" --log-level warn >>"$work/pl.log" 2>&1 &
    pl_pid=$!
    for _ in $(seq 200); do
        curl -fs -o /dev/null "http://$pl_addr/version" && return 0
        kill -0 "$pl_pid" 2>/dev/null || break
        sleep 0.02
    done
    log "port layer did not start: $(tail -3 "$work/pl.log")"
    exit 1
}
# the API client: plapi.py COMMAND ARGS, prints one figure (ms) or fails
cat >"$work/plapi.py" <<'PY'
import http.client, json, os, statistics, sys, time
addr, token, cmd = sys.argv[1], open(sys.argv[2]).read().strip(), sys.argv[3]
host, port = addr.split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=600)
H = {"Authorization": "Bearer " + token}

def call(method, path, body=None, want=(200, 201, 204)):
    h = dict(H)
    if body is not None:
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    if r.status not in want:
        sys.exit("%s %s: %d %s" % (method, path, r.status, data[:300]))
    return data

def ms(t0):
    return (time.perf_counter() - t0) * 1000

if cmd == "pull":  # one pull; fails on an error line
    t0 = time.perf_counter()
    lines = call("POST", "/images/pull?ref=" + sys.argv[4]).decode().splitlines()
    t = ms(t0)
    last = json.loads(lines[-1])
    if "error" in last:
        sys.exit("pull: " + last["error"])
    print("%.1f" % t)
elif cmd == "cycle":  # create + start + wait of /bin/true, N times; median
    image, n, xs = sys.argv[4], int(sys.argv[5]), []
    for _ in range(n):
        t0 = time.perf_counter()
        c = json.loads(call("POST", "/containers", {"image": image, "cmd": ["/bin/true"]}))
        call("POST", "/containers/%s/start" % c["id"])
        code = json.loads(call("POST", "/containers/%s/wait" % c["id"]))["exit_code"]
        xs.append(ms(t0))
        if code != 0:
            sys.exit("/bin/true exited %d" % code)
        call("DELETE", "/containers/%s" % c["id"])
    print("%.1f" % statistics.median(xs))
elif cmd == "create":  # N created containers
    image, n = sys.argv[4], int(sys.argv[5])
    for _ in range(n):
        call("POST", "/containers", {"image": image, "cmd": ["/bin/true"]})
elif cmd == "list":  # GET /containers?all=1, N times; median; checks the count
    want, n, xs = int(sys.argv[4]), int(sys.argv[5]), []
    for _ in range(n):
        t0 = time.perf_counter()
        got = len(json.loads(call("GET", "/containers?all=1")))
        xs.append(ms(t0))
        if got != want:
            sys.exit("listed %d containers, expected %d" % (got, want))
    print("%.1f" % statistics.median(xs))
elif cmd == "readvmx":  # read every VM folder's .vmx under a datastore, N times; median
    ds, n, xs = sys.argv[4], int(sys.argv[5]), []
    for _ in range(n):
        t0 = time.perf_counter()
        for d in os.listdir(ds):
            p = os.path.join(ds, d, d + ".vmx")
            try:
                with open(p, "rb") as f:
                    f.read()
            except OSError:
                pass
        xs.append(ms(t0))
    print("%.1f" % statistics.median(xs))
PY
api() { "$PY" "$work/plapi.py" "$pl_addr" "$work/token" "$@"; }
now_ns() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a/b; else print "n/a" }'; }

log "registry on $reg_addr"
bash tests/fixtures/registry-busybox.sh "$work/registry" >/dev/null || { log "no registry"; exit 1; }
printf 'bench-port-layer-token-0123456789\n' >"$work/token"
chmod 600 "$work/token"
mkdir -p "$work/home"
printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/policy.json"
five="$reg_addr/five:latest"
five_mb=$(curl -fs -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$reg_addr/v2/five/manifests/latest" |
    "$PY" -c 'import json,sys; m=json.load(sys.stdin); print("%.1f" % (sum(l["size"] for l in m["layers"])/1048576))')

# ---- pull beside skopeo, interleaved ----
log "pull of five:latest x$PULLS, beside skopeo copy"
pulls=() skopeos=()
for i in $(seq 1 "$PULLS"); do
    start_pl "$work/images-$i"
    t=$(api pull "$five") || { log "pull failed"; exit 1; }
    pulls+=("$t")
    stop_pl
    rm -rf "$work/images-$i"
    rm -rf "$work/skopeo"
    t0=$(now_ns)
    skopeo --policy "$work/policy.json" copy --quiet --src-tls-verify=false \
        "docker://$five" "dir:$work/skopeo" >/dev/null || { log "skopeo failed"; exit 1; }
    skopeos+=("$(awk -v d=$(($(now_ns) - t0)) 'BEGIN{printf "%.1f", d/1e6}')")
done
pull_ms=$(median "${pulls[@]}")
skopeo_ms=$(median "${skopeos[@]}")
log "pulls: ${pulls[*]}"
log "skopeo: ${skopeos[*]}"

# ---- create + start + wait, listing ----
start_pl "$work/images"
api pull "$reg_addr/busybox:latest" >/dev/null || { log "busybox pull failed"; exit 1; }
busybox="$reg_addr/busybox:latest"
api cycle "$busybox" 3 >/dev/null || exit 1 # warm
log "create+start+wait x$RUNS"
cycle_ms=$(api cycle "$busybox" "$RUNS") || exit 1
floors=()
for _ in $(seq 1 "$RUNS"); do
    t0=$(now_ns)
    unshare --user --map-root-user --mount --pid --fork --net --uts /bin/true || exit 1
    floors+=("$(awk -v d=$(($(now_ns) - t0)) 'BEGIN{printf "%.1f", d/1e6}')")
done
floor_ms=$(median "${floors[@]}")
log "$MANY created containers"
api create "$busybox" "$MANY" || exit 1
list_ms=$(api list "$MANY" "$RUNS") || exit 1
vmx_ms=$(api readvmx "$work/home/datastore1" "$RUNS")
stop_pl

cat <<TABLE
## The port layer's API, beside skopeo and the raw floors (same run)

Command: \`bash bench/bench-portlayer.sh\` (PULLS=$PULLS, RUNS=$RUNS, MANY=$MANY); medians.
Requests go straight to port-layer-server over one keep-alive HTTP connection
(/usr/bin/python3 http.client), timed inside the client.

| measure | port layer | peer | port layer / peer | target |
|---|---:|---:|---:|---:|
| pull five:latest ($five_mb MB in 5 gzip layers) into a fresh image store / \`skopeo copy docker://… dir:…\` | $pull_ms ms | $skopeo_ms ms | $(ratio "$pull_ms" "$skopeo_ms") | under 1.5 |
| create + start + wait of \`/bin/true\` / \`unshare --user --map-root-user --mount --pid --fork --net --uts /bin/true\` | $cycle_ms ms | $floor_ms ms | $(ratio "$cycle_ms" "$floor_ms") | |
| \`GET /containers?all=1\`, $MANY created / reading their $MANY .vmx files | $list_ms ms | $vmx_ms ms | $(ratio "$list_ms" "$vmx_ms") | under 50 ms |

The pull does more than skopeo's copy: besides fetching and verifying every blob it unpacks
each layer into the store (the uncompressed stream hashed against its diff_id) and records
the image; skopeo writes the compressed blobs to a directory as they are. skopeo's figure is
the whole process (a Go binary's start included), the pull's the one request. A create
builds the container's root disk from the image's layers and writes the VM's folder; start
powers the VM on (its monitor and the namespace sandbox whose PID 1 is the tether) and
returns once the session started; wait returns its exit code.
TABLE
