#!/usr/bin/env bash
# vic-webservice under wrk: GET /container/version (public), GET /container/hello with HTTP
# Basic, and GET /container/session (authentication checked on every request), over TLS with
# 64 connections; nginx serving the same version text over TLS with the same certificate is
# the peer. Memory is the server's RSS from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-64}
BIN=${VIC_BIN_DIR:-bin}
work=$(mktemp -d)
ws_pid="" ng_pid=""
cleanup() {
    [ -n "$ws_pid" ] && kill "$ws_pid" 2>/dev/null && wait "$ws_pid" 2>/dev/null
    [ -n "$ng_pid" ] && kill "$ng_pid" 2>/dev/null && wait "$ng_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }
anon_kb() { awk '/^RssAnon/{print $2}' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/{print $2}' "/proc/$1/smaps_rollup"; }
hwm_kb() { awk '/^VmHWM/{print $2}' "/proc/$1/status"; }
tree_rss_kb() { # a process and its children
    local total=0 p
    for p in $1 $(pgrep -P "$1"); do total=$((total + $(rss_kb "$p"))); done
    echo "$total"
}

# wrk prints "Requests/sec: N" and, with --latency, a "99%  X.XXms" line.
run_wrk() { # url [header]
    local args=(-t2 -c"$CONNS" -d"${DURATION}s" --latency)
    [ $# -gt 1 ] && args+=(-H "$2")
    wrk "${args[@]}" "$1" >"$work/wrk.out" 2>&1
    local rps p99 non2xx
    rps=$(awk '/^Requests\/sec/{printf "%.0f", $2}' "$work/wrk.out")
    p99=$(awk '$1=="99%"{print $2}' "$work/wrk.out")
    non2xx=$(awk '/Non-2xx/{print $NF}' "$work/wrk.out")
    if [ -n "$non2xx" ]; then
        echo "bench: $1 answered $non2xx non-2xx responses" >&2
        cat "$work/wrk.out" >&2
        exit 1
    fi
    echo "$rps $p99"
}

port=$(free_port)
export VIC_ADMIN_PASSWORD=bench-password-1
"$BIN/vic-webservice" --home "$work/home" --listen "127.0.0.1:$port" --log-level warn \
    >"$work/ws.out" 2>"$work/ws.err" &
ws_pid=$!
url="https://127.0.0.1:$port"
for _ in $(seq 100); do curl -skf "$url/container/version" >/dev/null && break; sleep 0.1; done
idle_rss=$(rss_kb "$ws_pid")
idle_anon=$(anon_kb "$ws_pid")
idle_pss=$(pss_kb "$ws_pid")
basic="Authorization: Basic $(printf 'admin:%s' "$VIC_ADMIN_PASSWORD" | base64)"

echo "bench: vic-webservice version" >&2
read -r v_rps v_p99 < <(run_wrk "$url/container/version")
echo "bench: vic-webservice hello with Basic" >&2
read -r h_rps h_p99 < <(run_wrk "$url/container/hello" "$basic")
echo "bench: vic-webservice session with Basic" >&2
read -r s_rps s_p99 < <(run_wrk "$url/container/session" "$basic")
load_rss=$(rss_kb "$ws_pid")
peak_rss=$(hwm_kb "$ws_pid")

# The peer: nginx, two workers, the same certificate, the same body.
ng_port=$(free_port)
version=$(curl -skf "$url/container/version")
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$ng_port ssl;
        ssl_certificate $work/home/tls/server-cert.pem;
        ssl_certificate_key $work/home/tls/server-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /container/version { default_type text/plain; return 200 "$version"; }
    }
}
CONF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
ng_pid=$!
for _ in $(seq 100); do curl -skf "https://127.0.0.1:$ng_port/container/version" >/dev/null && break; sleep 0.1; done
echo "bench: nginx version" >&2
read -r n_rps n_p99 < <(run_wrk "https://127.0.0.1:$ng_port/container/version")
ng_rss=$(tree_rss_kb "$ng_pid")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }

cat <<TABLE
## vic-webservice HTTP API (wrk, ${DURATION} s, ${CONNS} connections, 2 threads, TLS)

| request | requests/s | p99 latency | vs nginx |
|---|---:|---:|---:|
| GET /container/version (public) | $v_rps | $v_p99 | $(ratio "$v_rps" "$n_rps") |
| GET /container/hello with Basic | $h_rps | $h_p99 | $(ratio "$h_rps" "$n_rps") |
| GET /container/session with Basic (checked per request) | $s_rps | $s_p99 | $(ratio "$s_rps" "$n_rps") |
| peer: nginx 2 workers, same certificate and body | $n_rps | $n_p99 | 1.00 |

| memory (RSS) | MB |
|---|---:|
| vic-webservice idle after start | $(mb "$idle_rss") |
| of which private (RssAnon): heap, stacks, connection pools | $(mb "$idle_anon") |
| of which shared library pages (libcrypto, GnuTLS, libc, sqlite...) | $(mb "$((idle_rss - idle_anon))") |
| vic-webservice idle, proportional (PSS) | $(mb "$idle_pss") |
| vic-webservice after the runs | $(mb "$load_rss") |
| vic-webservice peak (VmHWM) | $(mb "$peak_rss") |
| nginx master + 2 workers after its run | $(mb "$ng_rss") |

Target (issue 3): at least 30,000 requests/s for version, RSS under 10 MB.
TABLE
