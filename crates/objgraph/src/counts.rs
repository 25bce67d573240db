//! Counting the tracked objects by type.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::io::{self, Write};

use rc_heap::{GcAny, ObjectId, TypeInfo};

/// Which objects a query looks at, and how it names their types: objgraph's `objects`,
/// `shortnames` and `filter` arguments, with objgraph's defaults (every tracked object,
/// short names, no filter).
///
/// ```
/// let full = objgraph::Query { shortnames: false, ..Default::default() };
/// # let _ = full;
/// ```
#[derive(Clone, Copy)]
pub struct Query<'a> {
    /// The objects to look at; every tracked object when `None` (`gc.get_objects()`).
    pub objects: Option<&'a [GcAny]>,
    /// Short type names (`Node<String>`, the default, as objgraph's `shortnames=True`);
    /// `false` for full paths (`app::graph::Node<alloc::string::String>`).
    pub shortnames: bool,
    /// Only objects for which this returns `true` are counted.
    pub filter: Option<&'a dyn Fn(&GcAny) -> bool>,
}

impl Default for Query<'_> {
    fn default() -> Self {
        Query { objects: None, shortnames: true, filter: None }
    }
}

impl std::fmt::Debug for Query<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("objects", &self.objects.map(<[GcAny]>::len))
            .field("shortnames", &self.shortnames)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl Query<'_> {
    /// Calls `f` on every object the query selects.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&GcAny)) {
        let owned;
        let objects = match self.objects {
            Some(objects) => objects,
            None => {
                owned = gen_gc::get_objects(None);
                &owned
            }
        };
        for object in objects {
            if self.filter.is_none_or(|filter| filter(object)) {
                f(object);
            }
        }
    }
}

/// Type names, computed once per type.
#[derive(Default)]
pub(crate) struct Names {
    full: bool,
    cache: HashMap<*const TypeInfo, String>,
}

impl Names {
    pub(crate) fn new(full: bool) -> Self {
        Names { full, cache: HashMap::new() }
    }

    pub(crate) fn of(&mut self, object: &GcAny) -> &str {
        let info = object.type_info();
        let full = self.full;
        self.cache
            .entry(std::ptr::from_ref(info))
            .or_insert_with(|| if full { info.name().to_owned() } else { info.short_name() })
    }
}

/// Whether `object`'s type is `typename`: the full path if `typename` contains `::`, the
/// short name otherwise. A name without generic arguments (`Expr`) matches every
/// instance of the generic type (`Expr<i64>`, `Expr<f64>`), as a Python class name does.
fn matches(names: &mut (Names, Names), object: &GcAny, typename: &str) -> bool {
    let name = if typename.contains("::") { names.1.of(object) } else { names.0.of(object) };
    name == typename || (!typename.contains('<') && name.split_once('<').is_some_and(|(base, _)| base == typename))
}

/// The library's own types by the paths a program writes (the facade's, the crates' roots),
/// and by the paths `std::any::type_name` gives them, in full type names.
const PUBLIC_PATHS: &[(&str, &str)] = &[
    ("cyclegc::Gc", "rc_heap::gc::Gc"),
    ("rc_heap::Gc", "rc_heap::gc::Gc"),
    ("cyclegc::Weak", "rc_heap::weak_handle::Weak"),
    ("rc_heap::Weak", "rc_heap::weak_handle::Weak"),
    ("cyclegc::Closure", "rc_heap::callable::Closure"),
    ("rc_heap::Closure", "rc_heap::callable::Closure"),
    ("cyclegc::GcAny", "rc_heap::any::GcAny"),
    ("rc_heap::GcAny", "rc_heap::any::GcAny"),
    ("cyclegc::weakref::WeakSet", "weak_collections::set::WeakSet"),
    ("cyclegc::weak_collections::WeakSet", "weak_collections::set::WeakSet"),
    ("weak_collections::WeakSet", "weak_collections::set::WeakSet"),
    ("cyclegc::weakref::WeakKeyDictionary", "weak_collections::key_dict::WeakKeyDictionary"),
    ("cyclegc::weak_collections::WeakKeyDictionary", "weak_collections::key_dict::WeakKeyDictionary"),
    ("weak_collections::WeakKeyDictionary", "weak_collections::key_dict::WeakKeyDictionary"),
    ("cyclegc::weakref::WeakValueDictionary", "weak_collections::value_dict::WeakValueDictionary"),
    ("cyclegc::weak_collections::WeakValueDictionary", "weak_collections::value_dict::WeakValueDictionary"),
    ("weak_collections::WeakValueDictionary", "weak_collections::value_dict::WeakValueDictionary"),
];

