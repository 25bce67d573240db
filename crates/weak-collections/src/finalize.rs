//! `finalize`: Python's `weakref.finalize`, a callback bound to an object's death.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::rc::{self, Rc};

use rc_heap::{Gc, Weak};

/// Registers `func` to run once when `object` dies (by reference counting or by the
/// collector), or, if the object is still alive then, when the thread's heap is torn down
/// (Python's `atexit`), in reverse order of registration.
///
/// The finalizer stays registered whether or not the returned handle is kept, until it has
/// run or been detached. `func` must not hold a strong handle to `object` (that would keep
/// it alive forever), exactly as in Python. Registered on an object whose value the collector
/// already dropped (from a `Drop` that runs while the collector frees the object's cycle),
/// `func` runs at once, during this call, since the object's death has happened.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use rc_heap::Gc;
/// use weak_collections::finalize;
///
/// let closed = Rc::new(Cell::new(false));
/// let file = Gc::new(String::from("/tmp/data"));
/// let flag = closed.clone();
/// let finalizer = finalize(&file, move || flag.set(true));
/// assert!(finalizer.alive());
/// drop(file);
/// assert!(closed.get() && !finalizer.alive());
/// ```
pub fn finalize<T: ?Sized + 'static>(object: &Gc<T>, func: impl FnOnce() + 'static) -> Finalizer<T> {
    let index = NEXT_INDEX.with(|next| next.replace(next.get() + 1));
    let inner = Rc::new(Inner {
        index,
        weak: RefCell::new(None),
        func: RefCell::new(Some(Box::new(func))),
        atexit: Cell::new(true),
    });
    let on_death = Rc::downgrade(&inner);
    let weak = Gc::downgrade_with_callback(object, move |_| {
        if let Some(inner) = on_death.upgrade()
            && let Err(panic) = catch_unwind(AssertUnwindSafe(|| inner.call()))
        {
            // Reported as the finalize function's, not as a weak reference's callback.
            let what = format!("the finalize function of a {}", rc_heap::TypeInfo::short_name_of::<T>());
            resume_unwind(rc_heap::raw::name_callback_panic(what, panic));
        }
    });
    *inner.weak.borrow_mut() = Some(weak);
    // An object the collector already dropped (a `Drop` of its cycle registers this) ran the
    // callback at once: nothing is left to register.
    if inner.func.borrow().is_some() {
        registry().borrow_mut().insert(index, inner.clone());
    }
    Finalizer { inner }
}

/// A finalizer's callback, as [`Finalizer::detach`] hands it back.
pub type FinalizerFn = Box<dyn FnOnce()>;

/// A handle to a registered [`finalize`] callback.
///
/// A heap object may hold one (`#[derive(Trace)]` accepts the field): it holds nothing the
/// collector follows. The weak reference to the object is the registry's as much as the
/// handle's, and the callback's captures are held by the registry until it runs, as
/// Python's finalizer registry holds them; an object with a finalizer field is collected
/// like any other, unless the callback captures a handle that leads back to the watched
/// object, which then stays alive (Python's rule that `func` must not refer to `obj`).
#[derive(rc_heap::Trace)]
#[trace(crate = rc_heap)]
pub struct Finalizer<T: ?Sized + 'static> {
    /// Shared with the registry: traced by neither.
    #[trace(skip)]
    inner: Rc<Inner<T>>,
}

/// Another handle to the same finalizer, as Python's `finalize` objects are shared
/// references: calling or detaching it through one is seen through all.
impl<T: ?Sized + 'static> Clone for Finalizer<T> {
    fn clone(&self) -> Self {
        Finalizer { inner: Rc::clone(&self.inner) }
    }
}

struct Inner<T: ?Sized + 'static> {
    index: u64,
    /// Holding the weak reference keeps its death callback armed.
    weak: RefCell<Option<Weak<T>>>,
    func: RefCell<Option<FinalizerFn>>,
    atexit: Cell<bool>,
}

/// What the registry needs of a finalizer, whatever its object's type.
trait Pending {
    fn call(&self) -> bool;
    fn runs_at_exit(&self) -> bool;
}

impl<T: ?Sized + 'static> Pending for Inner<T> {
    fn call(&self) -> bool {
        let Some(func) = self.func.borrow_mut().take() else { return false };
        let removed = registry().borrow_mut().remove(&self.index);
        let weak = self.weak.borrow_mut().take();
        drop((removed, weak));
        func();
        true
    }

    fn runs_at_exit(&self) -> bool {
        self.atexit.get() && self.func.borrow().is_some()
    }
}

