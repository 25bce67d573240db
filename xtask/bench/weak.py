"""CPython's weakref containers on the shapes of crates/weak-collections/benches/weak.rs.

Prints one JSON object per line: {"shape": ..., "ns_per_entry": ...}, medians of 5 runs.
Node uses __slots__ (with __weakref__) so that each node is one GC-tracked object, as in
the Rust benchmark. The cycle collector is off while timing, as no collection runs on the
Rust side either.
"""
import gc
import json
import statistics
import time
import weakref

N = 1_000_000
RUNS = 5


class Node:
    __slots__ = ("next", "value", "__weakref__")

    def __init__(self, value):
        self.next = None
        self.value = value


def nodes():
    return [Node(value) for value in range(N)]


def timed(f):
    start = time.perf_counter_ns()
    result = f()
    return result, (time.perf_counter_ns() - start) / N


def value_dict(results):
    values = nodes()

    def insert():
        d = weakref.WeakValueDictionary()
        for key, node in enumerate(values):
            d[key] = node
        return d

    d, results["value_dict_insert"] = timed(insert)
    _, results["value_dict_lookup"] = timed(lambda: sum(d[key].value for key in range(N)))
    _, results["value_dict_iterate"] = timed(lambda: sum(node.value for node in d.values()))
    holder = [values]
    del values
    _, results["value_dict_death"] = timed(holder.clear)
    left, then_len = timed(lambda: len(d))
    assert left == 0
    results["value_dict_death_then_len"] = results["value_dict_death"] + then_len


def key_dict(results):
    keys = nodes()

    def insert():
        d = weakref.WeakKeyDictionary()
        for node in keys:
            d[node] = node.value
        return d

    d, results["key_dict_insert"] = timed(insert)
    _, results["key_dict_lookup"] = timed(lambda: sum(d[node] for node in keys))
    _, results["key_dict_iterate"] = timed(lambda: sum(node.value for node in d.keys()))
    holder = [keys]
    del keys
    _, results["key_dict_death"] = timed(holder.clear)
    left, then_len = timed(lambda: len(d))
    assert left == 0
    results["key_dict_death_then_len"] = results["key_dict_death"] + then_len


def weak_set(results):
    members = nodes()

    def insert():
        s = weakref.WeakSet()
        for node in members:
            s.add(node)
        return s

    s, results["weak_set_insert"] = timed(insert)
    _, results["weak_set_lookup"] = timed(lambda: sum(1 for node in members if node in s))
    _, results["weak_set_iterate"] = timed(lambda: sum(node.value for node in s))
    holder = [members]
    del members
    _, results["weak_set_death"] = timed(holder.clear)
    left, then_len = timed(lambda: len(s))
    assert left == 0
    results["weak_set_death_then_len"] = results["weak_set_death"] + then_len


def main():
    gc.disable()
    samples = {}
    for _ in range(RUNS):
        results = {}
        value_dict(results)
        key_dict(results)
        weak_set(results)
        for shape, ns in results.items():
            samples.setdefault(shape, []).append(ns)
    for shape, values in samples.items():
        print(json.dumps({"shape": shape, "ns_per_entry": round(statistics.median(values), 2)}))


if __name__ == "__main__":
    main()