/// std's types by the paths a program writes, and by the paths `std::any::type_name` gives
/// them, which name the crate and the module that define them (`core::cell::RefCell`,
/// `std::collections::hash::map::HashMap`) and may change between Rust versions: they are
/// read from `type_name` itself.
fn std_paths() -> [(&'static str, &'static str); 20] {
    fn path<T: ?Sized>() -> &'static str {
        let name = std::any::type_name::<T>();
        name.split_once('<').map_or(name, |(base, _)| base)
    }
    [
        ("std::cell::RefCell", path::<std::cell::RefCell<u8>>()),
        ("std::cell::Cell", path::<std::cell::Cell<u8>>()),
        ("std::cell::OnceCell", path::<std::cell::OnceCell<u8>>()),
        ("std::option::Option", path::<Option<u8>>()),
        ("std::vec::Vec", path::<Vec<u8>>()),
        ("std::string::String", path::<String>()),
        ("std::boxed::Box", path::<Box<u8>>()),
        ("std::rc::Rc", path::<std::rc::Rc<u8>>()),
        ("std::sync::Arc", path::<std::sync::Arc<u8>>()),
        ("std::sync::Mutex", path::<std::sync::Mutex<u8>>()),
        ("std::sync::RwLock", path::<std::sync::RwLock<u8>>()),
        ("std::collections::HashMap", path::<std::collections::HashMap<u8, u8>>()),
        ("std::collections::hash_map::HashMap", path::<std::collections::HashMap<u8, u8>>()),
        ("std::collections::HashSet", path::<std::collections::HashSet<u8>>()),
        ("std::collections::hash_set::HashSet", path::<std::collections::HashSet<u8>>()),
        ("std::collections::BTreeMap", path::<std::collections::BTreeMap<u8, u8>>()),
        ("std::collections::BTreeSet", path::<std::collections::BTreeSet<u8>>()),
        ("std::collections::VecDeque", path::<std::collections::VecDeque<u8>>()),
        ("std::collections::BinaryHeap", path::<std::collections::BinaryHeap<u8>>()),
        ("std::collections::LinkedList", path::<std::collections::LinkedList<u8>>()),
    ]
}

