//! Programs shaped as an application's own, using the weak containers through the facade:
//! a cache of sessions and documents keyed several ways, an event bus whose listeners come
//! and go while it notifies them, and the leak test a user writes for a cache.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use cyclegc::weakref::{WeakKeyDictionary, WeakSet, WeakValueDictionary, finalize};
use cyclegc::{Gc, Trace, gc, objgraph};

// ------------------------------------------------------------------------------------------
// 1. An app cache.

#[derive(Trace, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct UserId(u64);

#[derive(Trace, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TenantId(u32);

#[derive(Trace, Debug, Clone, PartialEq, Eq, Hash)]
enum CacheKey {
    Home,
    Profile(UserId),
    Search { query: String, page: u32 },
}

#[derive(Trace)]
struct User {
    id: UserId,
    name: String,
    /// Sessions point back at their user and the user at its sessions: a cycle.
    sessions: RefCell<Vec<Gc<Session>>>,
}

#[derive(Trace)]
struct Session {
    token: String,
    user: RefCell<Option<Gc<User>>>,
    scratch: RefCell<HashMap<String, Gc<Document>>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Document {
    title: String,
    tags: Vec<String>,
}

/// The app's caches, as a struct of its own living on the heap.
#[derive(Trace)]
struct Caches {
    users: WeakValueDictionary<UserId, User>,
    sessions_by_token: WeakValueDictionary<String, Session>,
    docs_by_tenant: WeakValueDictionary<(TenantId, u32), Document>,
    pages: WeakValueDictionary<CacheKey, Document>,
}

fn caches() -> Gc<Caches> {
    Gc::new(Caches {
        users: WeakValueDictionary::new(),
        sessions_by_token: WeakValueDictionary::new(),
        docs_by_tenant: WeakValueDictionary::new(),
        pages: WeakValueDictionary::new(),
    })
}

fn user(id: u64, name: &str) -> Gc<User> {
    Gc::new(User { id: UserId(id), name: name.to_owned(), sessions: RefCell::new(Vec::new()) })
}

fn log_in(user: &Gc<User>, token: &str) -> Gc<Session> {
    let session = Gc::new(Session {
        token: token.to_owned(),
        user: RefCell::new(Some(user.clone())),
        scratch: RefCell::new(HashMap::new()),
    });
    user.sessions.borrow_mut().push(session.clone());
    session
}

fn document(title: &str, tags: &[&str]) -> Gc<Document> {
    Gc::new(Document { title: title.to_owned(), tags: tags.iter().map(|t| (*t).to_owned()).collect() })
}

#[test]
fn a_cache_keyed_by_newtypes_strings_tuples_and_enums_follows_the_app_handles() {
    let caches = caches();
    let ada = user(1, "ada");
    let bob = user(2, "bob");
    caches.users.insert(ada.id, &ada);
    caches.users.insert(bob.id, &bob);

    let ada_session = log_in(&ada, "tok-ada");
    let bob_session = log_in(&bob, "tok-bob");
    caches.sessions_by_token.insert(ada_session.token.clone(), &ada_session);
    caches.sessions_by_token.insert(bob_session.token.clone(), &bob_session);

    let report = document("Q3 report", &["finance", "draft"]);
    let memo = document("memo", &[]);
    ada_session.scratch.borrow_mut().insert("open".to_owned(), report.clone());
    caches.docs_by_tenant.insert((TenantId(7), 1), &report);
    caches.docs_by_tenant.insert((TenantId(7), 2), &memo);
    caches.docs_by_tenant.insert((TenantId(8), 1), &memo);

    caches.pages.insert(CacheKey::Home, &memo);
    caches.pages.insert(CacheKey::Profile(UserId(1)), &report);
    caches.pages.insert(CacheKey::Search { query: "q3".to_owned(), page: 1 }, &report);

    // Lookups by the key itself and by its borrowed form.
    assert_eq!(caches.users.get(&UserId(2)).map(|u| u.name.clone()).as_deref(), Some("bob"));
    assert!(caches.users.get(&UserId(3)).is_none());
    let by_token = caches.sessions_by_token.get("tok-ada").expect("a live session");
    assert!(Gc::ptr_eq(&by_token, &ada_session));
    assert!(caches.sessions_by_token.contains_key("tok-bob"));
    assert_eq!(caches.docs_by_tenant.get(&(TenantId(7), 1)).map(|d| d.tags.len()), Some(2));
    assert_eq!(
        caches.pages.get(&CacheKey::Search { query: "q3".to_owned(), page: 1 }).map(|d| d.title.clone()).as_deref(),
        Some("Q3 report"),
    );
    drop(by_token);

    // The app drops the memo: every entry whose value it was goes, whatever the key shape.
    drop(memo);
    assert!(caches.pages.get(&CacheKey::Home).is_none());
    assert_eq!(caches.pages.len(), 2);
    let mut tenant_keys: Vec<_> = caches.docs_by_tenant.keys().collect();
    tenant_keys.sort();
    assert_eq!(tenant_keys, [(TenantId(7), 1)]);

    // Bob logs out: user and session hold each other, so only the collector frees them.
    drop(bob_session);
    drop(bob);
    assert_eq!(caches.users.len(), 2, "a cycle stays until the collector runs");
    assert!(caches.sessions_by_token.contains_key("tok-bob"));
    assert!(gc::collect() >= 2);
    assert!(caches.users.get(&UserId(2)).is_none());
    assert!(!caches.sessions_by_token.contains_key("tok-bob"));
    let mut users: Vec<_> = caches.users.items().map(|(id, user)| (id, user.name.clone())).collect();
    users.sort();
    assert_eq!(users, [(UserId(1), "ada".to_owned())]);

    // Ada's session is the last holder of the report; dropping Ada's handles frees it all.
    drop(report);
    assert_eq!(caches.pages.len(), 2, "the session's scratch space keeps the report");
    drop(ada_session);
    drop(ada);
    gc::collect();
    assert!(caches.users.is_empty());
    assert!(caches.sessions_by_token.is_empty());
    assert!(caches.docs_by_tenant.is_empty());
    assert!(caches.pages.is_empty());
    assert_eq!(caches.pages.items().count(), 0);
}

#[test]
fn the_containers_debug_text_names_their_type_parameters_and_counts_in_words() {
    let caches = caches();
    assert_eq!(format!("{:?}", caches.users), "WeakValueDictionary<UserId, User>(0 entries)");
    let ada = user(1, "ada");
    caches.users.insert(ada.id, &ada);
    assert_eq!(format!("{:?}", caches.users), "WeakValueDictionary<UserId, User>(1 entry)");
    assert_eq!(format!("{:?}", caches.docs_by_tenant), "WeakValueDictionary<(TenantId, u32), Document>(0 entries)");
    let set: WeakSet<User> = WeakSet::new();
    set.add(&ada);
    assert_eq!(format!("{set:?}"), "WeakSet<User>(1 live)");
    let meta: WeakKeyDictionary<User, Cell<u32>> = WeakKeyDictionary::new();
    meta.insert(&ada, Cell::new(3));
    assert_eq!(format!("{meta:?}"), "WeakKeyDictionary<User, Cell<u32>>(1 entry)");
    let bob = user(2, "bob");
    meta.insert(&bob, Cell::new(0));
    assert_eq!(format!("{meta:?}"), "WeakKeyDictionary<User, Cell<u32>>(2 entries)");
    drop((ada, bob));
    assert_eq!(format!("{:?}", caches.users), "WeakValueDictionary<UserId, User>(0 entries)");
    assert_eq!(format!("{meta:?}"), "WeakKeyDictionary<User, Cell<u32>>(0 entries)");
}

#[test]
fn get_or_insert_through_setdefault_keeps_the_first_value() {
    let docs: WeakValueDictionary<String, Document> = WeakValueDictionary::new();
    let first = document("first", &[]);
    let got = docs.setdefault("k".to_owned(), &first);
    assert!(Gc::ptr_eq(&got, &first));
    let second = document("second", &[]);
    let got = docs.setdefault("k".to_owned(), &second);
    assert_eq!(got.title, "first");
    // Replacing the value hands back the old one while it lives.
    let old = docs.insert("k".to_owned(), &second).expect("the first is alive");
    assert_eq!(old.title, "first");
    drop((old, got, first));
    assert_eq!(docs.get("k").map(|d| d.title.clone()).as_deref(), Some("second"));
    // A popped entry is gone even while its value lives.
    assert!(docs.pop("k").is_some());
    assert!(docs.is_empty());
    assert!(docs.get("k").is_none());
}

// ------------------------------------------------------------------------------------------
// 2. An event bus.

type Log = Rc<RefCell<Vec<String>>>;

/// A listener's reaction to an event, given the bus and the listener itself.
type OnEvent = Box<dyn Fn(&Bus, &Gc<Listener>, &str)>;

#[derive(Trace)]
struct Listener {
    name: String,
    #[trace(skip)]
    log: Log,
    /// What the listener does when notified, given the bus and itself.
    #[trace(skip)]
    on_event: OnEvent,
}

#[derive(Trace)]
struct Bus {
    listeners: WeakSet<Listener>,
    /// Per-listener metadata: how many events each one saw.
    seen: WeakKeyDictionary<Listener, Cell<u32>>,
    /// Handles the bus hands out and drops on request, to let listeners die mid-notification.
    #[trace(skip)]
    owned_elsewhere: RefCell<Vec<Gc<Listener>>>,
}

impl Bus {
    fn new() -> Bus {
        Bus { listeners: WeakSet::new(), seen: WeakKeyDictionary::new(), owned_elsewhere: RefCell::new(Vec::new()) }
    }

