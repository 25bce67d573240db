//! Programs shaped as an application's own, through the facade alone: a texture cache whose
//! loads recurse through the cache, an observer registry of trait objects that change while
//! they are notified, widget metadata that dies with its widget, a tree indexed by id with
//! weak parent pointers, and generic types of the program's own that hold weak containers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use cyclegc::weakref::value_dict::{Keys, Values};
use cyclegc::weakref::{WeakKeyDictionary, WeakSet, WeakValueDictionary};
use cyclegc::{Gc, Trace, Weak, coerce_gc, gc, objgraph};

/// What the program's destructors write, in order.
type Log = Rc<RefCell<Vec<String>>>;

fn scaled(n: usize, under_miri: usize) -> usize {
    if cfg!(miri) { under_miri } else { n }
}

// ------------------------------------------------------------------------------------------
// 1. A texture cache.

#[derive(Trace)]
struct Texture {
    name: String,
    pixels: Vec<u8>,
    /// The textures this one is built from (a material's maps); two materials that name each
    /// other make a cycle.
    deps: RefCell<Vec<Gc<Texture>>>,
    #[trace(skip)]
    log: Log,
}

impl Drop for Texture {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("drop {}", self.name));
    }
}

/// The renderer's asset cache: textures live as long as some scene holds them.
struct AssetCache {
    textures: WeakValueDictionary<String, Texture>,
    loads: Cell<usize>,
    log: Log,
}

impl AssetCache {
    fn new() -> AssetCache {
        AssetCache { textures: WeakValueDictionary::new(), loads: Cell::new(0), log: Log::default() }
    }

    /// The texture `name`, loaded on a miss. A name `a+b` is a material made of `a` and `b`,
    /// loaded through the cache from inside the load.
    fn load(&self, name: &str) -> Gc<Texture> {
        self.textures.get_or_insert_with(name.to_owned(), || {
            self.loads.set(self.loads.get() + 1);
            let deps = match name.split_once('+') {
                Some((a, b)) => vec![self.load(a), self.load(b)],
                None => Vec::new(),
            };
            Gc::new(Texture {
                name: name.to_owned(),
                pixels: vec![0; 4 * name.len()],
                deps: RefCell::new(deps),
                log: self.log.clone(),
            })
        })
    }

    fn names(&self) -> Keys<String, Texture> {
        self.textures.keys()
    }

    fn resident(&self) -> Values<String, Texture> {
        self.textures.values()
    }

    fn resident_bytes(&self) -> usize {
        self.resident().map(|texture| texture.pixels.len()).sum()
    }

    fn sorted_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.names().collect();
        names.sort();
        names
    }
}

#[test]
fn a_texture_cache_loads_once_and_forgets_what_no_scene_holds() {
    let cache = AssetCache::new();
    let grass = cache.load("grass");
    let again = cache.load("grass");
    assert!(Gc::ptr_eq(&grass, &again));
    assert_eq!(cache.loads.get(), 1);

    // A material loads its maps through the cache from inside its own load.
    let turf = cache.load("grass+dirt");
    assert_eq!(cache.loads.get(), 3, "grass was cached, dirt and the material were loaded");
    assert!(Gc::ptr_eq(&turf.deps.borrow()[0], &grass));
    assert_eq!(cache.sorted_names(), ["dirt", "grass", "grass+dirt"]);
    assert_eq!(cache.resident_bytes(), 4 * ("grass".len() + "dirt".len() + "grass+dirt".len()));

    // Lookups by `&str`, through every way of reading the map.
    assert_eq!(cache.textures.get("dirt").map(|t| t.name.clone()).as_deref(), Some("dirt"));
    assert!(cache.textures.get("stone").is_none());
    let mut by_iter: Vec<(String, usize)> = cache.textures.iter().map(|(k, t)| (k, t.pixels.len())).collect();
    by_iter.sort();
    let mut by_items: Vec<(String, usize)> = cache.textures.items().map(|(k, t)| (k, t.pixels.len())).collect();
    by_items.sort();
    assert_eq!(by_iter, by_items);
    let mut by_for = Vec::new();
    for (name, texture) in &cache.textures {
        assert_eq!(name, texture.name);
        by_for.push(name);
    }
    by_for.sort();
    assert_eq!(by_for, cache.sorted_names());

    // The scene lets go of the plain textures: the material still holds them.
    drop((grass, again));
    assert_eq!(cache.textures.len(), 3);
    assert!(cache.log.borrow().is_empty());
    // It lets go of the material: all three die at once, no collection needed.
    drop(turf);
    assert!(cache.textures.is_empty());
    assert_eq!(cache.names().count(), 0);
    let mut dropped = cache.log.borrow().clone();
    dropped.sort();
    assert_eq!(dropped, ["drop dirt", "drop grass", "drop grass+dirt"]);

    // A miss after the death loads again.
    let grass = cache.load("grass");
    assert_eq!(cache.loads.get(), 4);
    assert_eq!(cache.sorted_names(), ["grass"]);
    drop(grass);
}

