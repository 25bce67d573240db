//! Weak containers next to `HashMap` with strong references, 1,000,000 entries, measured in
//! the same run: insert, look up every key, iterate.
//!
//! Run with `cargo bench -p weak-collections --bench containers`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rc_heap::Gc;
use weak_collections::WeakValueDictionary;

const N: u32 = 1_000_000;

fn objects() -> Vec<Gc<u64>> {
    (0..u64::from(N)).map(Gc::new).collect()
}

fn weak_dict(objects: &[Gc<u64>]) -> WeakValueDictionary<u32, u64> {
    let dict = WeakValueDictionary::new();
    for (key, object) in objects.iter().enumerate() {
        dict.insert(key as u32, object);
    }
    dict
}

fn strong_map(objects: &[Gc<u64>]) -> HashMap<u32, Gc<u64>> {
    objects.iter().enumerate().map(|(key, object)| (key as u32, object.clone())).collect()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("value_dict_1m");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    let objs = objects();

    group.bench_function("weak_insert", |b| {
        b.iter_batched(|| (), |()| weak_dict(&objs), BatchSize::PerIteration);
    });
    group.bench_function("strong_insert", |b| {
        b.iter_batched(|| (), |()| strong_map(&objs), BatchSize::PerIteration);
    });

    let dict = weak_dict(&objs);
    let map = strong_map(&objs);
    group.bench_function("weak_lookup", |b| {
        b.iter(|| (0..N).map(|key| dict.get(&key).map_or(0, |o| *o)).sum::<u64>());
    });
    group.bench_function("strong_lookup", |b| {
        b.iter(|| (0..N).map(|key| map.get(&key).map_or(0, |o| **o)).sum::<u64>());
    });
    group.bench_function("weak_iterate", |b| {
        b.iter(|| dict.values().map(|o| *o).sum::<u64>());
    });
    group.bench_function("strong_iterate", |b| {
        b.iter(|| map.values().map(|o| **o).sum::<u64>());
    });
    group.finish();
    black_box((dict, map));
}

criterion_group!(containers, benches);
criterion_main!(containers);