    fn subscribe(&self, listener: &Gc<Listener>) {
        self.listeners.add(listener);
        self.seen.insert(listener, Cell::new(0));
    }

    fn publish(&self, event: &str) -> usize {
        let mut notified = 0;
        for listener in &self.listeners {
            self.seen.with_value(&listener, |count| count.set(count.get() + 1));
            listener.log.borrow_mut().push(format!("{} got {event}", listener.name));
            (listener.on_event)(self, &listener, event);
            notified += 1;
        }
        notified
    }

    fn seen(&self, listener: &Gc<Listener>) -> Option<u32> {
        self.seen.with_value(listener, Cell::get)
    }
}

fn listener(name: &str, log: &Log, on_event: impl Fn(&Bus, &Gc<Listener>, &str) + 'static) -> Gc<Listener> {
    let listener = Gc::new(Listener { name: name.to_owned(), log: log.clone(), on_event: Box::new(on_event) });
    let log = log.clone();
    let name = name.to_owned();
    finalize(&listener, move || log.borrow_mut().push(format!("{name} finalized")));
    listener
}

fn sorted(log: &Log) -> Vec<String> {
    let mut lines = log.borrow().clone();
    lines.sort();
    lines
}

#[test]
fn listeners_unsubscribe_and_die_while_the_bus_notifies_them() {
    let log: Log = Rc::default();
    let bus = Bus::new();
    let plain = listener("plain", &log, |_, _, _| {});
    let once = listener("once", &log, |bus, me, _| bus.listeners.discard(me));
    let doomed = listener("doomed", &log, |bus, _, _| bus.owned_elsewhere.borrow_mut().clear());
    for l in [&plain, &once, &doomed] {
        bus.subscribe(l);
    }
    bus.owned_elsewhere.borrow_mut().push(doomed.clone());
    drop(doomed);
    assert_eq!(bus.listeners.len(), 3);
    assert_eq!(bus.seen.len(), 3);

    let notified = bus.publish("start");
    // `doomed` may have dropped its last handle before or after the others ran; whichever
    // listeners were met ran once, and the dead one's finalizer ran exactly once.
    assert!((2..=3).contains(&notified), "notified {notified}");
    let lines = sorted(&log);
    assert_eq!(lines.iter().filter(|l| *l == "doomed finalized").count(), 1, "{lines:?}");
    assert!(lines.contains(&"plain got start".to_owned()), "{lines:?}");
    assert!(lines.contains(&"once got start".to_owned()), "{lines:?}");

    // `once` left; `doomed` is dead and its metadata went with it.
    assert!(!bus.listeners.contains(&once));
    assert!(bus.listeners.contains(&plain));
    assert_eq!(bus.listeners.len(), 1);
    assert_eq!(bus.seen.len(), 2, "`once` unsubscribed but its metadata stays while it lives");
    assert_eq!(bus.seen(&plain), Some(1));
    assert_eq!(bus.seen(&once), Some(1));

    log.borrow_mut().clear();
    assert_eq!(bus.publish("again"), 1);
    assert_eq!(sorted(&log), ["plain got again"]);
    assert_eq!(bus.seen(&plain), Some(2));

    drop(once);
    assert_eq!(sorted(&log), ["once finalized", "plain got again"]);
    assert_eq!(bus.seen.len(), 1);
}

#[test]
fn a_listener_in_a_cycle_leaves_the_bus_when_the_collector_runs() {
    let log: Log = Rc::default();
    let bus = Rc::new(Bus::new());

    #[derive(Trace)]
    struct Widget {
        label: String,
        listener: RefCell<Option<Gc<Listener>>>,
        /// The widget's own handle to itself through its listener's closure would need a
        /// weak ref; instead it holds itself through a Vec: a cycle.
        me: RefCell<Vec<Gc<Widget>>>,
    }

    let widget =
        Gc::new(Widget { label: "ok button".to_owned(), listener: RefCell::new(None), me: RefCell::default() });
    widget.me.borrow_mut().push(widget.clone());
    let on_click = listener("ok button", &log, |_, _, _| {});
    *widget.listener.borrow_mut() = Some(on_click.clone());
    bus.subscribe(&on_click);
    drop(on_click);
    assert_eq!(widget.label, "ok button");
    drop(widget);
    assert_eq!(bus.publish("click"), 1, "the cycle keeps the listener until a collection");
    gc::collect();
    assert_eq!(bus.publish("click"), 0);
    assert!(bus.listeners.is_empty());
    assert!(bus.seen.is_empty());
    assert_eq!(*log.borrow(), ["ok button got click", "ok button finalized"]);
}

#[test]
fn a_listener_that_subscribes_another_during_notification() {
    let log: Log = Rc::default();
    let bus = Bus::new();
    let spawned: Rc<RefCell<Vec<Gc<Listener>>>> = Rc::default();
    let (spawn_log, spawn_into) = (log.clone(), spawned.clone());
    let spawner = listener("spawner", &log, move |bus, _, _| {
        if spawn_into.borrow().is_empty() {
            let child = listener("child", &spawn_log, |_, _, _| {});
            bus.subscribe(&child);
            spawn_into.borrow_mut().push(child);
        }
    });
    bus.subscribe(&spawner);
    let first = bus.publish("one");
    assert!((1..=2).contains(&first));
    assert_eq!(bus.listeners.len(), 2);
    assert_eq!(bus.publish("two"), 2);
    spawned.borrow_mut().clear();
    assert_eq!(bus.listeners.len(), 1);
    assert!(log.borrow().contains(&"child finalized".to_owned()));
}

// ------------------------------------------------------------------------------------------
// 3. A leak test for a cache.

#[derive(Trace)]
struct Thumbnail {
    /// The image's pixels, as a boxed slice the collector never looks into.
    pixels: Vec<u8>,
    source: RefCell<Option<Gc<Image>>>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Image {
    path: String,
}

/// Renders thumbnails and remembers them: the first version owns them by mistake.
#[derive(Trace)]
struct Renderer {
    strong_cache: RefCell<HashMap<String, Gc<Thumbnail>>>,
    weak_cache: WeakValueDictionary<String, Thumbnail>,
    #[trace(skip)]
    uses_weak_cache: bool,
    #[trace(skip)]
    next: Cell<u32>,
}

impl Renderer {
    fn new(uses_weak_cache: bool) -> Gc<Renderer> {
        let renderer = Gc::new(Renderer {
            strong_cache: RefCell::default(),
            weak_cache: WeakValueDictionary::new(),
            uses_weak_cache,
            next: Cell::new(0),
        });
        objgraph::name_root(&Gc::to_any(&renderer), "renderer");
        renderer
    }

