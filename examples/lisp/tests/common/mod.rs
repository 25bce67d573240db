//! The closure loop both leak tests run, and what they measure.

use lisp::Interpreter;

/// A loop that defines a closure in every turn. Each call of `loop` makes an environment; the
/// `define` binds a closure in it that holds it: the environment and the closure refer to each
/// other, and nothing else refers to either once the call has made its tail call.
pub const CLOSURE_LOOP: &str = "
    (define (loop n)
      (if (= n 0)
          'done
          (begin
            (define (f) n)
            (loop (- n 1)))))";

/// Turns of the loop: 1,000,000, divided by `CYCLEGC_TEST_SCALE` when it is set.
pub fn turns() -> usize {
    if cfg!(miri) {
        return 1_000;
    }
    let scale = std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|scale| scale.parse().ok()).unwrap_or(1);
    1_000_000 / scale.max(1)
}

/// The process's resident memory (`VmRSS`), where `/proc` has it.
pub fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What a run of the loop left.
pub struct Run {
    /// The most environments alive at any of the samples taken between batches.
    pub most_alive: usize,
    /// Environments alive at the end, not counting those alive before the run.
    pub alive_after: usize,
    /// Resident memory gained over the run, where it can be read.
    pub resident_growth: Option<usize>,
}

/// Runs `turns` turns of [`CLOSURE_LOOP`] in batches of a hundredth, calling `sample` after
/// each batch.
pub fn run_closure_loop<I: Interpreter>(turns: usize, mut sample: impl FnMut()) -> Run {
    let mut interp = I::default();
    interp.eval_to_string(CLOSURE_LOOP).unwrap();
    let alive_before = I::live_environments();
    let resident_before = resident_bytes();
    let batch = (turns / 100).max(1);
    let mut most_alive = alive_before;
    for _ in 0..turns / batch {
        assert_eq!(interp.eval_to_string(&format!("(loop {batch})")), Ok("done".to_owned()));
        sample();
        most_alive = most_alive.max(I::live_environments());
    }
    let resident_growth = resident_before.zip(resident_bytes()).map(|(before, after)| after.saturating_sub(before));
    Run { most_alive, alive_after: I::live_environments() - alive_before, resident_growth }
}

pub fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
