//! `getweakrefcount`: how many weak references point at an object.

use rc_heap::Gc;

/// The number of weak references to `object` (Python's `weakref.getweakrefcount`).
///
/// What is counted is the object's weak *handles*, as [`Gc::weak_count`] counts them: each
/// [`Weak`](rc_heap::Weak) (a `Gc::downgrade`, a weak reference with a callback, a clone of
/// either), each [`WeakProxy`](crate::WeakProxy), each entry of a weak container holding
/// the object, each live [`finalize`](crate::finalize) registration. Python counts weakref
/// *objects*, and CPython hands every callback-less `weakref.ref(o)` the same object, so
/// two `ref(o)` count 1 there where two `Gc::downgrade(&o)` count 2 here; references with
/// callbacks, proxies and container entries count one each in both. A dead object's count
/// is 0 (every weak reference to it has been cleared).
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::{getweakrefcount, proxy};
///
/// let o = Gc::new(1_u32);
/// let r1 = Gc::downgrade(&o);
/// let r2 = Gc::downgrade_with_callback(&o, |_| {});
/// assert_eq!(getweakrefcount(&o), 2);
/// let p1 = proxy(&o);
/// assert_eq!(getweakrefcount(&o), 3);
/// drop((r1, r2, p1));
/// assert_eq!(getweakrefcount(&o), 0);
/// ```
pub fn getweakrefcount<T: ?Sized>(object: &Gc<T>) -> usize {
    Gc::weak_count(object)
}