#[test]
fn textures_in_a_cycle_stay_cached_until_the_collector_frees_them() {
    let cache = AssetCache::new();
    let n = scaled(200, 6);
    // Pairs of materials that name each other (a water surface and its reflection).
    let mut scene = Vec::new();
    for i in 0..n {
        let a = cache.load(&format!("water{i}"));
        let b = cache.load(&format!("reflection{i}"));
        a.deps.borrow_mut().push(b.clone());
        b.deps.borrow_mut().push(a.clone());
        scene.push(a);
    }
    let lone = cache.load("sky");
    assert_eq!(cache.textures.len(), 2 * n + 1);

    // The scene unloads half its pairs: reference counting cannot free a cycle.
    let kept = scene.split_off(n / 2);
    drop(scene);
    assert_eq!(cache.textures.len(), 2 * n + 1);
    assert!(cache.log.borrow().is_empty());

    // A frame walks the cache and collects in the middle of the walk: the walk goes on,
    // and meets no texture that died before it reached it.
    let mut seen = 0;
    let mut collected = 0;
    for (i, texture) in cache.resident().enumerate() {
        assert!(!texture.name.is_empty());
        seen += 1;
        // The loop's handle would keep its texture (and its pair) alive: let go first.
        drop(texture);
        if i == 0 {
            collected = gc::collect();
        }
    }
    assert_eq!(collected, 2 * (n / 2), "each unloaded pair is two objects");
    assert!((1 + 2 * (n - n / 2)..=2 * n + 1).contains(&seen), "seen {seen}");
    assert_eq!(cache.textures.len(), 2 * (n - n / 2) + 1);
    assert_eq!(cache.log.borrow().len(), 2 * (n / 2));
    assert!(cache.textures.get("water0").is_none());
    assert!(cache.textures.get(&format!("water{}", n - 1)).is_some());

    // Everything goes: the last pairs with the collector, the sky by its count.
    drop(kept);
    drop(lone);
    assert_eq!(cache.textures.len(), 2 * (n - n / 2));
    gc::collect();
    assert!(cache.textures.is_empty());
    assert_eq!(cache.log.borrow().len(), 2 * n + 1);
    assert_eq!(cache.resident_bytes(), 0);
}

// ------------------------------------------------------------------------------------------
// 2. An observer registry of trait objects.

trait Listener {
    fn name(&self) -> String;
    /// Called for each event, with the handle the registry holds this listener by.
    fn notify(&self, registry: &Registry, me: &Gc<dyn Listener>, event: &str);
}

#[derive(Trace)]
struct Registry {
    listeners: WeakSet<dyn Listener>,
    /// Handles the registry keeps for listeners nobody else owns ("fire and forget").
    owned: RefCell<Vec<Gc<dyn Listener>>>,
    #[trace(skip)]
    log: Log,
}

impl Registry {
    fn new() -> Registry {
        Registry { listeners: WeakSet::new(), owned: RefCell::default(), log: Log::default() }
    }

    fn publish(&self, event: &str) -> usize {
        let mut notified = 0;
        for listener in &self.listeners {
            self.log.borrow_mut().push(format!("{} <- {event}", listener.name()));
            listener.notify(self, &listener, event);
            notified += 1;
        }
        notified
    }
}

/// What each kind of listener does when notified.
enum Behaviour {
    Plain,
    /// Unsubscribes itself.
    Once,
    /// Drops the registry's handles, killing whatever only the registry owned.
    ClearOwned,
    /// Subscribes a new listener the first time.
    Spawn(Cell<bool>),
}

