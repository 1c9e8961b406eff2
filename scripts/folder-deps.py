#!/usr/bin/env python3
"""Which folders of a Swift module use types declared in which other folders.

Prints each folder's dependencies and every pair of folders that use each other. A type
counts as used where its name appears outside comments and string literals. The check fails
(exit 1) when a folder uses one its row in docs/ARCHITECTURE.md ("may use") does not name, or
when two folders use each other and the map does not list the pair under "Allowed cycles" as
`A <-> B`. Usage: folder-deps.py [Sources/KezekCore]
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "Sources/KezekCore"
MAP = "docs/ARCHITECTURE.md"
DECL = re.compile(r"^(?:(?:public|internal|package|private|fileprivate|final|open|indirect)\s+)*"
                  r"(?:class|struct|enum|protocol|actor|typealias)\s+([A-Z]\w*)")
WORD = re.compile(r"\b[A-Z]\w*\b")


def code_only(text):
    text = re.sub(r'"""[\s\S]*?"""', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"/\*[\s\S]*?\*/", "", text)
    return re.sub(r"//[^\n]*", "", text)


def folder_of(path):
    relative = os.path.relpath(path, ROOT)
    return os.path.dirname(relative) or "."


files = {}
for directory, _, names in os.walk(ROOT):
    for name in names:
        if name.endswith(".swift"):
            path = os.path.join(directory, name)
            files[path] = code_only(open(path, encoding="utf-8").read())

owner = {}
for path, text in files.items():
    for line in text.splitlines():
        match = DECL.match(line)
        if match:
            owner.setdefault(match.group(1), folder_of(path))

uses = {}
for path, text in files.items():
    here = folder_of(path)
    for word in set(WORD.findall(text)):
        there = owner.get(word)
        if there and there != here:
            uses.setdefault(here, {}).setdefault(there, set()).add(word)

allowed = set()
if os.path.exists(MAP):
    for a, b in re.findall(r"`(\w+)/? <-> (\w+)/?`", open(MAP, encoding="utf-8").read()):
        allowed.add(frozenset((a, b)))

may_use = {}
if os.path.exists(MAP):
    for folder, allowed_text in re.findall(r"^\| `(\w+)/` \|.*\| ([^|]+) \|$",
                                           open(MAP, encoding="utf-8").read(), re.MULTILINE):
        if "every folder" in allowed_text:
            may_use[folder] = None
        else:
            may_use[folder] = {part.strip().split(" ")[0] for part in allowed_text.split(",")}

bad = 0
for folder in sorted(uses):
    print(f"{folder}/ uses " + ", ".join(f"{other}/ ({len(types)})" for other, types in sorted(uses[folder].items())))
    if folder not in may_use:
        print(f"  {folder}/ has no row in {MAP}")
        bad += 1
    elif may_use[folder] is not None:
        for other, types in sorted(uses[folder].items()):
            if other not in may_use[folder]:
                print(f"  {folder}/ uses {other}/ ({', '.join(sorted(types)[:6])}), which its row does not allow")
                bad += 1

cycles = []
for a in sorted(uses):
    for b in sorted(uses[a]):
        if a < b and a in uses.get(b, {}):
            cycles.append((a, b))
for a, b in cycles:
    note = "allowed by the map" if frozenset((a, b)) in allowed else "NOT EXPLAINED"
    bad += note != "allowed by the map"
    print(f"cycle {a}/ <-> {b}/ ({note}): {a} uses {sorted(uses[a][b])[:6]}; {b} uses {sorted(uses[b][a])[:6]}")
# The map names every source file (a file it does not name is a room nobody can find).
map_text = open(MAP, encoding="utf-8").read() if os.path.exists(MAP) else ""
for top in ("Sources", "Tests/KezekTestSupport"):
    for directory, _, names in os.walk(top):
        for name in names:
            if name.endswith(".swift") and name[:-len(".swift")] not in map_text:
                stem = name[:-len(".swift")]
                extension = "+" + stem.split("+", 1)[1] if "+" in stem else None
                if extension is None or f"`{extension}`" not in map_text:
                    print(f"{os.path.join(directory, name)} is not named in {MAP}")
                    bad += 1
sys.exit(1 if bad else 0)
