//! `AsGc`: how the weak containers take the objects they are given.

use rc_heap::Gc;

/// A `Gc<T>`, or a reference to one at any depth (`&Gc<T>`, `&&Gc<T>`, ...): what the weak
/// containers accept wherever Python passes an object (`set.add(&a)`, `set.add(a.clone())`,
/// `objects.iter().filter(|o| set.contains(o))`). The container only looks at the object;
/// a `Gc<T>` given by value is dropped when the call returns.
///
/// ```
/// use rc_heap::Gc;
/// use weak_collections::WeakSet;
///
/// let (a, b) = (Gc::new(1_u32), Gc::new(2_u32));
/// let set = WeakSet::new();
/// set.add(&a);
/// set.add(b.clone());
/// let objects = [a, b];
/// assert_eq!(objects.iter().filter(|o| set.contains(o)).count(), 2);
/// ```
pub trait AsGc<T: ?Sized> {
    /// The handle this stands for.
    fn as_gc(&self) -> &Gc<T>;
}

impl<T: ?Sized> AsGc<T> for Gc<T> {
    fn as_gc(&self) -> &Gc<T> {
        self
    }
}

impl<T: ?Sized, G: AsGc<T> + ?Sized> AsGc<T> for &G {
    fn as_gc(&self) -> &Gc<T> {
        (**self).as_gc()
    }
}
