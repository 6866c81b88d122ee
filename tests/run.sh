#!/usr/bin/env bash
# Runs every suite against the sanitizer build (make test calls this after building it):
# unit tests (cmocka, ASan+UBSan+LeakSanitizer), integration tests (pytest against the real
# binaries), security tests (tests/security: each replays an attack against the real binaries),
# the compatibility suite against a VCH (tests/compat),
# browser tests (tests/browser/run.mjs: chromium driven by playwright-core), a short libFuzzer
# pass over each harness, the format check and the include cycle check (mk/cycles.py).
# Ends with one summary line; exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT=${VIC_TEST_OUT:-tests/out}
FUZZ_SECONDS=${VIC_FUZZ_SECONDS:-15}
mkdir -p "$OUT"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export VIC_BIN_DIR=${VIC_BIN_DIR:-$PWD/build-san/bin}

declare -a failed=()
unit_pass=0 unit_total=0

section() { printf '\n== %s\n' "$*"; }

section "unit tests (ASan + UBSan)"
for t in $(find build-san -path '*/tests/test_*' -type f -perm -u+x | sort); do
    name=${t#build-san/}
    unit_total=$((unit_total + 1))
    log="$OUT/unit-$(echo "$name" | tr / -).log"
    timeout 300 "$t" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        unit_pass=$((unit_pass + 1))
        printf '  ok    %s (%s)\n' "$name" "$(grep -o '[0-9]* test(s) run' "$log" | head -1)"
    elif [ $rc -eq 77 ]; then
        unit_total=$((unit_total - 1))
        printf '  skip  %s (%s)\n' "$name" "$(tail -1 "$log")"
    else
        failed+=("unit:$name")
        printf '  FAIL  %s (log: %s)\n' "$name" "$log"
        grep -E 'FAILED|ERROR|LINE|Sanitizer|runtime error' "$log" | head -20 | sed 's/^/        /'
    fi
done

section "integration tests (pytest)"
integ="skipped"
if [ -d tests/integration ]; then
    if /usr/bin/python3 -m pytest -q -p no:cacheprovider -p timeout tests/integration \
        --junitxml="$OUT/integration.xml" 2>&1 | tee "$OUT/integration.log" | tail -n 25; then
        integ=$(grep -Eo '[0-9]+ passed' "$OUT/integration.log" | tail -1)
    else
        failed+=("integration")
        integ="FAILED ($(grep -Eo '[0-9]+ (failed|error)' "$OUT/integration.log" | tail -1))"
    fi
fi

section "security tests (pytest: each replays an attack)"
secur="skipped"
if [ -d tests/security ]; then
    if /usr/bin/python3 -m pytest -q -p no:cacheprovider -p timeout tests/security \
        --junitxml="$OUT/security.xml" 2>&1 | tee "$OUT/security.log" | tail -n 25; then
        secur=$(grep -Eo '[0-9]+ passed' "$OUT/security.log" | tail -1)
    else
        failed+=("security")
        secur="FAILED ($(grep -Eo '[0-9]+ (failed|error)' "$OUT/security.log" | tail -1))"
    fi
fi

section "compatibility suite against a VCH (tests/compat; make compat adds Docker Engine)"
compat="skipped"
if [ -d tests/compat ]; then
    # the suite creates its own VCH when DOCKER_HOST is unset; never dockerd here
    if env -u DOCKER_HOST -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH COMPAT_ENGINE=vch \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider -p timeout --timeout 120 tests/compat \
        --junitxml="$OUT/compat.xml" 2>&1 | tee "$OUT/compat.log" | tail -n 25; then
        compat="$(grep -Eo '[0-9]+ passed' "$OUT/compat.log" | tail -1)"
        [ -n "$compat" ] || compat="skipped ($(tail -1 "$OUT/compat.log"))"
        xf=$(grep -Eo '[0-9]+ xfailed' "$OUT/compat.log" | tail -1)
        [ -n "$xf" ] && compat="$compat, $xf as known differences"
    else
        failed+=("compat")
        compat="FAILED ($(grep -Eo '[0-9]+ (failed|error)' "$OUT/compat.log" | tail -1))"
    fi
fi

section "browser tests (chromium)"
browser="skipped"
if command -v node >/dev/null 2>&1; then
    timeout 300 node tests/browser/run.mjs >"$OUT/browser.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        browser=$(grep -Eo '[0-9]+ checks passed in [0-9.]+s' "$OUT/browser.log" | tail -1)
        printf '  ok    %s\n' "$browser"
    elif [ $rc -eq 77 ]; then
        browser="skipped ($(tail -1 "$OUT/browser.log"))"
        printf '  skip  %s\n' "$(tail -1 "$OUT/browser.log")"
    else
        browser="FAILED"
        failed+=("browser")
        printf '  FAIL  (log: %s)\n' "$OUT/browser.log"
        grep -E 'FAIL|assertion|Error' "$OUT/browser.log" | head -10 | sed 's/^/        /'
    fi
else
    browser="skipped (node not installed)"
    printf '  skip  node not installed\n'
fi

section "fuzz smoke (${FUZZ_SECONDS}s per harness)"
fuzz_pass=0 fuzz_total=0
for f in $(find build-fuzz/fuzz -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x 2>/dev/null | sort); do
    name=$(basename "$f")
    fuzz_total=$((fuzz_total + 1))
    corpus=$(mktemp -d)
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
    log="$OUT/fuzz-$name.log"
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    if "$f" "${dict[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix="$OUT/$name-" "$corpus" >"$log" 2>&1; then
        fuzz_pass=$((fuzz_pass + 1))
        printf '  ok    %s (%s)\n' "$name" "$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1)"
    else
        failed+=("fuzz:$name")
        printf '  FAIL  %s (log: %s)\n' "$name" "$log"
        grep -E 'ERROR|SUMMARY|artifact' "$log" | head -5 | sed 's/^/        /'
    fi
    rm -rf "$corpus"
done

section "format (clang-format)"
fmt="ok"
if ! make --no-print-directory format-check >"$OUT/format.log" 2>&1; then
    fmt="FAILED"
    failed+=("format")
    head -20 "$OUT/format.log"
fi

section "include cycles (mk/cycles.py)"
cyc="ok"
if ! /usr/bin/python3 mk/cycles.py >"$OUT/cycles.log" 2>&1; then
    cyc="FAILED"
    failed+=("cycles")
    head -40 "$OUT/cycles.log"
fi

echo
if [ ${#failed[@]} -eq 0 ]; then
    echo "TEST SUMMARY: PASS: unit $unit_pass/$unit_total suites, integration $integ, security $secur, compat $compat, browser $browser, fuzz $fuzz_pass/$fuzz_total harnesses, format $fmt, cycles $cyc"
    exit 0
fi
echo "TEST SUMMARY: FAIL (${failed[*]}): unit $unit_pass/$unit_total suites, integration $integ, security $secur, compat $compat, browser $browser, fuzz $fuzz_pass/$fuzz_total harnesses, format $fmt, cycles $cyc"
exit 1