/// `typename` with the library's own types and std's written by their public paths
/// (`my_app::Cache<cyclegc::Gc<my_app::Entry>>`, `std::cell::RefCell<my_app::Node>`) put as
/// full type names write them (`rc_heap::gc::Gc`, `core::cell::RefCell`), so that a full
/// name a program writes matches.
fn with_type_name_paths(typename: &str) -> std::borrow::Cow<'_, str> {
    if !typename.contains("::") {
        return std::borrow::Cow::Borrowed(typename);
    }
    let std_paths = std_paths();
    let mut out = String::with_capacity(typename.len() + 16);
    let mut rest = typename;
    'text: while !rest.is_empty() {
        // A path starts at the beginning or after a character that cannot be in one.
        let at_start = out.chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'));
        if at_start {
            for &(public, full) in PUBLIC_PATHS.iter().chain(&std_paths) {
                if let Some(after) = rest.strip_prefix(public)
                    && !after.starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
                {
                    out.push_str(full);
                    rest = after;
                    continue 'text;
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// The number of selected objects of type `typename` (`objgraph.count`); `"Expr"` counts
/// every `Expr<..>`. A full path may name the library's types and std's by the paths a
/// program writes (`my_app::Cache<cyclegc::Gc<my_app::Entry>>`, `std::cell::RefCell`,
/// `std::collections::HashMap`) or as `type_name` writes them (`rc_heap::gc::Gc`,
/// `core::cell::RefCell`, `std::collections::hash::map::HashMap`).
///
/// As in Python, garbage that no collection has freed yet is counted too: a test that drops a
/// cycle and expects its objects gone calls `gen_gc::collect()` before counting.
pub fn count(typename: &str, query: &Query<'_>) -> usize {
    let typename = with_type_name_paths(typename);
    let mut names = (Names::new(false), Names::new(true));
    let mut total = 0;
    query.for_each(|object| total += usize::from(matches(&mut names, object, &typename)));
    total
}

/// The selected objects of type `typename` (`objgraph.by_type`), named as for [`count`].
pub fn by_type(typename: &str, query: &Query<'_>) -> Vec<GcAny> {
    let typename = with_type_name_paths(typename);
    let typename = typename.as_ref();
    let mut names = (Names::new(false), Names::new(true));
    let mut found = Vec::new();
    query.for_each(|object| {
        if matches(&mut names, object, typename) {
            found.push(object.clone());
        }
    });
    found
}

/// How many selected objects there are of each type (`objgraph.typestats`).
pub fn typestats(query: &Query<'_>) -> HashMap<String, usize> {
    let mut names = Names::new(!query.shortnames);
    let mut stats = HashMap::new();
    query.for_each(|object| *stats.entry(names.of(object).to_owned()).or_insert(0) += 1);
    stats
}

/// The types with the most selected objects, most first (ties by name), at most `limit`
/// of them (`objgraph.most_common_types`).
pub fn most_common_types(limit: Option<usize>, query: &Query<'_>) -> Vec<(String, usize)> {
    most_common(typestats(query), limit)
}

/// The rows of [`most_common_types`] for `stats`, counts of any kind of key.
pub(crate) fn most_common(stats: HashMap<String, usize>, limit: Option<usize>) -> Vec<(String, usize)> {
    let mut stats: Vec<(String, usize)> = stats.into_iter().collect();
    stats.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if let Some(limit) = limit.filter(|&limit| limit > 0) {
        stats.truncate(limit);
    }
    stats
}

/// Writes [`most_common_types`] as objgraph prints it: one `name count` line per type, the
/// names padded to the longest.
pub fn show_most_common_types(limit: Option<usize>, query: &Query<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_counts(&most_common_types(limit, query), out)
}

/// Writes objgraph's `%-*s %i` table.
pub(crate) fn write_counts(stats: &[(String, usize)], out: &mut dyn Write) -> io::Result<()> {
    let width = stats.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
    for (name, count) in stats {
        writeln!(out, "{name:<width$} {count}")?;
    }
    Ok(())
}

/// The live object `id` names (`objgraph.at`).
pub fn at(id: ObjectId) -> Option<GcAny> {
    GcAny::from_id(id)
}

/// The live objects among `ids`, in the order given: a slice, a `Vec` or a set of
/// [`ObjectId`]s, by value or by reference (`at_ids(&new_ids["Node"])` with what
/// [`get_new_ids`](crate::get_new_ids) returned).
pub fn at_ids<I>(ids: I) -> Vec<GcAny>
where
    I: IntoIterator,
    I::Item: Borrow<ObjectId>,
{
    ids.into_iter().filter_map(|id| at(*id.borrow())).collect()
}

/// `objgraph.at_addrs(address_set)`: the live objects among `ids`, in the order of their
/// ids rather than the order `ids` gives them. Ids play the role of Python's addresses here
/// (an id never names a new object once its own has died, as an address may).
///
/// objgraph returns its objects in the order `gc.get_objects()` meets them, whatever the
/// set's order; here a `HashSet`'s order changes from run to run (its hasher is seeded
/// afresh), so the objects are sorted by id: the same program finds them, and draws
/// `show_backrefs(&at_addrs(&new_ids["Node"]), ..)`, the same way in every run, as a
/// snapshot test needs. [`at_ids`] keeps the order given.
///
/// ```
/// use cyclegc::Gc;
///
/// let node = Gc::new(std::cell::RefCell::new(Vec::<Gc<u32>>::new()));
/// let ids = std::collections::HashSet::from([Gc::id(&node)]);
/// let found = objgraph::at_addrs(&ids);
/// assert!(found.len() == 1 && found[0].ptr_eq(&Gc::to_any(&node)));
/// ```
pub fn at_addrs<I>(ids: I) -> Vec<GcAny>
where
    I: IntoIterator,
    I::Item: Borrow<ObjectId>,
{
    let mut ids: Vec<ObjectId> = ids.into_iter().map(|id| *id.borrow()).collect();
    ids.sort_unstable();
    ids.dedup();
    at_ids(ids)
}

/// The selected objects that no tracked object refers to (`objgraph.get_leaking_objects`):
/// what holds everything else. In a leak hunt these are the objects held from outside the
/// heap — a global cache, a variable that outlived its use. As objgraph does, it collects
/// first, and looks for referrers among all tracked objects, also when `objects` selects a
/// few (`get_leaking_objects(Some(&by_type("Session", ..)))`: the sessions nothing on the
/// heap holds).
///
/// An object that cannot be traced while this runs (a `RefCell` of it mutably borrowed, a
/// `Mutex` locked) hides its references: what only it holds then shows here too, as held
/// by nothing on the heap. Ask outside any `borrow_mut` (guide, section 5).
pub fn get_leaking_objects(objects: Option<&[GcAny]>) -> Vec<GcAny> {
    /// The addresses of what a value holds, without the labels `referents` builds.
    struct Targets<'a>(&'a mut rustc_hash::FxHashSet<usize>);
    impl rc_heap::Visitor for Targets<'_> {
        fn visit_edge(&mut self, edge: rc_heap::Edge<'_>) {
            self.0.insert(edge.header().as_ptr() as usize);
        }
    }
    gen_gc::collect();
    let mut referenced = rustc_hash::FxHashSet::default();
    Query::default().for_each(|object| {
        let _ = object.trace_with(&mut Targets(&mut referenced));
    });
    let query = Query { objects, ..Query::default() };
    let mut leaking = Vec::new();
    query.for_each(|object| {
        if !referenced.contains(&object.addr()) {
            leaking.push(object.clone());
        }
    });
    leaking
}
