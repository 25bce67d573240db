"""CPython's pauses on the program of crates/gen-gc/benches/pauses.rs.

An old generation of 10^6 or 10^7 live objects (a chain built backwards, held by its last
node; a random binary tree built from its leaves up, held by its root; a dict of entries
each holding one more object), then a churn of
short-lived objects, one in ten a self-cycle; automatic collection on; gc.callbacks time
each collection, in wall-clock time (perf_counter) and in the thread's CPU time
(thread_time). Prints one JSON object per heap: {"shape", "max_ms", "p99_ms", "max_cpu_ms",
"p99_cpu_ms", "total_ms", "wall_ms", "collections"}. `--sizes 1e6` runs the smaller heaps only.
"""
import gc
import json
import sys
import time

from collect import Node, backward_chain, random_tree

CHURN = 3_000_000


def hashed_cache(n):
    # A dict of n / 2 entries, each holding one more object (the Rust side's HashMap).
    cache = {}
    for key in range(n // 2):
        entry = Node()
        entry.next = Node()
        cache[key] = entry
    return cache


def churn():
    for i in range(CHURN):
        obj = Node()
        if i % 10 == 0:
            obj.next = obj


def run(build):
    pauses = []
    cpu_pauses = []
    started = [0, 0]

    def callback(phase, info):
        if phase == "start":
            started[0] = time.perf_counter_ns()
            started[1] = time.thread_time_ns()
        else:
            pauses.append(time.perf_counter_ns() - started[0])
            cpu_pauses.append(time.thread_time_ns() - started[1])

    gc.callbacks.append(callback)
    gc.enable()
    start = time.perf_counter_ns()
    old = build()
    churn()
    wall = time.perf_counter_ns() - start
    gc.disable()
    gc.callbacks.remove(callback)
    del old
    gc.collect()
    pauses.sort()
    cpu_pauses.sort()
    n = len(pauses)
    return {
        "max_ms": round(pauses[-1] / 1e6, 3) if pauses else 0,
        "p99_ms": round(pauses[n * 99 // 100] / 1e6, 3) if pauses else 0,
        "max_cpu_ms": round(cpu_pauses[-1] / 1e6, 3) if pauses else 0,
        "p99_cpu_ms": round(cpu_pauses[n * 99 // 100] / 1e6, 3) if pauses else 0,
        "total_ms": round(sum(pauses) / 1e6, 1),
        "wall_ms": round(wall / 1e6, 1),
        "collections": n,
    }


def main():
    sizes = [1_000_000, 10_000_000]
    if "--sizes" in sys.argv:
        sizes = [int(float(s)) for s in sys.argv[sys.argv.index("--sizes") + 1].split(",")]
    gc.disable()
    gc.collect()
    for size in sizes:
        exponent = round(len(str(size)) - 1)
        shapes = (("backward_chain", backward_chain), ("random_tree", random_tree), ("hashed_cache", hashed_cache))
        for shape, build in shapes:
            result = run(lambda: build(size))
            print(json.dumps({"shape": f"{shape}_1e{exponent}", **result}), flush=True)


if __name__ == "__main__":
    main()
