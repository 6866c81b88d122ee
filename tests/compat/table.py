"""Prints the compatibility suite's results side by side: one row per test (VCH, Docker
Engine), then the tests whose results differ, with the VCH's reason.

    /usr/bin/python3 tests/compat/table.py VCH.json DOCKER.json

Each file is what the suite wrote to COMPAT_RESULTS ({test: [outcome, reason]}); a missing
or unreadable file reads as "not run". Exits 1 when a test fails against Docker Engine (the
suite is written to pass there) or fails unmarked against the VCH, else 0.
"""

import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    vch, dock = load(argv[1]), load(argv[2])
    names = sorted(set(vch) | set(dock))
    width = max([len(n) for n in names] + [4])
    print("%-*s  %-6s  %-6s" % (width, "test", "VCH", "Docker"))
    print("%s  %s  %s" % ("-" * width, "-" * 6, "-" * 6))
    differ = []
    for n in names:
        v = vch.get(n, ["not run", ""])
        d = dock.get(n, ["not run", ""])
        mark = "" if v[0] == d[0] else "  <- differs"
        print("%-*s  %-6s  %-6s%s" % (width, n, v[0], d[0], mark))
        if v[0] != d[0]:
            differ.append((n, v, d))
    print()
    print("%d tests; %d differ%s" % (len(names), len(differ), ":" if differ else ""))
    for n, v, d in differ:
        why = v[1] or d[1]
        print("  %s: VCH %s, Docker %s%s" % (n, v[0], d[0], " (%s)" % why if why else ""))
    bad = [n for n in names if dock.get(n, ["not run"])[0] not in ("pass",)] + \
        [n for n in names if vch.get(n, ["not run"])[0] in ("FAIL", "error", "not run")]
    if not names:
        print("no results")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