#[derive(Trace)]
#[trace(tracked)]
struct Button {
    label: String,
    #[trace(skip)]
    behaviour: Behaviour,
    #[trace(skip)]
    log: Log,
}

impl Drop for Button {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("{} dropped", self.label));
    }
}

impl Listener for Button {
    fn name(&self) -> String {
        self.label.clone()
    }

    fn notify(&self, registry: &Registry, me: &Gc<dyn Listener>, _event: &str) {
        match &self.behaviour {
            Behaviour::Plain => {}
            Behaviour::Once => assert!(registry.listeners.remove(me)),
            Behaviour::ClearOwned => registry.owned.borrow_mut().clear(),
            Behaviour::Spawn(done) => {
                if !done.replace(true) {
                    let child = button("child", Behaviour::Plain, &registry.log);
                    registry.listeners.add(&child);
                    registry.owned.borrow_mut().push(child);
                }
            }
        }
    }
}

fn button(label: &str, behaviour: Behaviour, log: &Log) -> Gc<dyn Listener> {
    coerce_gc!(Gc::new(Button { label: label.to_owned(), behaviour, log: log.clone() }) => dyn Listener)
}

fn position(log: &Log, line: &str) -> Option<usize> {
    log.borrow().iter().position(|l| l == line)
}

#[test]
fn trait_object_listeners_leave_die_and_join_while_the_registry_notifies() {
    let registry = Registry::new();
    let plain = button("plain", Behaviour::Plain, &registry.log);
    let once = button("once", Behaviour::Once, &registry.log);
    let killer = button("killer", Behaviour::ClearOwned, &registry.log);
    let spawner = button("spawner", Behaviour::Spawn(Cell::new(false)), &registry.log);
    let victim = button("victim", Behaviour::Plain, &registry.log);
    for listener in [&plain, &once, &killer, &spawner, &victim] {
        assert!(registry.listeners.add(listener));
    }
    assert!(!registry.listeners.add(&plain), "a listener is subscribed once");
    // The victim lives only through the registry's handle, which the killer drops.
    registry.owned.borrow_mut().push(victim.clone());
    drop(victim);
    assert_eq!(registry.listeners.len(), 5);

    let first = registry.publish("click");
    let log = registry.log.clone();
    // The victim died inside the killer's call, whenever the walk reached the killer.
    let killed_at = position(&log, "victim dropped").expect("the victim died");
    assert_eq!(position(&log, "killer <- click"), Some(killed_at - 1));
    // It was notified only if the walk met it before it died, and then only once.
    let victim_notified = position(&log, "victim <- click");
    assert!(victim_notified.is_none_or(|at| at < killed_at), "{:?}", log.borrow());
    // The child joined during the walk: met in this walk or not, never twice.
    let child_notified = log.borrow().iter().filter(|l| *l == "child <- click").count();
    assert!(child_notified <= 1);
    assert_eq!(first, 4 + usize::from(victim_notified.is_some()) + child_notified);
    for name in ["plain", "once", "killer", "spawner"] {
        assert!(position(&log, &format!("{name} <- click")).is_some(), "{name}: {:?}", log.borrow());
    }

    // `once` left, the victim is dead, the child joined.
    assert!(!registry.listeners.contains(&once));
    assert_eq!(registry.listeners.len(), 4);
    let mut names: Vec<String> = registry.listeners.iter().map(|l| l.name()).collect();
    names.sort();
    assert_eq!(names, ["child", "killer", "plain", "spawner"]);

    // The second event meets exactly the subscribers; the killer now kills the child.
    log.borrow_mut().clear();
    let second = registry.publish("key");
    assert!(position(&log, "child dropped").is_some());
    assert!((3..=4).contains(&second), "{:?}", log.borrow());
    assert_eq!(registry.listeners.len(), 3);
    log.borrow_mut().clear();
    assert_eq!(registry.publish("scroll"), 3);

    drop((plain, killer, spawner));
    assert!(registry.listeners.is_empty());
    assert_eq!(registry.publish("quit"), 0);
    drop(once);
    let mut dropped: Vec<String> = log.borrow().iter().filter(|l| l.ends_with("dropped")).cloned().collect();
    dropped.sort();
    assert_eq!(dropped, ["killer dropped", "once dropped", "plain dropped", "spawner dropped"]);
}

