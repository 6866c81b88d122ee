#!/usr/bin/env bash
# Delegation tokens: verifications per second of a root token (depth 1) and of a grandchild
# (depth 3), each the full path (shape and ES256 pin, signature with the cached key, claims,
# chain and revocation lookup in sqlite), next to `openssl speed ecdsap256` verify/s measured
# in the same run; the raw signature check, libjwt 1.10's jwt_decode (which re-parses the PEM
# key per call) for reference, and redemption throughput (spec check, use consumed, VCH
# recorded, audit row: one sqlite write transaction each). Single thread, like openssl speed.
#
# bench/bench_tokens.c is built by `make bench` (build/bench/bench_tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${BENCH_TOKEN_SECONDS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

BIN=${BENCH_BUILD:-build}/bench/bench_tokens
[ -x "$BIN" ] || make --no-print-directory "$BIN" >&2

echo "bench: openssl speed -seconds $SECONDS_PER ecdsap256" >&2
ossl=$(openssl speed -seconds "$SECONDS_PER" ecdsap256 2>/dev/null |
    awk '/256 bits ecdsa \(nistp256\)/{print $NF}')
echo "bench: bench_tokens $SECONDS_PER" >&2
"$BIN" "$SECONDS_PER" >"$work/out"
get() { awk -F= -v k="$1" '$1==k{print $2}' "$work/out"; }
d1=$(get verify_depth1) d3=$(get verify_depth3) sig=$(get sig_only) jwt=$(get libjwt_decode)
red=$(get redeem)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.0f%%", 100 * a / b; else print "n/a" }'; }

echo "## Delegation tokens (single thread)"
echo
echo "Command: \`bench/bench-tokens.sh\` (BENCH_TOKEN_SECONDS=$SECONDS_PER per figure)."
echo "Target (issue 9): single-token verification at 70% or more of openssl's raw verify rate."
echo
echo "| operation | per second | vs \`openssl speed ecdsap256\` verify |"
echo "|---|---:|---:|"
printf '| openssl speed ecdsap256 verify (peer) | %.0f | 100%% |\n' "$ossl"
printf '| verify, depth 1 (root): signature + claims + chain/revocation lookup | %s | %s |\n' "$d1" "$(ratio "$d1" "$ossl")"
printf '| verify, depth 3 (grandchild): same, three chain lookups | %s | %s |\n' "$d3" "$(ratio "$d3" "$ossl")"
printf '| signature only (SHA-256 + ECDSA, cached key and context) | %s | %s |\n' "$sig" "$(ratio "$sig" "$ossl")"
printf '| libjwt 1.10 jwt_decode with the PEM key (reference) | %s | %s |\n' "$jwt" "$(ratio "$jwt" "$ossl")"
printf '| redemption (spec check, use consumed, VCH recorded, audit) | %s | |\n' "$red"
