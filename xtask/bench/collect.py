"""CPython's gc.collect() on the shapes of crates/gen-gc/benches/collect.rs.

Prints one JSON object per line: {"shape": ..., "ns_per_object": ...}, medians of 7 runs.
Node uses __slots__ so that each node is one GC-tracked object, as in the Rust benchmark.
"""
import gc
import json
import statistics
import time

N = 1_000_000
RUNS = 7


class Node:
    __slots__ = ("next", "__weakref__")

    def __init__(self):
        self.next = None


def two_cycles():
    for _ in range(N // 2):
        a = Node()
        b = Node()
        a.next = b
        b.next = a
    return None


def ring():
    first = Node()
    last = first
    for _ in range(1, N):
        nxt = Node()
        last.next = nxt
        last = nxt
    last.next = first
    return None


def live():
    nodes = [Node() for _ in range(N)]
    for i in range(0, N, 2):
        nodes[i].next = nodes[i + 1]
    return nodes


def backward_chain(n=N):
    """Each node refers to the node made before it; the last one holds the chain."""
    last = Node()
    for _ in range(1, n):
        nxt = Node()
        nxt.next = last
        last = nxt
    return last


class Tree:
    __slots__ = ("left", "right", "__weakref__")

    def __init__(self, left, right):
        self.left = left
        self.right = right


class Lcg:
    """The generator of crates/gen-gc/benches/collect.rs, so that both build the same tree."""

    def __init__(self, seed):
        self.state = seed

    def below(self, n):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) % (1 << 64) % (1 << 63)
        return (self.state >> 33) % n


def random_tree(n):
    """A random binary tree built from its leaves up (see random_tree in collect.rs)."""
    rng = Lcg(42)
    roots = []

    def take():
        index = rng.below(len(roots))
        roots[index], roots[-1] = roots[-1], roots[index]
        return roots.pop()

    for _ in range(n):
        children = min(rng.below(3), len(roots))
        left = take() if children >= 1 else None
        right = take() if children == 2 else None
        roots.append(Tree(left, right))
    while len(roots) > 1:
        left = take()
        right = take()
        roots.append(Tree(left, right))
    return roots.pop()


def measure(objects, build):
    samples = []
    for _ in range(RUNS):
        keep = build()
        start = time.perf_counter_ns()
        gc.collect()
        samples.append((time.perf_counter_ns() - start) / objects)
        del keep
        gc.collect()
    return statistics.median(samples)


YOUNG = 700
YOUNG_REPEATS = 200


def young_with_old(old):
    """A young collection of 700 objects, timed alone, summed over 200 collections per run."""
    samples = []
    for _ in range(RUNS):
        old_objects = [Node() for _ in range(old)]
        gc.collect()
        gc.collect()
        total = 0
        for _ in range(YOUNG_REPEATS):
            young = [Node() for _ in range(YOUNG)]
            start = time.perf_counter_ns()
            gc.collect(0)
            total += time.perf_counter_ns() - start
            del young
        samples.append(total / (YOUNG * YOUNG_REPEATS))
        del old_objects
    return statistics.median(samples)


def main():
    gc.disable()
    results = [
        ("garbage_2cycles", measure(N, two_cycles)),
        ("garbage_ring", measure(N, ring)),
        ("live", measure(N, live)),
        ("live_backward_chain", measure(N, backward_chain)),
        ("live_random_tree", measure(N, lambda: random_tree(N))),
        ("young_700_old_1e4", young_with_old(10_000)),
        ("young_700_old_1e5", young_with_old(100_000)),
        ("young_700_old_1e6", young_with_old(1_000_000)),
    ]
    for shape, ns in results:
        print(json.dumps({"shape": shape, "ns_per_object": round(ns, 2)}))


if __name__ == "__main__":
    main()