/// A listener that holds itself through the registry it listens to: `registry -> owned ->
/// listener -> registry` is a cycle, found while the registry is being walked.
#[derive(Trace)]
struct Watcher {
    registry: Gc<Registry>,
    #[trace(skip)]
    log: Log,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.log.borrow_mut().push("watcher dropped".to_owned());
    }
}

impl Listener for Watcher {
    fn name(&self) -> String {
        "watcher".to_owned()
    }

    fn notify(&self, _: &Registry, _: &Gc<dyn Listener>, _: &str) {}
}

#[test]
fn a_collection_during_notification_frees_a_registry_cycle_and_the_walk_ends_cleanly() {
    let log = Log::default();
    // A registry kept alive only by its own listener.
    let orphan = Gc::new(Registry::new());
    let watcher: Gc<dyn Listener> =
        coerce_gc!(Gc::new(Watcher { registry: orphan.clone(), log: log.clone() }) => dyn Listener);
    orphan.owned.borrow_mut().push(watcher.clone());
    orphan.listeners.add(&watcher);

    // The app's registry; one of its listeners runs the collector.
    let registry = Registry::new();
    let collector = button("collector", Behaviour::Plain, &log);
    registry.listeners.add(&collector);
    registry.listeners.add(&watcher);
    drop(watcher);
    drop(orphan);
    assert_eq!(registry.listeners.len(), 2);

    let mut met = Vec::new();
    for listener in &registry.listeners {
        met.push(listener.name());
        if listener.name() == "collector" {
            assert!(gc::collect() >= 2, "the orphan registry and its watcher");
        }
    }
    assert!(met.contains(&"collector".to_owned()));
    assert_eq!(*log.borrow(), ["watcher dropped"]);
    assert_eq!(registry.listeners.len(), 1);
    assert_eq!(registry.publish("tick"), 1);
    drop(collector);
}

// ------------------------------------------------------------------------------------------
// 3. Widget metadata that dies with its widget.

#[derive(Trace)]
struct Widget {
    id: u32,
    /// A widget and its panel hold each other.
    panel: RefCell<Option<Gc<Panel>>>,
}

#[derive(Trace)]
struct Panel {
    title: String,
    children: RefCell<Vec<Gc<Widget>>>,
    /// Layout metadata per child; each entry's value holds the panel back.
    layout: WeakKeyDictionary<Widget, Metadata>,
}

#[derive(Trace)]
struct Metadata {
    width: u32,
    panel: Option<Gc<Panel>>,
    #[trace(skip)]
    log: Log,
}

impl Drop for Metadata {
    fn drop(&mut self) {
        self.log.borrow_mut().push(format!("metadata {} dropped", self.width));
    }
}

fn metadata(width: u32, panel: Option<&Gc<Panel>>, log: &Log) -> Metadata {
    Metadata { width, panel: panel.cloned(), log: log.clone() }
}

#[test]
fn metadata_dies_the_moment_its_widget_does() {
    let log = Log::default();
    let meta: WeakKeyDictionary<Widget, Metadata> = WeakKeyDictionary::new();
    let widgets: Vec<Gc<Widget>> = (0..3).map(|id| Gc::new(Widget { id, panel: RefCell::new(None) })).collect();
    for widget in &widgets {
        meta.insert(widget, metadata(100 + widget.id, None, &log));
    }
    assert_eq!(meta.with_value(&widgets[1], |m| m.width), Some(101));
    let mut widths: Vec<u32> = meta.keys().map(|w| meta.with_value(&w, |m| m.width).unwrap()).collect();
    widths.sort();
    assert_eq!(widths, [100, 101, 102]);

    let mut widgets = widgets.into_iter();
    let first = widgets.next().unwrap();
    let rest: Vec<_> = widgets.collect();
    drop(first);
    // No collection: the value went with its key's last handle.
    assert_eq!(*log.borrow(), ["metadata 100 dropped"]);
    assert_eq!(meta.len(), 2);
    // Replacing a value hands the old one back; dropping it runs its destructor.
    let old = meta.insert(&rest[0], metadata(201, None, &log)).expect("an old value");
    assert_eq!(old.width, 101);
    drop(old);
    assert_eq!(log.borrow().last().map(String::as_str), Some("metadata 101 dropped"));
    drop(rest);
    assert!(meta.is_empty());
    let mut lines = log.borrow().clone();
    lines.sort();
    assert_eq!(lines, ["metadata 100 dropped", "metadata 101 dropped", "metadata 102 dropped", "metadata 201 dropped"]);
}

