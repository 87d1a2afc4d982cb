#!/usr/bin/env python3
"""Checks that the documentation's links and paths resolve (run by `make test`; under a second).

In README.md, docs/*.md, kernels/README.md and bench/*.md:
- every relative Markdown link [text](path) names a file or folder that exists, and its #anchor,
  if any, a heading of that Markdown file (GitHub's slugs: lower case, punctuation dropped,
  spaces as hyphens);
- every path in backticks that starts with a top-level folder of the repository (bench/, docs/,
  scripts/, kernels/, java/, native/, tools/, bin/, .ci/) exists, relative to the root or to the
  document's folder. Templates are skipped: paths with <...>, NAME, *, {...} or $.
Prints one line per broken link or path and exits 1 if there is any; else prints the counts.

Usage: python3 scripts/doc-links.py [ROOT]   (default: the repository holding this script)
"""
import glob
import os
import re
import sys

TOP = ("bench/", "docs/", "scripts/", "kernels/", "java/", "native/", "tools/", "bin/", ".ci/")


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found, fenced = set(), False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    fenced = not fenced
                elif not fenced and re.match(r"#+ ", line):
                    found.add(slug(re.sub(r"^#+ ", "", line.rstrip("\n"))))
        cache[path] = found
    return cache[path]


def check(root):
    docs = ["README.md", "kernels/README.md"] + sorted(glob.glob("bench/*.md", root_dir=root)) \
        + sorted(glob.glob("docs/*.md", root_dir=root))
    problems, links, paths = [], 0, 0
    for doc in docs:
        base = os.path.dirname(doc)
        with open(os.path.join(root, doc), encoding="utf-8") as f:
            lines = f.read().split("\n")
        fenced = False
        for n, line in enumerate(lines, 1):
            if line.startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                for m in re.finditer(r"\]\(([^)\s]+)\)", line):
                    target = m.group(1)
                    if re.match(r"[a-z]+:", target):
                        continue
                    links += 1
                    path, _, anchor = target.partition("#")
                    rel = os.path.normpath(os.path.join(base, path)) if path else doc
                    full = os.path.join(root, rel)
                    if not os.path.exists(full):
                        problems.append(f"{doc}:{n}: link to {target}: no {rel}")
                    elif anchor and rel.endswith(".md") and anchor not in anchors(full):
                        problems.append(f"{doc}:{n}: link to {target}: {rel} has no heading #{anchor}")
            for m in re.finditer(r"`([^`]+)`", line):
                for word in re.split(r"[\s,]+", m.group(1)):
                    word = word.strip("'\",;:()[]")
                    if not word.startswith(TOP) or re.search(r"<|>|NAME|\*|\{|\$|\.\.\.", word):
                        continue
                    word = word.split("#")[0].rstrip(".")
                    paths += 1
                    if not (os.path.exists(os.path.join(root, word))
                            or os.path.exists(os.path.join(root, base, word))):
                        problems.append(f"{doc}:{n}: path {word} does not exist")
    return problems, links, paths, len(docs)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems, links, paths, docs = check(root)
    for p in problems:
        print(f"doc-links: {p}", file=sys.stderr)
    if problems:
        print(f"doc-links: {len(problems)} broken link(s) or path(s) in the documentation", file=sys.stderr)
        return 1
    print(f"doc-links: {links} links and {paths} paths in {docs} documents resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
