//! Errors of the object model.

use std::fmt;

use crate::TypeInfo;

/// A handle's value cannot be reached: the cycle collector has already dropped it.
///
/// This happens only inside a collection, when the `Drop` of one object in a garbage cycle
/// touches another object of the same cycle that was dropped first. Work that needs the
/// whole cycle intact belongs in a finalizer ([`Trace::finalize`](crate::Trace::finalize)),
/// which runs before anything is dropped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError {
    type_name: &'static str,
}

impl AccessError {
    pub(crate) fn dropped(info: &'static TypeInfo) -> Self {
        AccessError { type_name: info.name() }
    }

    /// The full name of the type whose value was dropped.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").field("type_name", &self.type_name).finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a Gc<{}> was used after the cycle collector dropped its value: a Drop impl of \
             one object in a collected cycle touched another object of the same cycle; do \
             that work in a finalizer (Trace::finalize, #[trace(finalize)]), which runs while \
             the cycle is still intact, or use Gc::try_get",
            self.type_name
        )
    }
}

impl std::error::Error for AccessError {}
