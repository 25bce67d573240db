//! `Serialize` and `Deserialize` for [`Gc`] and [`Weak`] (feature `serde`), as serde's `rc`
//! feature gives them to `Rc` and `std::rc::Weak`.
//!
//! A `Gc` is written as its value and read back as a new object: an object two handles
//! share is written twice and read back as two objects, and a cycle is written without end
//! (until the serializer or the stack gives up), as with `Rc`. Leave back-pointers out
//! (`#[serde(skip)]`) or make them `Weak`, which serde writes as the value if it lives
//! (`Some`), and reads back as a weak reference that points nowhere.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::trace::Trace;
use crate::{Gc, Weak};

impl<T: ?Sized + Serialize> Serialize for Gc<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Trace + Deserialize<'de>> Deserialize<'de> for Gc<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Gc::new)
    }
}

impl<'de> Deserialize<'de> for Gc<str> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Gc::from)
    }
}

impl<'de, T: Trace + Deserialize<'de>> Deserialize<'de> for Gc<[T]> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Gc::from)
    }
}

/// Written as `Some(value)` while the object lives, `None` once it is dead.
impl<T: ?Sized + Serialize> Serialize for Weak<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.upgrade().serialize(serializer)
    }
}

/// Read as a weak reference that points nowhere, whatever was written: nothing holds the
/// object it would name (serde's rule for `std::rc::Weak`).
impl<'de, T: Trace + Deserialize<'de>> Deserialize<'de> for Weak<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|_| Weak::new())
    }
}
