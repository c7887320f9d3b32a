#!/usr/bin/env python3
"""Import cycles between tconnectsync's modules (for the architecture notes; not a test).

    python scripts/import_cycles.py [--all]

Counts module-level imports (what Python runs at import time); with --all, imports inside
functions too (the deferred ones that hide a cycle). Prints each strongly connected group of
modules that import each other, and the number of groups.
"""
import ast
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PKG = "tconnectsync"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path, name, everywhere):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    nodes = ast.walk(tree) if everywhere else tree.body
    out = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith(PKG))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith(PKG):
                # "from pkg import mod" imports the module mod; "from mod import name" the module.
                out.update((target + "." + a.name) if (target + "." + a.name) in MODULES else target
                           for a in node.names)
    return out


MODULES = {}


def main():
    everywhere = "--all" in sys.argv
    files = {module_name(p): p for p in (ROOT / PKG).rglob("*.py")}
    MODULES.update(files)
    graph = {m: {t for t in imports(p, m, everywhere) if t in files and t != m} for m, p in files.items()}
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):                      # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    for g in groups:
        print("cycle: " + " <-> ".join(g))
    print("%d import cycle group%s (%s imports)" % (len(groups), "" if len(groups) == 1 else "s",
                                                   "all" if everywhere else "module-level"))


if __name__ == "__main__":
    main()
