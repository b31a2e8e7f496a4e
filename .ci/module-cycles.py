#!/usr/bin/env python3
"""Fails when the module graph of a crate has a cycle.

Nodes are the crate's file modules (`account::model`, `store`, ...). An edge a -> b means a's
non-test code names something from b, through `use crate::...` or an inline `crate::...` path.
A name reached through a `pub use` facade (`crate::account::SocialAccount`) counts as an edge to
the module that defines it (`account::model`), not to the facade, so re-exports alone make no
cycle. Usage: module-cycles.py <crate>/src
"""
import os
import re
import sys

root = sys.argv[1]


def module_of(path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod", "main"):
        rel = rel[:-1]
    return "::".join(rel)


def non_test(text):
    # Drop a trailing test module: `#[cfg(test)]` (or any cfg naming test) `mod tests { ... }`.
    m = re.search(r"^#\[cfg\([^\n]*\btest\b[^\n]*\)\]\s*\n\s*mod \w+\s*\{", text, re.M)
    return text[: m.start()] if m else text


def strip_comments(text):
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


sources = {}
for dirpath, _, files in os.walk(root):
    for f in files:
        if f.endswith(".rs"):
            p = os.path.join(dirpath, f)
            sources[module_of(p)] = strip_comments(non_test(open(p).read()))
# test-only modules (declared `#[cfg(...test...)] mod x;` or `#[cfg(any(test, feature = ...))]`)
# are still modules; they are kept: a cycle through test support is still a cycle.
modules = set(sources)


def expand_use(body):
    """`a::{b::C, d}` -> ['a::b::C', 'a::d'] (one level of nesting is enough here, recursively)."""
    body = body.strip()
    m = re.match(r"^(.*?)\{(.*)\}$", body, re.S)
    if not m:
        return [body.split(" as ")[0].strip()]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += [prefix + q for q in expand_use(p)]
    return out


def uses(mod, text):
    """Paths named by `use` items, made absolute (`crate::...`)."""
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for path in expand_use(m.group(1)):
            path = re.sub(r"\s+", "", path)
            if path.startswith("crate::"):
                yield path
            elif path.startswith("self::"):
                yield "crate::" + (mod + "::" if mod else "") + path[6:]
            elif path.startswith("super::"):
                parent = mod.split("::")[:-1]
                yield "crate::" + "::".join(parent + [path[7:]]) if parent else "crate::" + path[7:]
            else:
                first = path.split("::")[0]
                child = (mod + "::" + first) if mod else first
                if child in modules:  # `use model::X` inside a mod.rs
                    yield "crate::" + child + path[len(first):]


reexports = {}  # (module, name) -> absolute path
for mod, text in sources.items():
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", text):
        for path in expand_use(m.group(1)):
            path = re.sub(r"\s+", "", path)
            name = path.split("::")[-1]
            for absolute in uses(mod, "use " + path + ";"):
                reexports[(mod, name)] = absolute


def resolve(path, seen=0):
    """The module that defines what `crate::...` path names."""
    segs = path.split("::")[1:]
    best = ""
    i = 0
    while i < len(segs) and ("::".join(segs[: i + 1]) in modules):
        i += 1
        best = "::".join(segs[:i])
    if i < len(segs) and (best, segs[i]) in reexports and seen < 10:
        return resolve(reexports[(best, segs[i])], seen + 1)
    return best


edges = {m: set() for m in modules}
for mod, text in sources.items():
    paths = set(uses(mod, text))
    paths |= {m.group(0) for m in re.finditer(r"\bcrate(?:::\w+)+", text)}
    for p in paths:
        target = resolve(p)
        # The crate root and a facade naming its own submodules declare them; they do not depend
        # on them.
        if mod and target and target != mod and not target.startswith(mod + "::"):
            edges[mod].add(target)

# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


for v in sorted(modules):
    if v not in index:
        visit(v)

if sccs:
    for comp in sccs:
        inner = [f"{a} -> {b}" for a in comp for b in sorted(edges[a]) if b in comp]
        print(f"cycle among {', '.join(comp)}:\n  " + "\n  ".join(inner))
    sys.exit(1)
print(f"no module cycle among {len(modules)} modules of {root}")