#[test]
fn metadata_in_a_cycle_through_its_value_dies_with_the_collection() {
    let log = Log::default();
    let app_meta: WeakKeyDictionary<Widget, Metadata> = WeakKeyDictionary::new();
    let panel =
        Gc::new(Panel { title: "toolbar".to_owned(), children: RefCell::default(), layout: WeakKeyDictionary::new() });
    let n = scaled(50, 4) as u32;
    for id in 0..n {
        let widget = Gc::new(Widget { id, panel: RefCell::new(Some(panel.clone())) });
        // The panel's own map: value -> panel -> map, a cycle through the value.
        panel.layout.insert(&widget, metadata(id, Some(&panel), &log));
        // The app's map, held from outside: its value holds nothing.
        app_meta.insert(&widget, metadata(1000 + id, None, &log));
        panel.children.borrow_mut().push(widget);
    }
    assert_eq!(panel.layout.len(), n as usize);
    assert_eq!(app_meta.len(), n as usize);
    assert_eq!(panel.title, "toolbar");

    // One child leaves the panel: both its metadata go, without a collection (the panel's
    // map does not keep its key).
    let leaving = panel.children.borrow_mut().remove(0);
    leaving.panel.borrow_mut().take();
    drop(leaving);
    assert_eq!(log.borrow().len(), 2, "{:?}", log.borrow());
    assert!(position(&log, "metadata 0 dropped").is_some());
    assert!(position(&log, "metadata 1000 dropped").is_some());
    assert_eq!(panel.layout.len(), n as usize - 1);

    // The app closes the panel: panel, widgets and the panel's metadata are one garbage
    // cycle. Nothing dies until the collector runs.
    let probe: Weak<Panel> = Gc::downgrade(&panel);
    drop(panel);
    assert_eq!(log.borrow().len(), 2);
    assert_eq!(app_meta.len(), n as usize - 1);
    gc::collect();
    assert!(probe.upgrade().is_none());
    assert!(app_meta.is_empty(), "the widgets died in the collection, so did their entries");
    let lines = log.borrow();
    assert_eq!(lines.len(), 2 * n as usize);
    for id in 1..n {
        assert!(lines.contains(&format!("metadata {id} dropped")), "{id}");
        assert!(lines.contains(&format!("metadata {} dropped", 1000 + id)), "{id}");
    }
}

// ------------------------------------------------------------------------------------------
// 4. A tree with weak parent pointers and an index by id.

#[derive(Trace)]
struct Node {
    id: u64,
    parent: RefCell<Weak<Node>>,
    children: RefCell<Vec<Gc<Node>>>,
    /// A strong link to another node (a symlink in a file tree); one to an ancestor is a
    /// cycle.
    link: RefCell<Option<Gc<Node>>>,
}

struct Tree {
    root: Gc<Node>,
    index: WeakValueDictionary<u64, Node>,
    next_id: Cell<u64>,
}

impl Tree {
    fn new() -> Tree {
        let tree = Tree { root: Tree::node(0), index: WeakValueDictionary::new(), next_id: Cell::new(1) };
        tree.index.insert(0, &tree.root);
        tree
    }

    fn node(id: u64) -> Gc<Node> {
        Gc::new(Node { id, parent: RefCell::default(), children: RefCell::default(), link: RefCell::default() })
    }

