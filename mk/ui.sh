#!/usr/bin/env bash
# Assembles the served web UI directory: ui-assets/ as it is, plus vendor/ with the files the
# pages use from node_modules (Clarity's CSS, the Clarity City font). Fails, building nothing,
# when one of them is missing (mk/npm.sh, run by make deps, installs them).
#   mk/ui.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1

vendor=(
    "node_modules/@clr/ui/clr-ui.min.css"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Regular.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Medium.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-SemiBold.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Bold.woff2"
)
missing=()
for f in "${vendor[@]}"; do
    [ -s "$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -ne 0 ]; then
    echo "ui: missing Clarity assets: ${missing[*]}" >&2
    echo "ui: install the UI's npm packages first: mk/npm.sh (or make deps)" >&2
    exit 1
fi

tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/vendor"
cp -p ui-assets/*.* "$tmp/"
cp -p "${vendor[@]}" "$tmp/vendor/"
for f in node_modules/@clr/ui/LICENSE node_modules/@cds/city/LICENSE; do
    [ -f "$f" ] && cp -p "$f" "$tmp/vendor/$(basename "$(dirname "$f")")-LICENSE.txt"
done
rm -rf "$out"
mv "$tmp" "$out"
