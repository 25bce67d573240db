//! The interpreter on cyclegc's heap.
//!
//! Every value is a [`cyclegc::Gc`]: strings are `Gc<str>`, vectors and lambda bodies
//! `Gc<[Value]>`, native functions `Gc<dyn NativeFn>`, and every heap type derives `Trace`.
//! The cycles that closures make with their environments are ordinary garbage here: the
//! collector, which [`Interp::new`] installs, finds and frees them.

use cyclegc::{Gc, Trace};

use Gc as Ptr;

/// Makes the types it wraps heap objects: on this heap, they derive `Trace`.
macro_rules! heap_type {
    ($($item:item)*) => {
        $(
            #[derive(cyclegc::Trace)]
            $item
        )*
    };
}

/// Puts a native function on the heap as a trait object. The object keeps its concrete type,
/// whose `Trace` the collector uses: what the function holds are edges it follows.
pub fn native<N: NativeFn + Trace>(function: N) -> Gc<dyn NativeFn> {
    cyclegc::coerce_gc!(Gc::new(function))
}

/// Installs the cycle collector, so that allocation runs it automatically.
fn start_collector() {
    cyclegc::gen_gc::install();
}

#[path = "interp/mod.rs"]
#[allow(clippy::duplicate_mod, reason = "the interpreter is one source compiled once per heap")]
mod interp;

pub use interp::{
    Composition, Counter, Env, Interp, Lambda, NativeFn, Pair, Primitive, Symbol, Value, live_environments,
};
