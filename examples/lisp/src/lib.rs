#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
pub mod gc;
pub mod rc;

pub use error::Error;

/// What the interpreters of both heaps offer, so that tests and benchmarks run one program on
/// each.
pub trait Interpreter: Default {
    /// Reads and evaluates every form of `source`, and prints the value of the last one.
    fn eval_to_string(&mut self, source: &str) -> Result<String, Error>;

    /// What `display` and `newline` printed since the last call.
    fn take_output(&mut self) -> String;

    /// How many environments of this heap are alive on this thread.
    fn live_environments() -> usize;
}
