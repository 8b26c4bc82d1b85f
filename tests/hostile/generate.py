#!/usr/bin/env python3
"""Regenerates the committed part of the hostile-input corpus (tests/integration/hostile.rs runs
labctl on every case). Labs are tests/labs-ok/minimal with one hostile change; rosters,
snapshots and state files are small files with hostile content. Special files (FIFOs, symlinks
to devices, directories in place of files) and huge files are made by the test at run time,
not committed. Run from anywhere; the output is deterministic."""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "labs-ok", "minimal")


def read(rel):
    with open(os.path.join(BASE, rel), "rb") as f:
        return f.read()


LAB = read("lab.yaml")
VARS_AT = b"variables:\n"
MATCH_AT = b"          match:\n            metadata:\n"


def add_vars(text):
    return LAB.replace(VARS_AT, VARS_AT + text, 1)


def chain(prefix, depth, leaf):
    """`prefix0: "{{ prefix1 }}{{ prefix1 }}"` … doubling at each level down to a leaf."""
    out = b""
    for i in range(depth):
        out += f'  {prefix}{i}:\n    default: "{{{{ {prefix}{i + 1} }}}}{{{{ {prefix}{i + 1} }}}}"\n'.encode()
    out += f"  {prefix}{depth}:\n    default: {leaf}\n".encode()
    return out


ALIASES = b"".join(
    f"            l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n".encode()
    for i in range(10)
)

LABS = {
    # 2^40 copies of "x": a terabyte if expanded.
    "expansion-bomb": {"lab.yaml": add_vars(chain("e", 40, "x"))},
    "default-cycle": {"lab.yaml": add_vars(b'  blockedHost:\n    default: "{{ blockedHost }}.x"\n')},
    "profile-cycle": {
        "lab.yaml": add_vars(b'  first:\n    default: one\n  second:\n    default: "{{ first }}-2"\n').replace(
            b"  kind: {}\n", b'  kind:\n    variables:\n      first: "{{ second }}-k"\n'
        )
    },
    # Each value fits (64 KiB), but 80 of them pasted into one step's Markdown (5 MiB) do not.
    "text-bomb": {
        "lab.yaml": add_vars(chain("h", 15, "xx")),
        "steps/01-onboard.md": read("steps/01-onboard.md") + b"\n" + b"{{ h0 }}\n" * 80,
    },
    # The billion laughs, in a field that takes any YAML.
    "alias-bomb": {"lab.yaml": LAB.replace(MATCH_AT, b"          match:\n" + ALIASES + b"            metadata:\n", 1)},
    "deep-nesting": {"lab.yaml": LAB.replace(MATCH_AT, b"          match:\n            deep: " + b"[" * 500 + b"]" * 500 + b"\n            metadata:\n", 1)},
    "tab-indent": {"lab.yaml": LAB.replace(b"    title: Onboard the namespace\n", b"\ttitle: Onboard the namespace\n", 1)},
    "latin1-lab": {"lab.yaml": LAB.replace(b"title: A minimal lab", b"title: Un caf\xe9 minimal", 1)},
    "invalid-utf8-markdown": {"steps/01-onboard.md": read("steps/01-onboard.md") + b"\nbroken \xff\xfe bytes\n"},
    "binary-markdown": {"steps/01-onboard.md": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"},
    # A key with a terminal escape (set the window title, ring the bell) in it.
    "terminal-escapes": {"lab.yaml": LAB.replace(b"    checks:\n      - id: namespace-labelled", b"    che\x1b]0;pwned\x07cks:\n      - id: namespace-labelled", 1)},
}

ROSTER_HEAD = b"lab: minimal\nlearners:\n"
ROSTERS = {
    "alias-bomb.yaml": b"lab: minimal\nvariables:\n" + ALIASES.replace(b"            ", b"  ") + b"learners:\n  - { name: a, snapshot: a.json }\n",
    "deep-nesting.yaml": ROSTER_HEAD + b"  - " + b"[" * 500 + b"]" * 500 + b"\n",
    "latin1.yaml": ROSTER_HEAD + b"  - { name: ren\xe9, snapshot: a.json }\n",
    "binary.yaml": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00",
}

SNAPSHOTS = {
    "deep-nesting.json": b'{"snapshotVersion": 1, "lists": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
    "latin1.json": b'{"snapshotVersion": 1, "lab": "min\xe9mal"}\n',
    "binary.json": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
}

STATES = {
    "deep-nesting.json": b'{"stateVersion": 1, "lab": ' + b"[" * 5000 + b"]" * 5000 + b"}\n",
    "latin1.json": b'{"stateVersion": 1, "lab": "min\xe9mal"}\n',
    "binary.json": b"\x00\x00\x00\x00SQLite format 3\x00",
}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    for sub in ["labs", "rosters", "snapshots", "state"]:
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
    for name, files in LABS.items():
        root = os.path.join(HERE, "labs", name)
        base = {"lab.yaml": LAB, "steps/01-onboard.md": read("steps/01-onboard.md"), "steps/02-cleanup.md": read("steps/02-cleanup.md")}
        base.update(files)
        for rel, data in base.items():
            if rel == "lab.yaml":
                data = data.replace(b"name: minimal", b"name: " + name.encode(), 1)
            write(os.path.join(root, rel), data)
    for group, files in [("rosters", ROSTERS), ("snapshots", SNAPSHOTS), ("state", STATES)]:
        for name, data in files.items():
            write(os.path.join(HERE, group, name), data)
    print(f"{len(LABS)} labs, {len(ROSTERS)} rosters, {len(SNAPSHOTS)} snapshots, {len(STATES)} state files")
