//! Names for the objects a program holds from outside the heap (`"_cache"`, `"REGISTRY"`),
//! so that graphs show where a chain starts in the program's words.

use std::cell::RefCell;
use std::collections::HashMap;

use rc_heap::{GcAny, ObjectId};

thread_local! {
    static NAMES: RefCell<HashMap<ObjectId, String>> = RefCell::new(HashMap::new());
}

/// Names `object` (this thread's heap) so that graphs show it by name, e.g. the global
/// cache of the article as `"_cache"`. The name goes with the object: it is forgotten when
/// the object dies. Naming an object again replaces its name.
///
/// ```
/// use cyclegc::Gc;
///
/// let cache = Gc::new(std::cell::RefCell::new(Vec::<Gc<String>>::new()));
/// objgraph::name_root(&Gc::to_any(&cache), "_cache");
/// assert_eq!(objgraph::root_name(&Gc::to_any(&cache)).as_deref(), Some("_cache"));
/// ```
pub fn name_root(object: &GcAny, name: impl Into<String>) {
    let id = object.id();
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        names.retain(|&id, _| GcAny::from_id(id).is_some());
        names.insert(id, name.into());
    });
}

/// Forgets the name of `object`; returns it.
pub fn forget_root_name(object: &GcAny) -> Option<String> {
    let id = object.id();
    NAMES.with(|names| names.borrow_mut().remove(&id))
}

/// The name given to `object` with [`name_root`].
pub fn root_name(object: &GcAny) -> Option<String> {
    named_roots().remove(&object.addr())
}

/// The living named objects, by address.
pub(crate) fn named_roots() -> HashMap<usize, String> {
    NAMES.with(|names| {
        names.borrow().iter().filter_map(|(&id, name)| Some((GcAny::from_id(id)?.addr(), name.clone()))).collect()
    })
}
