//! The same interpreter on `std::rc::Rc`, for comparison.
//!
//! Every value is an [`Rc`]: strings are `Rc<str>`, vectors and lambda bodies `Rc<[Value]>`,
//! native functions `Rc<dyn NativeFn>`, and mutation goes through `RefCell`, as on cyclegc's
//! heap. Nothing here traces anything, so the cycles that closures make with their
//! environments are never freed: each one leaks.

use std::rc::Rc;

use Rc as Ptr;

/// Makes the types it wraps heap objects: on this heap, there is nothing to add.
macro_rules! heap_type {
    ($($item:item)*) => {
        $($item)*
    };
}

/// Puts a native function on the heap as a trait object.
pub fn native<N: NativeFn + 'static>(function: N) -> Rc<dyn NativeFn> {
    Rc::new(function)
}

/// `Rc` has no collector: nothing to start.
fn start_collector() {}

#[path = "interp/mod.rs"]
#[allow(clippy::duplicate_mod, reason = "the interpreter is one source compiled once per heap")]
mod interp;

pub use interp::{
    Composition, Counter, Env, Interp, Lambda, NativeFn, Pair, Primitive, Symbol, Value, live_environments,
};
