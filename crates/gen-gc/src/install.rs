//! Registering the collector with the heap, and the state accessors that do it first.
//!
//! rc-heap calls the collector through two hooks: the automatic collection when a thread's
//! young count passes its limit, and the exit collection at thread exit. Every public function
//! of this crate registers them before it touches the thread's state, so a program that
//! uses the collector at all has both.

use crate::state::{self, DEFAULT_THRESHOLDS, State};
use crate::{collection, exit};

/// Registers the collector with the heap, once per process: from then on, allocation calls
/// it when a thread's young count passes `threshold0`. Every function of this crate does
/// this too; call it at start-up to have automatic collection from the first allocation.
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
