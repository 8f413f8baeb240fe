#!/usr/bin/env python3
"""Layering check: each library includes only headers of libraries it links (directly or transitively),
and never another library's detail/ headers. Input: the map cmake/Layering.cmake generates, one library a
line: name, source dir, sources (;-separated), direct links (;-separated). One line per violation; exit 1."""
import os
import re
import sys
from collections import defaultdict

ROOTS = ("models/", "data/", "probes/", "analysis/", "app/")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def owner_dir(rel):
    """The folder whose library owns a header: detail/ headers belong to the folder above."""
    d = os.path.dirname(rel)
    return os.path.dirname(d) if os.path.basename(d) == "detail" else d


def main(src, table):
    libs = {}  # name -> (dir relative to src, [source files relative to src], [direct links])
    for line in open(table, encoding="utf-8"):
        if not line.strip():
            continue
        name, d, sources, links = (line.rstrip("\n").split("\t") + ["", ""])[:4]
        rel_dir = os.path.relpath(d, src)
        files = []
        for s in filter(None, sources.split(";")):
            p = os.path.normpath(os.path.join(d, s))
            if p.startswith(src + os.sep) and os.path.isfile(p):
                files.append(os.path.relpath(p, src))
        libs[name] = (rel_dir, files, [l for l in links.split(";") if l])

    by_dir = defaultdict(list)
    for name, (d, _, _) in libs.items():
        by_dir[d].append(name)

    def owners(rel):
        """Libraries that own a header: the one library of its folder, else those with a same-stem source."""
        cands = by_dir.get(owner_dir(rel), [])
        if len(cands) <= 1:
            return set(cands)
        stem = os.path.splitext(os.path.basename(rel))[0]
        same = {n for n in cands if any(os.path.splitext(os.path.basename(f))[0] == stem for f in libs[n][1])}
        return same or set(cands)

    def closure(name):
        seen, todo = set(), [name]
        while todo:
            for dep in libs[todo.pop()][2]:
                if dep in libs and dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    headers = []
    for top in ROOTS:
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            headers += [os.path.relpath(os.path.join(dirpath, n), src) for n in names if n.endswith(".h")]
    scanned = defaultdict(set)  # library -> files whose includes it answers for
    for name, (_, files, _) in libs.items():
        scanned[name].update(files)
    for h in headers:
        for name in owners(h):
            scanned[name].add(h)

    problems = []
    for name in sorted(libs):
        reach = closure(name)
        for f in sorted(scanned[name]):
            for lineno, text in enumerate(open(os.path.join(src, f), encoding="utf-8", errors="replace"), 1):
                m = INCLUDE.match(text)
                if not m or not m.group(1).startswith(ROOTS) or not os.path.isfile(os.path.join(src, m.group(1))):
                    continue
                inc = m.group(1)
                own = owners(inc)
                where = f"{f}:{lineno}: {name} includes \"{inc}\""
                if name in own:
                    continue
                if not own:
                    problems.append(f"{where}, which belongs to no library")
                elif "/detail/" in inc:
                    problems.append(f"{where}, an internal header of {' or '.join(sorted(own))}")
                elif not own & reach:
                    problems.append(f"{where} but does not link {' or '.join(sorted(own))}")
    for p in problems:
        print(p)
    print(f"layering: {len(libs)} libraries, {sum(len(v) for v in scanned.values())} files, "
          f"{len(problems)} violation(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(os.path.realpath(sys.argv[1]), sys.argv[2]))