impl<T: ?Sized + 'static> Finalizer<T> {
    /// Whether the finalizer has neither run nor been detached.
    pub fn alive(&self) -> bool {
        self.inner.func.borrow().is_some()
    }

    /// Runs the callback now if it is alive; returns whether it ran. It never runs twice.
    pub fn call(&self) -> bool {
        self.inner.call()
    }

    /// The object, if the finalizer is alive and the object too.
    pub fn peek(&self) -> Option<Gc<T>> {
        if !self.alive() {
            return None;
        }
        self.inner.weak.borrow().as_ref()?.upgrade()
    }

    /// Unregisters the finalizer without running it and returns the object and the
    /// callback, if both are still there.
    pub fn detach(&self) -> Option<(Gc<T>, FinalizerFn)> {
        let object = self.peek()?;
        let func = self.inner.func.borrow_mut().take()?;
        let removed = registry().borrow_mut().remove(&self.inner.index);
        let weak = self.inner.weak.borrow_mut().take();
        drop((removed, weak));
        Some((object, func))
    }

    /// Whether the finalizer runs at heap teardown if its object is still alive then
    /// (default `true`).
    pub fn atexit(&self) -> bool {
        self.inner.atexit.get()
    }

    /// Sets [`atexit`](Self::atexit).
    pub fn set_atexit(&self, atexit: bool) {
        self.inner.atexit.set(atexit);
    }
}

impl<T: ?Sized + 'static> fmt::Debug for Finalizer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finalizer").field("alive", &self.alive()).field("atexit", &self.atexit()).finish()
    }
}

type Registry = Rc<RefCell<BTreeMap<u64, Rc<dyn Pending>>>>;

thread_local! {
    static NEXT_INDEX: Cell<u64> = const { Cell::new(0) };
    static REGISTRY: RefCell<Option<Registry>> = const { RefCell::new(None) };
}

/// This thread's registry of live finalizers, created (with its teardown hook) on first use.
/// The teardown hook owns the registry too, so it outlives this thread-local.
fn registry() -> Registry {
    let existing = REGISTRY.try_with(|slot| slot.borrow().clone()).ok().flatten();
    if let Some(registry) = existing {
        return registry;
    }
    let registry: Registry = Rc::default();
    let at_exit = rc::Rc::downgrade(&registry);
    let owner = registry.clone();
    rc_heap::raw::on_teardown(move || {
        let _keep = owner;
        if let Some(registry) = at_exit.upgrade() {
            run_at_exit(&registry);
        }
    });
    let _ = REGISTRY.try_with(|slot| *slot.borrow_mut() = Some(registry.clone()));
    registry
}

/// Runs the live `atexit` finalizers, newest first. A finalizer that panics is reported and
/// the others still run, as Python prints an exception raised by one and goes on; the first
/// panic is then passed on to the teardown, which reports it too.
fn run_at_exit(registry: &Registry) {
    let mut first_panic = None;
    // The walk goes down from the newest, each finalizer looked at once: one run now
    // unregisters itself from a new registry (this thread's is gone), not from this one, so
    // this one is left as it was but for the entries taken out here.
    let mut below = u64::MAX;
    loop {
        let next = registry
            .borrow()
            .range(..below)
            .rev()
            .find(|(_, pending)| pending.runs_at_exit())
            .map(|(index, pending)| (*index, Rc::clone(pending)));
        let Some((index, pending)) = next else { break };
        below = index;
        let removed = registry.borrow_mut().remove(&index);
        drop(removed);
        let result = catch_unwind(AssertUnwindSafe(|| pending.call()));
        // A finalizer registered by this one (its registry is a new one, this thread's
        // being gone) runs next, before the older ones, as in Python.
        rc_heap::raw::run_added_teardown_hooks();
        if let Err(panic) = result {
            if first_panic.is_some() {
                eprintln!("weak-collections: a finalizer run at thread exit panicked: {}", panic_message(&panic));
            } else {
                first_panic = Some(panic);
            }
        }
    }
    if let Some(panic) = first_panic {
        resume_unwind(panic);
    }
}

/// The message of a panic's payload.
fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
