//! `#[derive(Trace)]` for cyclegc's heap.
//!
//! ```ignore
//! #[derive(Trace)]
//! struct Node {
//!     name: String,                 // a leaf: nothing to trace
//!     next: RefCell<Option<Gc<Node>>>,
//!     #[trace(skip)]
//!     cache: Option<Gc<Blob>>,      // not traced: treated as held from outside
//! }
//! ```
//!
//! The derive writes `rc_heap::Trace` so that it visits every owned `Gc` once, labels each
//! edge with its field name (tuple index, enum variant), and declares the type a leaf
//! (untracked) when no traced field can hold a `Gc` or a `Weak`. Types that hold each other
//! by value compile: the question is asked through at most eight derived types, and a type
//! whose answer would depend on itself, or on a deeper chain, is tracked (the safe answer).
//!
//! Attributes:
//!
//! | attribute | on | effect |
//! |---|---|---|
//! | `#[trace(skip)]` | field | not traced: whatever it holds is kept alive as if held from outside (at worst a leak) |
//! | `#[trace(flatten)]` | field | traced, its edges labelled without the field's name (`list[3]` rather than `list.inner[3]`, for a wrapper's inner field) |
//! | `#[trace(finalize)]` | type | the type implements `Finalize`; its `finalize` runs once before the object dies (Python's `__del__`) |
//! | `#[trace(describe)]` | type | graph labels show the value's `Debug` text |
//! | `#[trace(describe = path)]` | type | graph labels show `path(&value)`, a `fn(&Self) -> String` |
//! | `#[trace(tracked)]` | type | always tracked, without inspecting field types |
//! | `#[trace(bound = "T: Trace")]` | type | the impl's bounds, replacing the ones the derive infers (below) |
//! | `#[trace(crate = path)]`, `#[trace(crate = "path")]` | type | where the heap crate is (default `::rc_heap`, or through the facade's re-export `::cyclegc::rc_heap`, under the name the user's manifest gives the facade; the facade's root also works) |
//!
//! Generics: a type parameter that a traced field holds (`T`, `Vec<T>`, `Option<Box<T>>`) is
//! bounded by `Trace`; one used only behind `Gc`, `Weak` or `PhantomData`, as the objects of
//! a weak container (`WeakSet<T>`, `WeakProxy<T>`, the keys of a `WeakKeyDictionary<T, V>`,
//! the values of a `WeakValueDictionary<K, T>`), or only in skipped fields, just by
//! `'static`, so `Registry<dyn Plugin>` or `Session<std::fs::File>` need no `Trace` of their
//! parameter (a type of your own under one of these names may need `#[trace(bound = …)]`);
//! an associated type a traced field holds (`Option<I::Item>`) is bounded by `Trace` itself;
//! with `#[trace(describe)]` on a generic type, the impl also requires the type to be `Debug`
//! (`Node<T>: Debug`, so `T: Debug` where `Debug` is derived).
//!
//! A field whose type is a function pointer (`fn(&Request) -> Response`) holds nothing and is
//! not traced, whatever its signature (`Trace` is implemented for `fn(A, ..) -> R`, not for
//! the higher-ranked pointers that take references).
//!
//! Lifetimes and unions are rejected: heap values are `'static` and a union cannot say
//! which of its fields is live. So are the traced fields of a `#[repr(packed)]` struct,
//! which may be unaligned and cannot be borrowed.

mod ast;
mod bounds;
mod expand;

use proc_macro::TokenStream;

/// Derives `rc_heap::Trace`. See the [crate documentation](crate).
#[proc_macro_derive(Trace, attributes(trace))]
pub fn derive_trace(input: TokenStream) -> TokenStream {
    expand::derive(input.into(), quote::quote!(::rc_heap)).into()
}

/// The same derive, defaulting to the heap crate as re-exported by the `cyclegc` facade.
#[doc(hidden)]
#[proc_macro_derive(__TraceThroughCyclegc, attributes(trace))]
pub fn derive_trace_through_cyclegc(input: TokenStream) -> TokenStream {
    // A dependency renamed in the user's manifest (`gc = { package = "cyclegc", .. }`) is
    // reached by its new name.
    let krate = match proc_macro_crate::crate_name("cyclegc") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => {
            let name = quote::format_ident!("{name}");
            quote::quote!(::#name::rc_heap)
        }
        // The manifest was read and names no `cyclegc`: the derive came through a crate that
        // re-exports it, where `::cyclegc` does not resolve. Said plainly, unless the type
        // says where the heap is with `#[trace(crate = ...)]`.
        Err(proc_macro_crate::Error::CrateNotFound { .. }) => {
            return expand::derive_with_crate(input.into(), None).into();
        }
        _ => quote::quote!(::cyclegc::rc_heap),
    };
    expand::derive(input.into(), krate).into()
}
