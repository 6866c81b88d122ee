#!/usr/bin/env bash
# Assembles the served web UI directory: ui-assets/ as it is, plus vendor/ with the files the
# pages use from node_modules (Clarity's CSS, the Clarity City font). Without node_modules the
# UI still works, unstyled: vendor/ then holds empty placeholders and a warning is printed.
#   mk/ui.sh OUTDIR
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
tmp="$out.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/vendor"
cp -p ui-assets/*.* "$tmp/"

vendor=(
    "node_modules/@clr/ui/clr-ui.min.css"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Regular.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Medium.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-SemiBold.woff2"
    "node_modules/@cds/city/Webfonts/WOFF2/ClarityCity-Bold.woff2"
)
missing=0
for f in "${vendor[@]}"; do
    if [ -f "$f" ]; then
        cp -p "$f" "$tmp/vendor/"
    else
        missing=1
        : >"$tmp/vendor/$(basename "$f")"
    fi
done
for f in node_modules/@clr/ui/LICENSE node_modules/@cds/city/LICENSE; do
    [ -f "$f" ] && cp -p "$f" "$tmp/vendor/$(basename "$(dirname "$f")")-LICENSE.txt"
done
if [ $missing -eq 1 ]; then
    echo "ui: WARNING: node_modules lacks @clr/ui or @cds/city (run make deps): the web UI" \
        "is built unstyled" >&2
fi
rm -rf "$out"
mv "$tmp" "$out"
