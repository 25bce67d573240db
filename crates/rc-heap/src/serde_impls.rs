//! `Serialize` and `Deserialize` for [`Gc`] and [`Weak`] (feature `serde`), as serde's `rc`
//! feature gives them to `Rc` and `std::rc::Weak`.
//!
//! A `Gc` is written as its value and read back as a new object: an object two handles
//! share is written twice and read back as two objects, as with `Rc`. A cycle, which `Rc`
//! writes without end until the stack overflows, is an error of the serializer's here
//! (`a cycle: a Node reached again inside its own serialization`), as is a handle whose value
//! the collector already dropped. Leave back-pointers out (`#[serde(skip)]`): a `Weak` is
//! written as its value if it lives (`Some`), so a `Weak` back-pointer to an object being
//! written is a cycle too; it is read back as a weak reference that points nowhere.

use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gc::{being_written, writing};
use crate::trace::Trace;
use crate::{Gc, Weak};

impl<T: ?Sized + Serialize> Serialize for Gc<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = Gc::try_get(self).map_err(S::Error::custom)?;
        let object = Gc::header(self);
        if being_written(object) {
            let name = Gc::type_info(self).short_name();
            return Err(S::Error::custom(format_args!("a cycle: a {name} reached again inside its own serialization")));
        }
        writing(object, || value.serialize(serializer))
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
