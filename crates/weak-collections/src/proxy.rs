//! `WeakProxy`: Python's `weakref.proxy`, whose use fails once its object is gone.

use std::fmt;

use rc_heap::{Gc, Trace, Weak};

/// The error of using a proxy whose object has died (Python's `ReferenceError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceError;

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("weakly-referenced object no longer exists")
    }
}

impl std::error::Error for ReferenceError {}

/// A proxy for `object` (Python's `weakref.proxy(object)`): each use of it either reaches
/// the live object or fails with [`ReferenceError`]. The same as [`WeakProxy::new`].
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::{ReferenceError, proxy};
///
/// let text = Gc::new(String::from("hello"));
/// let p = proxy(&text);
/// assert_eq!(p.with(String::len), Ok(5));
/// drop(text);
/// assert_eq!(p.get().err(), Some(ReferenceError));
/// ```
pub fn proxy<T: ?Sized + 'static>(object: &Gc<T>) -> WeakProxy<T> {
    WeakProxy::new(object)
}

/// A proxy for `object` whose `callback` runs when the object dies (Python's
/// `weakref.proxy(object, callback)`; the callback takes no argument, where Python passes
/// it the proxy). The same as [`WeakProxy::with_callback`].
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use rc_heap::Gc;
/// use weak_collections::proxy_with_callback;
///
/// let died = Rc::new(Cell::new(false));
/// let text = Gc::new(String::from("hello"));
/// let flag = died.clone();
/// let p = proxy_with_callback(&text, move || flag.set(true));
/// drop(text);
/// assert!(died.get() && !p.is_alive());
/// ```
pub fn proxy_with_callback<T: ?Sized + 'static>(object: &Gc<T>, callback: impl FnOnce() + 'static) -> WeakProxy<T> {
    WeakProxy::with_callback(object, callback)
}

/// A weak reference used as if it were the object (Python's `weakref.proxy`, made by
/// [`proxy`] or [`WeakProxy::new`]): each use either reaches the live object or fails
/// with [`ReferenceError`].
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::{ReferenceError, WeakProxy};
///
/// let text = Gc::new(String::from("hello"));
/// let proxy = WeakProxy::new(&text);
/// assert_eq!(proxy.with(|s| s.len()), Ok(5));
/// drop(text);
/// assert_eq!(proxy.with(|s| s.len()), Err(ReferenceError));
/// ```
#[derive(Trace)]
#[trace(crate = rc_heap, bound = "")]
pub struct WeakProxy<T: ?Sized + 'static> {
    weak: Weak<T>,
}

impl<T: ?Sized + 'static> WeakProxy<T> {
    /// A proxy for `object`.
    pub fn new(object: &Gc<T>) -> Self {
        WeakProxy { weak: Gc::downgrade(object) }
    }

    /// A proxy whose `callback` runs when the object dies (`weakref.proxy(obj, callback)`).
    pub fn with_callback(object: &Gc<T>, callback: impl FnOnce() + 'static) -> Self {
        WeakProxy { weak: Gc::downgrade_with_callback(object, move |_| callback()) }
    }

    /// Runs `f` on the object.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, ReferenceError> {
        let object = self.get()?;
        Ok(f(&object))
    }

    /// A strong handle to the object.
    pub fn get(&self) -> Result<Gc<T>, ReferenceError> {
        self.weak.upgrade().ok_or(ReferenceError)
    }

    /// Whether the object is still alive.
    pub fn is_alive(&self) -> bool {
        !self.weak.is_dead()
    }
}

impl<T: ?Sized + 'static> Clone for WeakProxy<T> {
    fn clone(&self) -> Self {
        WeakProxy { weak: self.weak.clone() }
    }
}

/// Python's `repr` of a proxy: `<weakproxy to Logger at 0x55d0c1a2b3c0>` (the object's
/// type, as objgraph names it, and address), or `<weakproxy to a dead object>`. The object
/// needs no `Debug`: a proxy to a trait object prints as well as one to a struct.
impl<T: ?Sized + 'static> fmt::Debug for WeakProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.weak.upgrade() {
            Some(object) => {
                write!(f, "<weakproxy to {} at {:#x}>", Gc::type_info(&object).short_name(), Gc::addr(&object))
            }
            None => f.write_str("<weakproxy to a dead object>"),
        }
    }
}
