//! Thread exit: a thread's heap dies with it.
//!
//! Every thread has its own heap, so what a thread leaves behind belongs to no other: a
//! garbage cycle it did not collect could never be collected later. So the heap runs an exit
//! pass when the thread ends:
//!
//! 1. The heap is marked torn down: allocation no longer calls the collection hook.
//! 2. The collector's exit collection runs (gen-gc registers it with
//!    [`set_exit_collector`]): a full collection that frees the garbage cycles, runs their
//!    finalizers once and their weak references' callbacks.
//! 3. The teardown hooks run ([`on_teardown`]: `finalize` objects still alive run their
//!    `atexit` callbacks there). Whatever they release is collected in the next round; a
//!    round that frees nothing and runs no hook ends the pass (at most [`MAX_EXIT_ROUNDS`]).
//! 4. Empty pools and arenas go back to the system; from then on an arena is freed as soon
//!    as its last object is.
//!
//! Rust does not order thread-local destructors, so the pass runs twice: first as a
//! thread-local destructor of its own (while the thread's other thread-locals may still be
//! alive, so finalizers can use them), then once every thread-local destructor has run —
//! on Unix a `pthread` key's destructor, which glibc, musl, macOS and Miri run after the
//! thread-local destructors (for the main thread, which gets no key destructors, an `atexit`
//! handler: `exit` runs it after the main thread's thread-local destructors, and before the
//! `atexit` handlers registered before the heap's first object). The second pass frees what
//! thread-locals destroyed after the first one released, cycles included; it runs again while
//! objects are left, as long as the C library calls key destructors again (four rounds,
//! POSIX's minimum, at most), and on the main thread while a pass frees something.
//!
//! What is still alive after the last pass is held by a handle that is never dropped
//! (`std::mem::forget`, a leaked `Box`, a thread-local first used after the thread-local
//! destructors ran, or on platforms without `pthread` keys a thread-local destroyed after
//! the first pass). It stays allocated, and [`left_at_thread_exit`] counts it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::pool::{HeapExit, ThreadExit};
use crate::{dealloc, heap, pool};

/// The most rounds of collection and teardown hooks one exit pass runs: enough for
/// finalizers that release more garbage, bounded for finalizers that keep making more.
pub const MAX_EXIT_ROUNDS: usize = 16;

static EXIT_COLLECTOR: OnceLock<fn() -> usize> = OnceLock::new();

/// Tracked objects alive after their thread's last exit pass, over all exited threads.
static LEFT_AT_EXIT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static FIRST_PASS: FirstPass = const { FirstPass };
}

/// Registers the collection a thread's heap runs when the thread exits (see the module
/// docs): it must run a full collection and return how many objects it freed. Only the
/// first registration in a process takes effect; returns whether this one did.
pub fn set_exit_collector(collect: fn() -> usize) -> bool {
    EXIT_COLLECTOR.set(collect).is_ok()
}

/// Makes sure this thread's exit passes run when it exits, so that the exit collection runs
/// and teardown hooks can give back what the collector's state holds. The heap does this
/// itself when it is set up or takes memory; a layer above whose per-thread state takes
/// memory before any object exists on the thread (a collection callback registered first)
/// calls it then.
pub fn keep_exit_passes() {
    <HeapExit as ThreadExit>::register();
}

/// Registers `hook` to run when this thread's heap is torn down (at thread exit), after the
/// exit collection. Hooks run in reverse order of registration; a hook may register more
/// hooks, which run in the next round, or at once if it calls [`run_added_teardown_hooks`].
pub fn on_teardown(hook: impl FnOnce() + 'static) {
    heap::with_extras(|extras| extras.teardown_hooks.push(Box::new(hook)));
}

