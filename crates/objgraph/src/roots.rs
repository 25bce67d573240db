//! Names for the objects a program holds from outside the heap (`"_cache"`, `"REGISTRY"`),
//! so that graphs show where a chain starts in the program's words.

use std::cell::RefCell;
use std::collections::HashMap;

use rc_heap::{GcAny, ObjectId};

thread_local! {
    static NAMES: RefCell<Names> = RefCell::new(Names::default());
}

/// The names given on this thread. Names of dead objects are dropped when the table has
/// doubled since it was last pruned, so that naming many objects costs a constant time each.
#[derive(Default)]
struct Names {
    by_id: HashMap<ObjectId, String>,
    /// The table's size after the last pruning.
    pruned_len: usize,
}

/// Tables smaller than this are never pruned.
const PRUNE_FROM: usize = 64;

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
    // The conversion is user code, which may ask for names: done before the table is lent.
    let name = name.into();
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if names.by_id.len() >= (2 * names.pruned_len).max(PRUNE_FROM) {
            names.by_id.retain(|&id, _| GcAny::from_id(id).is_some());
            names.pruned_len = names.by_id.len();
        }
        names.by_id.insert(id, name);
    });
}

/// Forgets the name of `object`; returns it.
pub fn forget_root_name(object: &GcAny) -> Option<String> {
    let id = object.id();
    NAMES.with(|names| names.borrow_mut().by_id.remove(&id))
}

/// The name given to `object` with [`name_root`].
pub fn root_name(object: &GcAny) -> Option<String> {
    let id = object.id();
    NAMES.with(|names| names.borrow().by_id.get(&id).cloned())
}

/// The living named objects, by address.
pub(crate) fn named_roots() -> HashMap<usize, String> {
    NAMES.with(|names| {
        names.borrow().by_id.iter().filter_map(|(&id, name)| Some((GcAny::from_id(id)?.addr(), name.clone()))).collect()
    })
}
