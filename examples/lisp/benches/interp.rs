//! The interpreter on cyclegc's heap against the same interpreter on `std::rc::Rc`.
//!
//! - `fib_25`: `(fib 25)`, a quarter of a million calls, each making an environment and
//!   freeing it when it returns: allocation and reference counting, no cycles.
//! - `closure_loop`: 10,000 turns of a loop that defines a closure in each, a cycle per turn.
//!   The `Gc` side collects them as it goes; the `Rc` side leaks them (about 400 bytes a
//!   turn), so its group is kept short.
//!
//! Run with `cargo bench -p lisp --bench interp`, or `cargo xtask bench lisp` for the
//! ratios; `docs/performance.md` has results.

use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use lisp::Interpreter;

const FIB: &str = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))";

const CLOSURE_LOOP: &str = "
    (define (loop n)
      (if (= n 0)
          'done
          (begin
            (define (f) n)
            (loop (- n 1)))))";

fn run<I: Interpreter>(definitions: &str, call: &'static str) -> impl FnMut() -> String {
    let mut interp = I::default();
    interp.eval_to_string(definitions).unwrap();
    move || interp.eval_to_string(call).unwrap()
}

fn fib_25(c: &mut Criterion) {
    let mut group = c.benchmark_group("fib_25");
    group.sample_size(20).measurement_time(Duration::from_secs(10));
    let mut on_gc = run::<lisp::gc::Interp>(FIB, "(fib 25)");
    group.bench_function("gc", |b| b.iter(&mut on_gc));
    let mut on_rc = run::<lisp::rc::Interp>(FIB, "(fib 25)");
    group.bench_function("rc", |b| b.iter(&mut on_rc));
    group.finish();
}

fn closure_loop(c: &mut Criterion) {
    let mut group = c.benchmark_group("closure_loop");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1));
    let mut on_gc = run::<lisp::gc::Interp>(CLOSURE_LOOP, "(loop 10000)");
    group.bench_function("gc", |b| b.iter(&mut on_gc));
    let mut on_rc = run::<lisp::rc::Interp>(CLOSURE_LOOP, "(loop 10000)");
    group.bench_function("rc", |b| b.iter(&mut on_rc));
    group.finish();
}

criterion_group!(benches, fib_25, closure_loop);
criterion_main!(benches);