/// Runs now, newest first, the teardown hooks registered since the running round of hooks
/// began (by the hook that calls this, say, or by callbacks it ran), instead of in the next
/// round. A hook that runs callbacks one by one calls it after each, so that what a
/// callback registers runs before the callbacks still waiting, as Python's `atexit` runs
/// what an exit handler registers next. Does nothing before the heap is torn down.
pub fn run_added_teardown_hooks() {
    if !is_torn_down() {
        return;
    }
    run_hooks(heap::take_teardown_hooks());
}

/// Runs `hooks`, newest first, catching and reporting their panics (unwinding out of a
/// thread-local destructor would abort the process).
fn run_hooks(hooks: Vec<Box<dyn FnOnce()>>) {
    for hook in hooks.into_iter().rev() {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(hook)) {
            dealloc::report_discarded_panic("a heap teardown hook", &panic);
        }
    }
}

/// Whether this thread's heap has been torn down (the thread is exiting).
pub fn is_torn_down() -> bool {
    heap::with_heap(|heap| heap.torn_down.get())
}

/// Tracked objects that outlived their thread: still alive after the thread's last exit
/// pass, over every thread of the process that has exited. See the module docs for what can
/// hold them.
pub fn left_at_thread_exit() -> usize {
    LEFT_AT_EXIT.load(Ordering::Relaxed)
}

/// Makes sure the exit passes run when this thread exits. Called when the heap is set up
/// and whenever it takes memory a pass must give back.
impl ThreadExit for HeapExit {
    fn register() {
        let _ = FIRST_PASS.try_with(|_| ());
        last_pass::arm();
    }
}

struct FirstPass;

impl Drop for FirstPass {
    fn drop(&mut self) {
        exit_pass();
    }
}

/// One exit pass (see the module docs). Runs user code, and catches its panics: unwinding
/// out of a thread-local destructor would abort the process.
fn exit_pass() {
    heap::mark_torn_down();
    for _ in 0..MAX_EXIT_ROUNDS {
        let freed = match EXIT_COLLECTOR.get() {
            Some(collect) => catch_unwind(*collect).unwrap_or_else(|panic| {
                dealloc::report_discarded_panic("the collection at thread exit", &panic);
                0
            }),
            None => 0,
        };
        let hooks = heap::take_teardown_hooks();
        let ran = !hooks.is_empty();
        run_hooks(hooks);
        if !ran && freed == 0 {
            break;
        }
    }
    heap::release_extras_if_torn_down();
    pool::tear_down();
    count_left(heap::tracked_objects());
}

/// Records how many tracked objects this thread has left after its latest pass.
fn count_left(now: usize) -> usize {
    let before = heap::with_heap(|heap| heap.left_at_exit.replace(now));
    if now >= before {
        LEFT_AT_EXIT.fetch_add(now - before, Ordering::Relaxed);
    } else {
        LEFT_AT_EXIT.fetch_sub(before - now, Ordering::Relaxed);
    }
    now
}

#[cfg(unix)]
mod last_pass {
    //! The pass after every thread-local destructor: a `pthread` key whose value is the
    //! round number (as an address without provenance), set on every thread with a heap.

    use std::ptr;
    use std::sync::OnceLock;

    /// POSIX's minimum for `PTHREAD_DESTRUCTOR_ITERATIONS`: key destructors are called again
    /// while they set values, at least this many times.
    const ROUNDS: usize = 4;

    fn key() -> Option<libc::pthread_key_t> {
        static KEY: OnceLock<Option<libc::pthread_key_t>> = OnceLock::new();
        *KEY.get_or_init(|| {
            let mut key: libc::pthread_key_t = 0;
            // SAFETY: `key` is a valid place for the new key; `last_pass` has the signature
            // `pthread_key_create` expects and never unwinds.
            let created = unsafe { libc::pthread_key_create(&mut key, Some(last_pass)) };
            (created == 0).then_some(key)
        })
    }