    fn add_child(&self, parent: &Gc<Node>) -> Gc<Node> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let child = Tree::node(id);
        *child.parent.borrow_mut() = Gc::downgrade(parent);
        parent.children.borrow_mut().push(child.clone());
        self.index.insert(id, &child);
        child
    }

    /// A subtree under `parent` with `fanout` children per node, `depth` levels deep; returns
    /// its root and how many nodes it has.
    fn grow(&self, parent: &Gc<Node>, fanout: usize, depth: usize) -> (Gc<Node>, usize) {
        let top = self.add_child(parent);
        let mut count = 1;
        let mut level = vec![top.clone()];
        for _ in 1..depth {
            let mut next = Vec::new();
            for node in &level {
                for _ in 0..fanout {
                    next.push(self.add_child(node));
                }
            }
            count += next.len();
            level = next;
        }
        (top, count)
    }

    /// Detaches `node` from its parent; returns the handle the parent held.
    fn detach(&self, node: &Gc<Node>) -> Gc<Node> {
        let parent = node.parent.borrow().upgrade().expect("a parent");
        let mut children = parent.children.borrow_mut();
        let at = children.iter().position(|c| Gc::ptr_eq(c, node)).expect("a child of its parent");
        *node.parent.borrow_mut() = Weak::new();
        children.remove(at)
    }

    fn path(&self, id: u64) -> Vec<u64> {
        let mut path = Vec::new();
        let mut at = self.index.get(&id);
        while let Some(node) = at {
            path.push(node.id);
            at = node.parent.borrow().upgrade();
        }
        path.reverse();
        path
    }
}

#[test]
fn removing_subtrees_empties_the_index_by_counts_and_by_the_collector() {
    let tree = Tree::new();
    let fanout = scaled(4, 2);
    let depth = scaled(5, 3);
    let (left, left_count) = tree.grow(&tree.root, fanout, depth);
    let (right, right_count) = tree.grow(&tree.root, fanout, depth);
    assert_eq!(left_count, (0..depth).map(|d| fanout.pow(d as u32)).sum::<usize>());
    assert_eq!(tree.index.len(), 1 + left_count + right_count);

    // Paths follow the weak parent pointers through the index.
    let deepest = tree.next_id.get() - 1;
    let path = tree.path(deepest);
    assert_eq!(path.len(), depth + 1);
    assert_eq!(path[0], 0);
    assert_eq!(path[1], right.id);

    // The left subtree goes: reference counting frees it whole, children before the index
    // is read again.
    let left_id = left.id;
    let detached = tree.detach(&left);
    drop((left, detached));
    assert_eq!(tree.index.len(), 1 + right_count);
    assert!(tree.index.get(&left_id).is_none());
    assert!(tree.index.keys().all(|id| id == 0 || id >= right.id));
    let mut ids: Vec<u64> = tree.index.keys().collect();
    ids.sort_unstable();
    assert_eq!(ids.len(), 1 + right_count);
    assert_eq!(ids[1], right.id);

    // A deep node of the right subtree links back to the subtree's top: a cycle.
    let deep = tree.index.get(&deepest).expect("alive");
    *deep.link.borrow_mut() = Some(right.clone());
    drop(deep);
    let right_id = right.id;
    let detached = tree.detach(&right);
    drop((right, detached));
    assert_eq!(tree.index.len(), 1 + right_count, "the link keeps the subtree until a collection");
    assert!(tree.path(deepest).first() != Some(&0), "the subtree no longer reaches the root");
    assert_eq!(gc::collect(), right_count);
    assert_eq!(tree.index.len(), 1);
    assert!(tree.index.get(&right_id).is_none());
    assert_eq!(tree.index.items().map(|(id, node)| (id, node.id)).collect::<Vec<_>>(), [(0, 0)]);
    assert!(tree.root.children.borrow().is_empty());
}

