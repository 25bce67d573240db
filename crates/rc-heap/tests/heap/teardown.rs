//! Thread exit with objects still alive.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rc_heap::{Gc, Trace, Visitor, Weak};

struct Counted {
    drops: Arc<AtomicUsize>,
    next: Option<Gc<Counted>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

// SAFETY: visits `next` once.
unsafe impl Trace for Counted {
    fn trace<V: Visitor + ?Sized>(&self, visitor: &mut V) {
        self.next.trace(visitor);
    }
}

thread_local! {
    static EARLY_WATCH: RefCell<Option<Weak<Counted>>> = const { RefCell::new(None) };
    static EARLY: RefCell<Option<Gc<Counted>>> = const { RefCell::new(None) };
    static LATE: RefCell<Option<Gc<Counted>>> = const { RefCell::new(None) };
}

#[test]
fn objects_in_thread_locals_die_cleanly_at_thread_exit() {
    let drops = Arc::new(AtomicUsize::new(0));
    let callbacks = Arc::new(AtomicUsize::new(0));
    let hooks = Arc::new(AtomicUsize::new(0));
    let (d, c, h) = (drops.clone(), callbacks.clone(), hooks.clone());
    std::thread::spawn(move || {
        // Registered before the heap is first used: destroyed after the heap's teardown,
        // EARLY before EARLY_WATCH (thread-locals go in reverse order of first use).
        EARLY_WATCH.with(|_| ());
        EARLY.with(|_| ());
        let shared = Gc::new(Counted { drops: d.clone(), next: None });
        let chain = Gc::new(Counted { drops: d.clone(), next: Some(shared.clone()) });
        EARLY.with(|slot| *slot.borrow_mut() = Some(chain));
        LATE.with(|slot| *slot.borrow_mut() = Some(shared.clone()));
        let weak = Gc::downgrade_with_callback(&shared, move |_| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        EARLY_WATCH.with(|slot| *slot.borrow_mut() = Some(weak));
        rc_heap::raw::on_teardown(move || {
            h.fetch_add(1, Ordering::SeqCst);
        });
        drop(shared);
    })
    .join()
    .expect("thread exit must not panic");
    assert_eq!(hooks.load(Ordering::SeqCst), 1);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    // `shared` died after teardown, while its weak reference was still alive.
    assert_eq!(callbacks.load(Ordering::SeqCst), 1);
}