    /// Sets this thread's value, so that the key's destructor runs at its exit. Once the heap
    /// is torn down only `last_pass` sets it, counting its rounds.
    pub(super) fn arm() {
        if super::is_torn_down() {
            return;
        }
        main_thread::arm();
        let Some(key) = key() else { return };
        // SAFETY: `key` was created by `pthread_key_create` and is never deleted.
        if unsafe { libc::pthread_getspecific(key) }.is_null() {
            set_round(key, 1);
        }
    }

    fn set_round(key: libc::pthread_key_t, round: usize) {
        // SAFETY: as in `arm`; the value is a number, never dereferenced.
        unsafe { libc::pthread_setspecific(key, ptr::without_provenance_mut(round)) };
    }

    extern "C" fn last_pass(value: *mut libc::c_void) {
        let round = value.addr();
        if pass() > 0
            && round < ROUNDS
            && let Some(key) = key()
        {
            set_round(key, round + 1);
        }
    }

    /// One pass after the thread-local destructors, if anything is left to free; returns
    /// how many tracked objects are left.
    fn pass() -> usize {
        let left = std::panic::catch_unwind(|| {
            if super::heap::tracked_objects() == 0 && !super::heap::has_extras() {
                return super::count_left(0);
            }
            super::exit_pass();
            super::heap::tracked_objects()
        });
        // `exit_pass` catches user code's panics; this would be the heap's own.
        left.unwrap_or_else(|_| std::process::abort())
    }

    /// The main thread's last pass. The C library calls no key destructor for the main
    /// thread: returning from `main` (or `std::process::exit`) calls `exit`, which runs the
    /// main thread's thread-local destructors, then the `atexit` handlers. So the main thread
    /// registers one, which runs the pass there, after the thread-local destructors, as a key
    /// destructor would (glibc and musl run the thread-local destructors first; where a C
    /// library ran them after, the handler would be a pass like the first one).
    #[cfg(all(not(miri), any(target_os = "linux", target_vendor = "apple")))]
    mod main_thread {
        use std::cell::Cell;
        use std::sync::Once;

        thread_local! {
            /// Whether this thread has been asked if it is the main thread.
            static ASKED: Cell<bool> = const { Cell::new(false) };
        }

        /// Registers the handler if this is the main thread (once per process).
        pub(super) fn arm() {
            if ASKED.replace(true) || !is_main_thread() {
                return;
            }
            static REGISTER: Once = Once::new();
            REGISTER.call_once(|| {
                // SAFETY: `at_exit` has the signature `atexit` expects and never unwinds.
                unsafe { libc::atexit(at_exit) };
            });
        }

        #[cfg(target_os = "linux")]
        fn is_main_thread() -> bool {
            // The system call rather than glibc's `gettid`, which needs glibc 2.30.
            // SAFETY: both calls only read the calling thread's and process's ids.
            unsafe { libc::syscall(libc::SYS_gettid) == libc::c_long::from(libc::getpid()) }
        }

        #[cfg(target_vendor = "apple")]
        fn is_main_thread() -> bool {
            // SAFETY: only reads whether the calling thread is the main one.
            unsafe { libc::pthread_main_np() == 1 }
        }

        /// Runs on the thread that called `exit`: the passes, if that is the main thread (its
        /// heap is the one whose thread is ending), while objects are left and the rounds a
        /// key destructor would get last.
        extern "C" fn at_exit() {
            if !is_main_thread() {
                return;
            }
            // Between two passes here no other destructor runs (unlike between key
            // destructor rounds): another pass only helps while the last one freed something.
            let mut left = super::pass();
            for _ in 1..super::ROUNDS {
                if left == 0 {
                    return;
                }
                let now = super::pass();
                if now >= left {
                    return;
                }
                left = now;
            }
        }
    }

    #[cfg(not(all(not(miri), any(target_os = "linux", target_vendor = "apple"))))]
    mod main_thread {
        pub(super) fn arm() {}
    }
}

#[cfg(not(unix))]
mod last_pass {
    //! Without `pthread` keys, the thread-local pass is the only one.
    pub(super) fn arm() {}
}