#[test]
fn growing_and_pruning_the_tree_leaves_nothing_behind_for_objgraph() {
    let tree = Tree::new();
    objgraph::name_root(&Gc::to_any(&tree.root), "root");
    let (fanout, depth) = (scaled(3, 2), scaled(4, 2));
    let round = Cell::new(0);
    let cycles = Cell::new(0);
    let scenario = || {
        round.set(round.get() + 1);
        let (top, count) = tree.grow(&tree.root, fanout, depth);
        // Earlier rounds' cycles may still wait for a collection.
        assert!(tree.index.len() > count, "{} entries for {count} new nodes", tree.index.len());
        // Every other round with a cycle inside the subtree, left for a collection.
        if round.get() % 2 == 0 {
            let last = tree.index.get(&(tree.next_id.get() - 1)).expect("alive");
            *last.link.borrow_mut() = Some(top.clone());
            cycles.set(cycles.get() + 1);
        }
        let probe = Gc::downgrade(&top);
        drop(tree.detach(&top));
        drop(top);
        assert_eq!(probe.upgrade().is_some(), round.get() % 2 == 0, "only a cycle outlives its detachment");
    };
    let report = objgraph::LeakCheck::new().sites(false).run(scenario);
    assert!(report.is_clean(), "{report}");
    assert_eq!(tree.index.len(), 1);

    // The same by objgraph's growth table: a baseline, rounds of growing and pruning, and no
    // type above its peak.
    let query = objgraph::Query::default();
    objgraph::show_growth(None, &query, &mut std::io::sink()).unwrap();
    let nodes_before = objgraph::count("Node", &query);
    for _ in 0..scaled(20, 2) {
        scenario();
    }
    let mut growth = Vec::new();
    objgraph::show_growth(None, &query, &mut growth).unwrap();
    assert_eq!(String::from_utf8(growth).unwrap(), "");
    assert_eq!(objgraph::count("Node", &query), nodes_before);
    assert_eq!(nodes_before, 1, "only the root");

    // The rounds without a collection left a peak of garbage cycles in the index: it keeps
    // their room, as a `HashMap` keeps its capacity, until asked to give it back.
    let after_peak = tree.index.capacity();
    tree.index.shrink_to_fit();
    assert!(tree.index.capacity() < after_peak || cfg!(miri), "{} >= {after_peak}", tree.index.capacity());
    assert_eq!(tree.index.items().map(|(id, _)| id).collect::<Vec<_>>(), [0]);

    // An index of fresh ids whose entries keep dying does not keep growing: it reuses the
    // room of the dead, whatever the ids.
    let peak = 1 + (0..depth).map(|d| fanout.pow(d as u32)).sum::<usize>();
    let mut capacities = Vec::new();
    for _ in 0..scaled(300, 3) {
        scenario();
        gc::collect();
        capacities.push(tree.index.capacity());
    }
    assert!(cycles.get() >= 2, "the check and the loops made cycles");
    let largest = capacities.iter().copied().max().unwrap();
    assert!(largest <= 4 * peak.max(16), "capacity {largest} for at most {peak} entries: {capacities:?}");
    assert!(tree.next_id.get() as usize > 10 * largest || cfg!(miri), "the ids ran far past the capacity");
}

// ------------------------------------------------------------------------------------------
// 5. The program's own generic types holding weak containers.

/// A named group of objects of any type, `dyn Trait` included: the derive asks no `Trace` of
/// `T`, which is only behind `Gc` and in weak containers as their weakly held objects.
#[derive(Trace)]
struct Group<T: ?Sized + 'static> {
    name: String,
    /// Members the group keeps alive itself (its leader).
    pinned: RefCell<Vec<Gc<T>>>,
    members: WeakSet<T>,
    by_name: WeakValueDictionary<String, T>,
    notes: WeakKeyDictionary<T, String>,
}

impl<T: ?Sized + 'static> Group<T> {
    fn new(name: &str) -> Group<T> {
        Group {
            name: name.to_owned(),
            pinned: RefCell::default(),
            members: WeakSet::new(),
            by_name: WeakValueDictionary::new(),
            notes: WeakKeyDictionary::new(),
        }
    }

    fn join(&self, name: &str, member: &Gc<T>) {
        self.members.add(member);
        self.by_name.insert(name.to_owned(), member);
        self.notes.insert(member, format!("{name} joined {}", self.name));
    }
}

/// Where a scene object's data comes from.
#[derive(Trace)]
enum Source<T: 'static> {
    None,
    Owned(Gc<T>),
    Shared(Weak<T>),
    Pool(WeakValueDictionary<u32, T>),
    Tagged { tag: String, items: WeakSet<T> },
}

impl<T: 'static> Source<T> {
    fn live(&self) -> usize {
        match self {
            Source::None => 0,
            Source::Owned(_) => 1,
            Source::Shared(weak) => usize::from(weak.upgrade().is_some()),
            Source::Pool(pool) => pool.len(),
            Source::Tagged { items, .. } => items.len(),
        }
    }
}

/// A scene object that names the group it belongs to (a cycle through the group's value
/// map when the group lives in the heap too).
#[derive(Trace)]
struct Sprite {
    frame: u32,
    group: RefCell<Option<Gc<Group<Sprite>>>>,
    source: RefCell<Source<Sprite>>,
}