    /// Renders a page of `n` new images: each request names an image never seen before.
    fn render_page(&self) {
        let n = if cfg!(miri) { 2 } else { 4 };
        let mut shown = Vec::new();
        for _ in 0..n {
            let id = self.next.get();
            self.next.set(id + 1);
            let path = format!("/img/{id}.png");
            let thumb = self.thumbnail(&path);
            shown.push(thumb);
        }
        assert_eq!(shown.len(), n);
    }

    fn thumbnail(&self, path: &str) -> Gc<Thumbnail> {
        let cached = if self.uses_weak_cache {
            self.weak_cache.get(path)
        } else {
            self.strong_cache.borrow().get(path).cloned()
        };
        if let Some(thumb) = cached {
            return thumb;
        }
        let image = Gc::new(Image { path: path.to_owned() });
        let thumb = Gc::new(Thumbnail { pixels: vec![0; 16], source: RefCell::new(Some(image)) });
        if self.uses_weak_cache {
            self.weak_cache.insert(path.to_owned(), &thumb);
        } else {
            self.strong_cache.borrow_mut().insert(path.to_owned(), thumb.clone());
        }
        thumb
    }
}

#[test]
fn a_cache_holding_strong_references_is_named_by_the_leak_check() {
    let renderer = Renderer::new(false);
    let report = objgraph::LeakCheck::new().sites(false).run(|| renderer.render_page());
    assert!(!report.is_clean());
    let chains: Vec<String> = report.groups.iter().map(|g| g.chain()).collect();
    assert_eq!(
        chains,
        [
            "renderer -> Renderer.strong_cache[*] -> Thumbnail",
            "renderer -> Renderer.strong_cache[*] -> Thumbnail.source -> Image",
        ],
    );
    let per_run = if cfg!(miri) { 2 } else { 4 };
    assert_eq!(report.groups[0].count, 3 * per_run);
    if !cfg!(miri) && !cfg!(feature = "alloc-site") {
        insta::assert_snapshot!(report.to_string());
    }
}

#[test]
fn the_same_cache_through_a_weak_value_dictionary_does_not_leak() {
    let renderer = Renderer::new(true);
    let report = objgraph::LeakCheck::new().sites(false).run(|| renderer.render_page());
    assert!(report.is_clean(), "{report}");
    insta::assert_snapshot!(report.to_string(), @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run: no leak
    ");
    objgraph::LeakCheck::new().assert_no_leaks(|| renderer.render_page());
    assert!(renderer.weak_cache.is_empty());
    assert_eq!(renderer.weak_cache.items().count(), 0);
}

/// Metadata attached to widgets, whose value holds its own key by mistake: the key never
/// dies, so neither does the entry (Python's `WeakKeyDictionary` leaks the same way).
#[derive(Trace)]
#[trace(tracked)]
struct Widget {
    name: String,
}

#[derive(Trace)]
#[trace(tracked)]
struct Layout {
    owner: Option<Gc<Widget>>,
    width: u32,
}

#[derive(Trace)]
struct Layouts {
    by_widget: WeakKeyDictionary<Widget, Gc<Layout>>,
}

fn lay_out(layouts: &Layouts, keeps_its_key: bool) {
    let widget = Gc::new(Widget { name: "button".to_owned() });
    let owner = keeps_its_key.then(|| widget.clone());
    layouts.by_widget.insert(&widget, Gc::new(Layout { owner, width: 80 }));
    assert_eq!(layouts.by_widget.with_value(&widget, |layout| layout.width), Some(80));
    assert_eq!(widget.name, "button");
}

#[test]
fn metadata_whose_value_holds_its_key_is_named_by_the_leak_check() {
    let layouts = Gc::new(Layouts { by_widget: WeakKeyDictionary::new() });
    objgraph::name_root(&Gc::to_any(&layouts), "layouts");
    let report = objgraph::LeakCheck::new().sites(false).run(|| lay_out(&layouts, true));
    let chains: Vec<String> = report.groups.iter().map(|g| g.chain()).collect();
    assert_eq!(
        chains,
        ["layouts -> Layouts.by_widget[*] -> Layout", "layouts -> Layouts.by_widget[*] -> Layout.owner -> Widget"],
    );
    assert_eq!(layouts.by_widget.len(), 4, "one entry per run, warm-up included");

    layouts.by_widget.clear();
    let report = objgraph::LeakCheck::new().sites(false).run(|| lay_out(&layouts, false));
    assert!(report.is_clean(), "{report}");
    assert!(layouts.by_widget.is_empty());
}
