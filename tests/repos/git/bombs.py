"""Hostile trees built from a handful of objects (tests only).

`tree_bomb` writes `levels` trees of `fanout` entries that all point at the tree below: 13
objects describe fanout**levels files. Written with pygit2 straight into a repository's object
database, as a crafted push would deliver them.
"""
from __future__ import annotations

import time

import pygit2
from pygit2.enums import FileMode


def tree_bomb(raw: pygit2.Repository, *, levels: int = 10, fanout: int = 10) -> pygit2.Oid:
    """The id of the top tree: fanout**levels paths of the same small blob."""
    blob = raw.create_blob(b"boom\n")
    builder = raw.TreeBuilder()
    for i in range(fanout):
        builder.insert(f"f{i}.txt", blob, FileMode.BLOB)
    tree = builder.write()
    for _level in range(levels - 1):
        builder = raw.TreeBuilder()
        for i in range(fanout):
            builder.insert(f"d{i}", tree, FileMode.TREE)
        tree = builder.write()
    return tree


def deep_tree(raw: pygit2.Repository, *, depth: int) -> pygit2.Oid:
    """One file at the bottom of `depth` nested folders."""
    builder = raw.TreeBuilder()
    builder.insert("leaf.txt", raw.create_blob(b"leaf\n"), FileMode.BLOB)
    tree = builder.write()
    for _level in range(depth):
        builder = raw.TreeBuilder()
        builder.insert("d", tree, FileMode.TREE)
        tree = builder.write()
    return tree


def commit_tree(raw: pygit2.Repository, tree: pygit2.Oid, *, parents: list[str] | None = None) -> str:
    """A commit of `tree` (not on any ref)."""
    sig = pygit2.Signature("Mallory", "mallory@example.com", int(time.time()), 0)
    return str(raw.create_commit(None, sig, sig, "bomb", tree, [pygit2.Oid(hex=p) for p in parents or []]))
