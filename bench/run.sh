#!/usr/bin/env bash
# make bench: runs every bench/bench-*.sh and writes their tables to bench/results.md.
# Each script prints a markdown section on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/results.md
tmp=$(mktemp)
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` on $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown);"
    echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/{print $2}') GiB."
    echo "Every figure in a table comes from the same run; ratios compare with the peer measured beside it."
    echo
} >"$tmp"
for b in bench/bench-*.sh; do
    echo "bench: $b" >&2
    bash "$b" >>"$tmp"
    echo >>"$tmp"
done
mv "$tmp" "$out"
echo "bench: results in $out" >&2
cat "$out"
