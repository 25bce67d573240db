//! Python's `gc.DEBUG_*` flags and the words the debug output uses for objects and panics.

use std::ptr::NonNull;

use rc_heap::raw::{ObjHeader, Panic};

bitflags::bitflags! {
    /// Python's `gc.DEBUG_*` flags, for [`set_debug`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct DebugFlags: u32 {
        /// Print statistics for each collection (`gc: collecting generation 0...`,
        /// `gc: done, N unreachable, M uncollectable, T s elapsed`).
        const STATS = 1;
        /// Print each collectable object found (`gc: collectable <Node 0x...>`).
        const COLLECTABLE = 2;
        /// Print each uncollectable object found (`gc: uncollectable <Node 0x...>`).
        const UNCOLLECTABLE = 4;
        /// Keep what would be freed in [`garbage`] instead of freeing it.
        const SAVEALL = 32;
        /// What a leak hunt wants: `COLLECTABLE | UNCOLLECTABLE | SAVEALL`.
        const LEAK = Self::COLLECTABLE.bits() | Self::UNCOLLECTABLE.bits() | Self::SAVEALL.bits();
    }
}

/// `gc.DEBUG_STATS`.
pub const DEBUG_STATS: DebugFlags = DebugFlags::STATS;
/// `gc.DEBUG_COLLECTABLE`.
pub const DEBUG_COLLECTABLE: DebugFlags = DebugFlags::COLLECTABLE;
/// `gc.DEBUG_UNCOLLECTABLE`.
pub const DEBUG_UNCOLLECTABLE: DebugFlags = DebugFlags::UNCOLLECTABLE;
/// `gc.DEBUG_SAVEALL`.
pub const DEBUG_SAVEALL: DebugFlags = DebugFlags::SAVEALL;
/// `gc.DEBUG_LEAK`.
pub const DEBUG_LEAK: DebugFlags = DebugFlags::LEAK;

/// `<Node 0x55d0c3a1b2c0>`, as CPython's debug output names objects.
pub(crate) fn object_repr(header: NonNull<ObjHeader>) -> String {
    // SAFETY: callers pass headers of allocated objects.
    let name = unsafe { rc_heap::raw::type_info(header) }.short_name();
    format!("<{name} {:#x}>", header.as_ptr() as usize)
}

/// A panic's message, or what kind of payload it had.
pub(crate) fn describe_panic(panic: &Panic) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