fn sprite(frame: u32) -> Gc<Sprite> {
    Gc::new(Sprite { frame, group: RefCell::default(), source: RefCell::new(Source::None) })
}

#[test]
fn generic_structs_and_enums_hold_weak_containers_of_concrete_and_trait_object_types() {
    // A group of trait objects.
    let log = Log::default();
    let buttons: Gc<Group<dyn Listener>> = Gc::new(Group::new("toolbar"));
    let ok = button("ok", Behaviour::Plain, &log);
    let cancel = button("cancel", Behaviour::Plain, &log);
    buttons.join("ok", &ok);
    buttons.join("cancel", &cancel);
    assert_eq!(buttons.by_name.get("ok").map(|b| b.name()).as_deref(), Some("ok"));
    assert_eq!(buttons.notes.get(&cancel).as_deref(), Some("cancel joined toolbar"));
    drop(ok);
    assert_eq!((buttons.members.len(), buttons.by_name.len(), buttons.notes.len()), (1, 1, 1));
    assert_eq!(buttons.members.iter().map(|b| b.name()).collect::<Vec<_>>(), ["cancel"]);

    // A group of sprites, living in the heap and held back by its members.
    let group: Gc<Group<Sprite>> = Gc::new(Group::new("enemies"));
    let probe = Gc::downgrade(&group);
    let n = scaled(100, 5) as u32;
    let mut sprites = Vec::new();
    for frame in 0..n {
        let s = sprite(frame);
        group.join(&format!("enemy{frame}"), &s);
        *s.group.borrow_mut() = Some(group.clone());
        sprites.push(s);
    }
    // The sources, each variant in turn.
    let pool: WeakValueDictionary<u32, Sprite> = sprites.iter().map(|s| (s.frame, s.clone())).collect();
    assert_eq!(pool.len(), n as usize);
    let tagged: WeakSet<Sprite> = sprites.iter().step_by(2).collect();
    *sprites[0].source.borrow_mut() = Source::Pool(pool);
    *sprites[1].source.borrow_mut() = Source::Tagged { tag: "even".to_owned(), items: tagged };
    *sprites[2 % sprites.len()].source.borrow_mut() = Source::Shared(Gc::downgrade(&sprites[0]));
    let extra = sprite(n);
    *sprites[3 % sprites.len()].source.borrow_mut() = Source::Owned(extra.clone());
    let live: Vec<usize> = sprites.iter().take(4).map(|s| s.source.borrow().live()).collect();
    assert_eq!(live[..2], [n as usize, n.div_ceil(2) as usize]);
    if let Source::Tagged { tag, .. } = &*sprites[1].source.borrow() {
        assert_eq!(tag, "even");
    }

    // The collector follows the derived impls: the group is a referent of each sprite, and
    // the leader one of the group's, by a field of the generic type.
    group.pinned.borrow_mut().push(sprites[0].clone());
    let of_sprite = gc::get_referents(&[Gc::to_any(&sprites[1])]);
    assert!(of_sprite.iter().any(|r| r.ptr_eq(&Gc::to_any(&group))), "the sprite's group is its referent");
    drop(of_sprite);
    let referents = gc::get_referents(&[Gc::to_any(&group)]);
    assert_eq!(referents.len(), 1, "the pinned leader only; the weak containers own nothing");
    assert!(referents[0].ptr_eq(&Gc::to_any(&sprites[0])));
    drop(referents);
    drop(group);
    assert!(probe.upgrade().is_some(), "the sprites keep their group");
    sprites.truncate(sprites.len() / 2);
    let survivors = sprites.len();
    let group = probe.upgrade().unwrap();
    assert_eq!(group.members.len(), survivors, "the dropped half died by their counts");
    assert_eq!(group.by_name.len(), survivors);
    drop(group);

    // Drop the rest: the leader and the group hold each other, freed by the collector.
    let leader = Gc::downgrade(&sprites[0]);
    drop(sprites);
    assert!(probe.upgrade().is_some());
    assert!(leader.upgrade().is_some());
    assert!(gc::collect() >= 2);
    assert!(probe.upgrade().is_none());
    assert!(leader.upgrade().is_none());
    assert_eq!(Gc::strong_count(&extra), 1, "the owning sprite let go of it");
}
