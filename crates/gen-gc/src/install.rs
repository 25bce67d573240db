//! Registering the collector with the heap, and the state accessors that do it first.
//!
//! rc-heap calls the collector through two hooks: the automatic collection when a thread's
//! young count passes its limit, and the exit collection at thread exit. A program that links
//! this crate (directly, or through the `cyclegc` facade, even if it only ever names `Gc` and
//! the derive) has both from its start, as a Python program has its collector: the
//! registration runs as a global constructor, before `main` (the `ctor` crate). It only
//! stores two function pointers. Every public function of this crate registers them too,
//! before it touches the thread's state, for a platform without global constructors.

use crate::state::{self, DEFAULT_THRESHOLDS, State};
use crate::{collection, exit};

/// Registers the collector with the heap, once per process: from then on, allocation calls
/// it when a thread's young count passes `threshold0`, and a thread's exit collects what it
/// leaves.
///
/// A program that links this crate does this before `main` on the platforms that have global
/// constructors (Linux, macOS, Windows, the BSDs, ...), and every function of this crate
/// does it too; calling it at start-up only matters where neither has happened yet.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        rc_heap::raw::set_collect_hook(collection::collect_automatically, DEFAULT_THRESHOLDS[0] + 1);
        rc_heap::raw::set_exit_collector(exit::collect_at_exit);
    });
}

/// Runs `f` on this thread's collector state, after registering the collector.
pub(crate) fn with_installed_state<R>(f: impl FnOnce(&State) -> R) -> R {
    install();
    state::with_state(f)
}

// `unsafe` in the sense of life before `main`: the registration touches no thread-local, no
// I/O and no allocation, only two `OnceLock`s.
#[ctor::ctor(unsafe)]
fn install_before_main() {
    install();
}
