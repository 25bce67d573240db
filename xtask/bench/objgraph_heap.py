"""Python's objgraph on the heap of crates/objgraph/benches/heap.rs.

100,000 parents, each with a list of 9 children pointing back at the parent: 1,000,000
GC-tracked objects (parents and children use __slots__; each parent's list is tracked too,
so parents hold 8 children here and the lists make up the difference).
Prints one JSON object per line: {"shape": ..., "ms": ..., "objects": ...}, medians of 5 runs.
"""
import gc
import io
import json
import statistics
import time

import objgraph

PARENTS = 100_000
CHILDREN = 8
RUNS = 5


class Parent:
    __slots__ = ("children", "__weakref__")


class Child:
    __slots__ = ("parent", "__weakref__")


def build(parents):
    out = []
    for _ in range(parents):
        parent = Parent()
        parent.children = []
        for _ in range(CHILDREN):
            child = Child()
            child.parent = parent
            parent.children.append(child)
        out.append(parent)
    return out


def median_ms(f):
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        f()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def main():
    parents = build(PARENTS)
    gc.collect()
    objects = len(gc.get_objects())
    target = parents[PARENTS // 2].children[0]
    objgraph.show_growth(file=io.StringIO())
    extra = []

    def show_growth():
        extra.append(build(100))
        objgraph.show_growth(file=io.StringIO())

    results = [
        ("show_growth", median_ms(show_growth)),
        ("most_common_types", median_ms(lambda: objgraph.most_common_types(limit=10))),
        ("show_backrefs_depth3", median_ms(lambda: objgraph.show_backrefs([target], max_depth=3, output=io.StringIO()))),
        ("find_backref_chain", median_ms(lambda: objgraph.find_backref_chain(target, objgraph.is_proper_module))),
    ]
    for shape, ms in results:
        print(json.dumps({"shape": shape, "ms": round(ms, 2), "objects": objects}))


main()
