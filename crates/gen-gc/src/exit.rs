//! Thread exit: the collection that frees what a thread leaves behind.
//!
//! rc-heap calls [`collect_at_exit`] from each of its exit passes (see
//! `rc_heap::raw::set_exit_collector`): once the thread's own values are gone, and again after
//! its other thread-locals are destroyed. Nothing on the thread can break a cycle by hand any
//! more, and no later collection will ever see this heap, so the collection at exit:
//!
//! 1. drops the collection callbacks (they are not called at exit, as CPython does not call
//!    `gc.callbacks` for its shutdown collection);
//! 2. moves frozen objects back into the oldest generation;
//! 3. collects everything under the thread's settings: under the legacy finalizer policy,
//!    cycles with finalizers land in `garbage`; with `DEBUG_SAVEALL`, everything found does;
//! 4. reports a non-empty `garbage`, as CPython warns at shutdown: `gc: N uncollectable
//!    objects at thread exit`, listing them under `DEBUG_UNCOLLECTABLE`;
//! 5. empties `garbage`, switches to PEP 442 finalization without `DEBUG_SAVEALL`, and
//!    collects again: those cycles' finalizers run once and they are freed;
//! 6. drops the debug writer last, and collects again if dropping what it owned made more
//!    garbage; a thread that had a debug writer prints nothing after it is dropped (its
//!    debug flags are cleared), rather than print to stderr.

use crate::collection::{collect_with_callbacks, unfreeze};
use crate::debug::{DebugFlags, object_repr};
use crate::state::{FinalizerPolicy, NUM_GENERATIONS, State, with_state};

/// The collection a thread's heap runs at exit; returns how many objects it freed.
pub(crate) fn collect_at_exit() -> usize {
    with_state(|state| {
        if state.collecting.get() {
            return 0;
        }
        // Dropped after the borrow ends: what the callbacks captured may run user code.
        state.exiting.set(true);
        // The walks' list is not kept from here on (see `State::keep_edges`).
        drop(state.take_edges());
        let callbacks = std::mem::take(&mut *state.callbacks.borrow_mut());
        drop(callbacks);
        unfreeze(state);
        let mut freed = collect_all(state);
        report_garbage(state);
        state.policy.set(FinalizerPolicy::Pep442);
        state.debug.set(state.debug.get() - DebugFlags::SAVEALL);
        loop {
            let garbage = std::mem::take(&mut *state.garbage.borrow_mut());
            let writer = if garbage.is_empty() { state.take_writer() } else { None };
            if garbage.is_empty() && writer.is_none() {
                return freed;
            }
            if writer.is_some() {
                // The program sent the debug lines to its writer, not to stderr: the
                // collections after it is gone (this loop's, the next exit pass's) stay quiet
                // rather than print into whatever else the process writes there.
                state.debug.set(DebugFlags::empty());
            }
            drop(garbage);
            drop(writer);
            freed += collect_all(state);
        }
    })
}

fn collect_all(state: &State) -> usize {
    collect_with_callbacks(state, NUM_GENERATIONS - 1).collected
}

/// CPython's shutdown warning about `gc.garbage`, through the debug writer. Under
/// `DEBUG_SAVEALL` there is none, as in CPython: `garbage` then also holds every cycle the
/// collector freed, which the flag asked it to keep.
fn report_garbage(state: &State) {
    if state.debug.get().contains(DebugFlags::SAVEALL) {
        return;
    }
    let garbage = state.garbage.borrow().iter().map(|object| object_repr(object.header())).collect::<Vec<_>>();
    if garbage.is_empty() {
        return;
    }
    let count = garbage.len();
    if state.debug.get().contains(DebugFlags::UNCOLLECTABLE) {
        // CPython's layout: the count, then the list on a line of its own, indented.
        state.debug_line(format_args!("gc: {count} uncollectable objects at thread exit"));
        state.debug_line(format_args!("      [{}]", garbage.join(", ")));
    } else {
        state.debug_line(format_args!(
            "gc: {count} uncollectable objects at thread exit; use gen_gc::set_debug(gen_gc::DEBUG_UNCOLLECTABLE) \
             to list them"
        ));
    }
}

/// Tracked objects that outlived their thread: alive after the thread's last exit pass, over
/// every thread of the process that has exited.
///
/// Something that is never dropped holds them: a handle passed to `std::mem::forget` or kept
/// in a leaked `Box`, or a thread-local first used after the thread's thread-local destructors
/// ran. On Unix the heap's last exit pass runs after every thread-local destructor; on other
/// platforms it runs among them, and a thread-local destroyed after it leaves what it held
/// here too. The objects stay allocated (nothing could free them safely while a handle may
/// exist); this count makes them visible.
pub fn left_at_thread_exit() -> usize {
    rc_heap::raw::left_at_thread_exit()
}
