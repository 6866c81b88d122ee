#!/usr/bin/python3
"""Fails on an include cycle between the files of one component.

For each component directory (the Makefile's COMPONENTS, or the directories named on the
command line) the graph is: one node per module, x.c and x.h together (files one level
down, e.g. hypervisor/local/, included; tests/ left out), and an edge from a module to each
module of the same component whose header one of its files includes as "comp/...". A cycle
means no order in which the modules could be read (or layered) one after the other.

    mk/cycles.py [COMPONENT...]     exits 1 and names every cycle's files, else 0
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def components():
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    m = re.search(r"^COMPONENTS\s*:=\s*(.*)$", text, re.M)
    return m.group(1).split() if m else []


def sources(comp):
    out = []
    for d, dirs, files in os.walk(os.path.join(ROOT, comp)):
        rel = os.path.relpath(d, ROOT)
        depth = rel.count("/")
        dirs[:] = [x for x in dirs if x != "tests" and depth < 1]
        out += [os.path.join(rel, f) for f in files if f.endswith((".c", ".h"))]
    return sorted(out)


def graph(comp):
    """{module: {module it includes: [(file, line number), ...]}}"""
    edges = {}
    for path in sources(comp):
        node = path[:-2]
        edges.setdefault(node, {})
        with open(os.path.join(ROOT, path), errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m or not m.group(1).startswith(comp + "/"):
                    continue
                target = re.sub(r"\.[ch]$", "", m.group(1))
                if target != node and os.path.exists(os.path.join(ROOT, m.group(1))):
                    edges[node].setdefault(target, []).append((path, n))
    return edges


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan), each as a list
    of modules in a cycle order."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def one_cycle(edges, scc):
    """A shortest path from the component's first module back to itself within scc."""
    start, members = scc[0], set(scc)
    prev, queue = {start: None}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges.get(v, {})):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return list(reversed(path)) + [start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return scc


def main(argv):
    found = 0
    for comp in argv[1:] or components():
        if not os.path.isdir(os.path.join(ROOT, comp)):
            continue
        edges = graph(comp)
        for scc in cycles(edges):
            found += 1
            path = one_cycle(edges, scc)
            print("cycles: %s: modules %s include each other:" % (comp, ", ".join(scc)))
            for a, b in zip(path, path[1:]):
                f, n = edges[a][b][0]
                print("  %s:%d includes %s.h" % (f, n, b))
    if found:
        print("cycles: %d include cycle%s" % (found, "" if found == 1 else "s"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
