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

/// A weak reference used as if it were the object (Python's `weakref.proxy`): each use
/// either reaches the live object or fails with [`ReferenceError`].
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

impl<T: ?Sized + 'static + fmt::Debug> fmt::Debug for WeakProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.weak.upgrade() {
            Some(object) => write!(f, "<weakproxy to {:?}>", &*object),
            None => f.write_str("<weakproxy to a dead object>"),
        }
    }
}
