//! `cargo xtask report`: the article's walkthrough, run on this library, written as a
//! browsable HTML page (plus the same text on standard output).
//!
//! Each scenario runs for real and records what it printed. A scenario that needs a layer
//! the workspace does not have yet says so in the report instead of pretending.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::rc::Rc;

use cyclegc::gen_gc::{self, DebugFlags, FinalizerPolicy};
use cyclegc::objgraph;
use cyclegc::{Finalize, Gc, GcAny, Trace, Weak};

/// One section of the report.
struct Section {
    title: &'static str,
    article: &'static str,
    output: Output,
}

/// What a scenario printed, and the graphs it drew.
#[derive(Default)]
struct Output {
    text: String,
    graphs: Vec<Figure>,
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Output { text, graphs: Vec::new() }
    }
}

/// A graph of the report, saved as `<file>.dot` and `<file>.svg`.
struct Figure {
    file: &'static str,
    caption: String,
    graph: objgraph::Graph,
}

impl Output {
    fn figure(&mut self, file: &'static str, caption: impl Into<String>, graph: objgraph::Graph) {
        let caption = caption.into();
        let _ = writeln!(
            self.text,
            "    [graph {file}.svg / {file}.dot: {caption}; {} objects, {} references]",
            graph.node_count(),
            graph.edge_count()
        );
        self.graphs.push(Figure { file, caption, graph });
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let out_dir = match args {
        [] => PathBuf::from("target/report"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: cargo xtask report [--out DIR]".to_owned()),
    };
    let sections = vec![
        Section {
            title: "Reference counting frees at once",
            article: "引用计数: a counter per object; at zero the object is freed immediately.",
            output: refcounting().into(),
        },
        Section {
            title: "get_referents: who does an object point to?",
            article: "gc.get_referents(a) after a.attr = b.",
            output: referents(),
        },
        Section {
            title: "A self-cycle: Connection.msg_handlers",
            article: "消灭循环引用: handlers bound to the connection keep it alive; weak references fix it.",
            output: connection().into(),
        },
        Section {
            title: "weakref.ref with a callback",
            article: "weakref.ref(obj, callback): the callback runs when the object is deleted.",
            output: weak_callbacks().into(),
        },
        Section {
            title: "weakref.proxy and weakref.WeakSet",
            article: "(2) a proxy raises ReferenceError once its object is gone; (3) a WeakSet forgets dead members.",
            output: proxy_and_weakset().into(),
        },
        Section {
            title: "__del__ on the refcount path",
            article: "A finalizer runs once when the last reference goes.",
            output: finalizer().into(),
        },
        Section {
            title: "The _cache leak, found with show_growth and explained with show_backrefs/show_chain",
            article: "查找内存泄露: objgraph.show_growth() before and after; show_backrefs to the global _cache.",
            output: cache_leak(),
        },
        Section {
            title: "A cycle with __del__: legacy policy (uncollectable, gc.garbage) and PEP 442",
            article: "循环引用中的__del__: gc.collect() cannot free it under Python 2.7; it lands in gc.garbage.",
            output: finalizer_cycle(),
        },
        Section {
            title: "Finding a cycle with DEBUG_SAVEALL",
            article: "gc.set_debug(gc.DEBUG_SAVEALL); gc.collect(); objgraph.show_backrefs(gc.garbage).",
            output: saveall(),
        },
        Section {
            title: "OrderedDict's self-referencing root",
            article: "root = [root, root, None]: a list that contains itself.",
            output: ordered_dict_root(),
        },
        Section {
            title: "show_backrefs unreadable, show_chain clear",
            article: "A large graph: find_backref_chain + show_chain instead of show_backrefs.",
            output: large_graph(),
        },
    ];

    let text = render_text(&sections);
    print!("{text}");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let mut renderers = Vec::new();
    for figure in sections.iter().flat_map(|section| &section.output.graphs) {
        let dot = out_dir.join(format!("{}.dot", figure.file));
        figure.graph.save(&dot).map_err(|e| format!("cannot write {}: {e}", dot.display()))?;
        // Graphviz when installed; the built-in renderer otherwise, so a bare machine gets
        // pictures too.
        let (svg, renderer) = match figure.graph.render_svg(objgraph::Renderer::Graphviz) {
            Ok(svg) => (svg, "Graphviz"),
            Err(_) => (
                figure
                    .graph
                    .render_svg(objgraph::Renderer::Builtin)
                    .map_err(|e| format!("cannot draw {}: {e}", figure.file))?,
                "the built-in renderer",
            ),
        };
        let path = out_dir.join(format!("{}.svg", figure.file));
        std::fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        renderers.push(renderer);
    }
    renderers.dedup();
    let index = out_dir.join("index.html");
    std::fs::write(&index, render_html(&sections, &renderers.join(", ")))
        .map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    std::fs::write(out_dir.join("report.txt"), &text).map_err(|e| format!("cannot write report.txt: {e}"))?;
    println!("\nreport written to {}", index.display());
    Ok(())
}

#[derive(Trace)]
struct Obj {
    name: &'static str,
    attr: RefCell<Option<Gc<Obj>>>,
}

fn obj(name: &'static str) -> Gc<Obj> {
    Gc::new(Obj { name, attr: RefCell::new(None) })
}

fn refcounting() -> String {
    let mut out = String::new();
    let a = obj("a");
    let _ = writeln!(out, ">>> a = OBJ()            # strong_count(a) = {}", Gc::strong_count(&a));
    let b = a.clone();
    let _ = writeln!(out, ">>> b = a                # strong_count(a) = {}", Gc::strong_count(&a));
    let watch = Gc::downgrade(&a);
    drop(b);
    let _ = writeln!(out, ">>> del b                # strong_count(a) = {}", Gc::strong_count(&a));
    drop(a);
    let _ = writeln!(out, ">>> del a                # alive: {}", !watch.is_dead());
    let leaf = Gc::new(1_u64);
    let node = obj("n");
    let _ = writeln!(
        out,
        "\nleaf objects are untracked: is_tracked(Gc<u64>) = {}, header {} bytes; is_tracked(Gc<Obj>) = {}, header {} bytes",
        Gc::is_tracked(&leaf),
        Gc::type_info(&leaf).header_size(),
        Gc::is_tracked(&node),
        Gc::type_info(&node).header_size(),
    );
    out
}

fn referents() -> Output {
    let mut out = Output::default();
    let a = obj("a");
    let b = obj("b");
    *a.attr.borrow_mut() = Some(b.clone());
    let _ = writeln!(out.text, ">>> a.attr = b");
    let _ = writeln!(out.text, ">>> gc.get_referents(a)");
    for referent in Gc::to_any(&a).referents() {
        let name = referent.target.downcast::<Obj>().map(|o| o.name).unwrap_or("?");
        let _ = writeln!(out.text, "    {:<6} -> <Obj {name}>", referent.label);
    }
    let graph = objgraph::show_refs(&[Gc::to_any(&a)], &objgraph::GraphOptions::default());
    out.figure("referents", "objgraph.show_refs(a): a refers to b through its field attr", graph);
    out
}

#[derive(Trace)]
struct Connection {
    msg_handlers: RefCell<HashMap<&'static str, Handler>>,
}

#[derive(Trace)]
enum Handler {
    Bound(Gc<Connection>),
    WeaklyBound(Weak<Connection>),
}

fn connection() -> String {
    let mut out = String::new();
    for weak in [false, true] {
        let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
        for msg in ["login", "logout"] {
            let handler = match weak {
                false => Handler::Bound(conn.clone()),
                true => Handler::WeaklyBound(Gc::downgrade(&conn)),
            };
            conn.msg_handlers.borrow_mut().insert(msg, handler);
        }
        let mut edges: Vec<String> = Gc::to_any(&conn).referents().into_iter().map(|r| r.label).collect();
        edges.sort();
        let watch = Gc::downgrade(&conn);
        drop(conn);
        let kind = if weak { "weak references" } else { "strong references" };
        let _ = writeln!(out, "handlers holding the connection by {kind}:");
        let _ = writeln!(out, "    edges from the connection: {edges:?}");
        let _ = writeln!(
            out,
            "    after `del conn` the connection is {}",
            if watch.is_dead() { "freed" } else { "still alive (leaked)" }
        );
        if let Some(conn) = watch.upgrade() {
            conn.msg_handlers.borrow_mut().clear();
            drop(conn);
            let _ = writeln!(
                out,
                "    after destroy() (msg_handlers.clear()) it is {}",
                if watch.is_dead() { "freed" } else { "alive" }
            );
        }
    }
    out
}

fn weak_callbacks() -> String {
    let out = Rc::new(RefCell::new(String::new()));
    let o = obj("o");
    let r = {
        let out = out.clone();
        Gc::downgrade_with_callback(&o, move |dead| {
            let _ =
                writeln!(out.borrow_mut(), "    callback: referent gone, r() -> {:?}", dead.upgrade().map(|o| o.name));
        })
    };
    let _ = writeln!(out.borrow_mut(), ">>> r = weakref.ref(o, callback); r() -> {:?}", r.upgrade().map(|o| o.name));
    let _ = writeln!(out.borrow_mut(), ">>> del o");
    drop(o);
    let _ = writeln!(out.borrow_mut(), ">>> r() -> {:?}", r.upgrade().map(|o| o.name));
    out.take()
}

/// The article's global `_cache` list: a heap object that a global (here a thread-local) holds.
#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Obj>>>,
}

thread_local!(static CACHE: Gc<Cache> = Gc::new(Cache { items: RefCell::new(Vec::new()) }));

/// The article's `func_to_leak`: it caches an object and, returning early, never removes it.
fn func_to_leak(early_return: bool) {
    let o = obj("leaked");
    CACHE.with(|cache| cache.items.borrow_mut().push(o.clone()));
    if early_return {
        return;
    }
    CACHE.with(|cache| cache.items.borrow_mut().retain(|cached| !Gc::ptr_eq(cached, &o)));
}

fn cache_leak() -> Output {
    let mut out = Output::default();
    let query = objgraph::Query::default();
    CACHE.with(|cache| objgraph::name_root(&Gc::to_any(cache), "_cache"));
    let mut growth = Vec::new();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out.text, ">>> objgraph.show_growth()    # the baseline");
    func_to_leak(false);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let clean =
        if growth.is_empty() { "(no growth)".to_owned() } else { String::from_utf8_lossy(&growth).into_owned() };
    let _ = writeln!(out.text, ">>> func_to_leak(); objgraph.show_growth()    # a clean call: {clean}");
    let before = objgraph::HeapSnapshot::capture();
    func_to_leak(true);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out.text, ">>> func_to_leak(early_return=True); objgraph.show_growth()");
    out.text.push_str(&String::from_utf8_lossy(&growth));
    let diff = objgraph::HeapSnapshot::diff(&before, &objgraph::HeapSnapshot::capture());
    let _ =
        writeln!(out.text, ">>> the same as a diff of two heap snapshots (objgraph::HeapSnapshot, JSON-serializable):");
    let mut table = Vec::new();
    let _ = diff.show(None, &mut table);
    out.text.push_str(&String::from_utf8_lossy(&table));
    drop(before);
    let cache_size = CACHE.with(|cache| objgraph::retained_size(&Gc::to_any(cache)));
    let _ = writeln!(
        out.text,
        ">>> objgraph::retained_size(_cache)    # {cache_size} bytes: the cache and what only it holds"
    );
    let leaked = objgraph::by_type("Obj", &query).pop();
    if let Some(leaked) = leaked {
        let _ = writeln!(out.text, ">>> objgraph.show_backrefs(objgraph.by_type('Obj')[-1])");
        let graph = objgraph::show_backrefs(std::slice::from_ref(&leaked), &objgraph::GraphOptions::default());
        out.figure("cache-leak-backrefs", "show_backrefs of the leaked Obj: the global _cache holds it", graph);
        let chain = objgraph::find_backref_chain_to_root(&leaked, 20, &[]);
        let path: Vec<String> = chain.iter().map(|o| format!("<{}>", o.short_type_name())).collect();
        let _ = writeln!(out.text, ">>> objgraph.find_backref_chain(objgraph.by_type('Obj')[-1])");
        let _ = writeln!(
            out.text,
            "    {}    # the cache holds it, and the cache is held from outside the heap (a global)",
            path.join(" -> ")
        );
        let graph = objgraph::show_chain(&[chain], true, &objgraph::GraphOptions::default());
        out.figure("cache-leak-chain", "show_chain(find_backref_chain(...)): _cache -> Obj", graph);
    }
    CACHE.with(|cache| cache.items.borrow_mut().clear());

    // The article's other question: held by a global, or only by a cycle?
    gen_gc::disable();
    {
        let a = obj("a");
        let b = obj("b");
        *a.attr.borrow_mut() = Some(b.clone());
        *b.attr.borrow_mut() = Some(a);
    }
    let target = objgraph::by_type("Obj", &query).pop();
    if let Some(target) = target {
        let chain = objgraph::find_backref_chain_to_root(&target, 20, &[]);
        let _ = writeln!(
            out.text,
            ">>> a cycle a <-> b; objgraph.find_backref_chain(a)    # -> {} object(s): [obj], nothing outside holds it: a cycle, not a leak into a global",
            chain.len()
        );
    }
    let _ = writeln!(out.text, ">>> gc.collect()    # -> {}", gen_gc::collect());
    gen_gc::enable();
    out
}

fn proxy_and_weakset() -> String {
    use cyclegc::weak_collections::{WeakProxy, WeakSet};
    let mut out = String::new();
    let o = obj("o");
    let p = WeakProxy::new(&o);
    let _ = writeln!(out, ">>> p = weakref.proxy(o); p.name    # -> {:?}", p.with(|o| o.name));
    drop(o);
    let _ =
        writeln!(out, ">>> del o; p.name                   # -> {:?}", p.with(|o| o.name).map_err(|e| e.to_string()));
    let members: Vec<Gc<Obj>> = ["x", "y", "z"].into_iter().map(obj).collect();
    let set = WeakSet::new();
    set.update(&members);
    let _ = writeln!(out, ">>> s = weakref.WeakSet(objs); len(s)  # -> {}", set.len());
    let looped = obj("loop");
    *looped.attr.borrow_mut() = Some(looped.clone());
    set.add(&looped);
    drop(looped);
    let mut members = members;
    members.pop();
    let _ =
        writeln!(out, ">>> del objs[-1]; del loop; len(s)    # -> {} (the cycle's member is still alive)", set.len());
    let collected = gen_gc::collect();
    let _ = writeln!(out, ">>> gc.collect(); len(s)              # -> {} ({collected} collected)", set.len());
    out
}

thread_local!(static DELETED: Cell<usize> = const { Cell::new(0) });

#[derive(Trace)]
#[trace(finalize)]
struct WithDel {
    child: Option<Gc<Obj>>,
}

impl Finalize for WithDel {
    fn finalize(&self) {
        DELETED.with(|d| d.set(d.get() + 1));
    }
}

fn finalizer() -> String {
    let mut out = String::new();
    let a = Gc::new(WithDel { child: Some(obj("child")) });
    let b = a.clone();
    drop(a);
    let _ = writeln!(out, ">>> del a      # __del__ ran {} time(s)", DELETED.with(Cell::get));
    let _ = writeln!(out, "    (b still holds it; its child is {:?})", b.child.as_ref().map(|c| c.name));
    drop(b);
    let _ = writeln!(out, ">>> del b      # __del__ ran {} time(s)", DELETED.with(Cell::get));
    out
}

#[derive(Trace)]
struct Link {
    prev: RefCell<Option<Gc<Link>>>,
    next: RefCell<Option<Gc<Link>>>,
}

fn ordered_dict_root() -> Output {
    let mut out = Output::default();
    let root = Gc::new(Link { prev: RefCell::new(None), next: RefCell::new(None) });
    *root.prev.borrow_mut() = Some(root.clone());
    *root.next.borrow_mut() = Some(root.clone());
    let mut edges: Vec<String> = Gc::to_any(&root).referents().into_iter().map(|r| r.label).collect();
    edges.sort();
    let watch = Gc::downgrade(&root);
    let _ = writeln!(
        out.text,
        ">>> root.prev = root.next = root      # edges: {edges:?}, strong_count = {}",
        Gc::strong_count(&root)
    );
    let graph = objgraph::show_refs(&[Gc::to_any(&root)], &objgraph::GraphOptions::default());
    out.figure("ordereddict-root", "show_refs(root): prev and next point back at the root", graph);
    drop(root);
    let _ = writeln!(out.text, ">>> del root                            # still alive: {}", !watch.is_dead());
    let _ = writeln!(out.text, ">>> gc.collect()                        # -> {}", gen_gc::collect());
    let _ = writeln!(out.text, "    freed by the collector: {}", watch.is_dead());
    out
}

/// A bigger heap: sessions in a registry, each with items that point back at their session
/// and share one buffer. Who holds the buffer?
#[derive(Trace)]
struct Registry {
    sessions: RefCell<Vec<Gc<Session>>>,
}

#[derive(Trace)]
#[trace(describe = Session::describe)]
struct Session {
    id: usize,
    items: RefCell<Vec<Gc<Item>>>,
}

impl Session {
    fn describe(&self) -> String {
        format!("session {}", self.id)
    }
}

#[derive(Trace)]
struct Item {
    session: Gc<Session>,
    buffer: Gc<Buffer>,
}

#[derive(Trace)]
#[trace(tracked)]
struct Buffer {
    bytes: Vec<u8>,
}

thread_local!(static REGISTRY: Gc<Registry> = Gc::new(Registry { sessions: RefCell::new(Vec::new()) }));

fn large_graph() -> Output {
    let mut out = Output::default();
    let buffer = Gc::new(Buffer { bytes: vec![0; 4096] });
    REGISTRY.with(|registry| {
        objgraph::name_root(&Gc::to_any(registry), "REGISTRY");
        for id in 0..12 {
            let session = Gc::new(Session { id, items: RefCell::new(Vec::new()) });
            for _ in 0..4 {
                let item = Gc::new(Item { session: session.clone(), buffer: buffer.clone() });
                session.items.borrow_mut().push(item);
            }
            registry.sessions.borrow_mut().push(session);
        }
    });
    let target = Gc::into_any(buffer);
    let options = objgraph::GraphOptions { max_depth: 4, too_many: 50, ..Default::default() };
    let graph = objgraph::show_backrefs(std::slice::from_ref(&target), &options);
    let _ = writeln!(
        out.text,
        ">>> objgraph.show_backrefs(buffer, max_depth=4, too_many=50)    # {} objects, {} references: unreadable",
        graph.node_count(),
        graph.edge_count()
    );
    out.figure("large-backrefs", "show_backrefs(buffer): every item, every session, the registry", graph);
    let chain = objgraph::find_backref_chain_to_root(&target, 20, &[]);
    let path: Vec<String> = chain.iter().map(|o| format!("<{}>", o.short_type_name())).collect();
    let _ = writeln!(out.text, ">>> chain = objgraph.find_backref_chain(buffer, is_root)    # {}", path.join(" -> "));
    let graph = objgraph::show_chain(&[chain], true, &objgraph::GraphOptions::default());
    let _ = writeln!(out.text, ">>> objgraph.show_chain(chain)    # {} objects: clear", graph.node_count());
    out.figure("large-chain", "show_chain: REGISTRY -> Session -> Item -> Buffer", graph);
    REGISTRY.with(|registry| registry.sessions.borrow_mut().clear());
    let cycles = objgraph::garbage_cycles();
    let _ = writeln!(
        out.text,
        ">>> REGISTRY.clear(); objgraph::garbage_cycles()    # {} cycles, the largest: {}",
        cycles.len(),
        cycles.first().map_or_else(String::new, ToString::to_string)
    );
    drop(cycles);
    let _ = writeln!(out.text, ">>> gc.collect()    # -> {} (sessions and items were cycles)", gen_gc::collect());
    out
}

/// Captures the collector's `DEBUG_*` lines while `f` runs.
fn with_debug_output(flags: DebugFlags, f: impl FnOnce()) -> String {
    struct Sink(Rc<RefCell<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Rc::new(RefCell::new(Vec::new()));
    gen_gc::set_debug_output(Some(Box::new(Sink(buffer.clone()))));
    gen_gc::set_debug(flags);
    f();
    gen_gc::set_debug(DebugFlags::empty());
    gen_gc::set_debug_output(None);
    let text = String::from_utf8_lossy(&buffer.borrow()).into_owned();
    // Addresses differ from run to run; the report keeps the shape of the lines.
    text.lines().map(mask_address).collect::<Vec<_>>().join("\n") + "\n"
}

fn mask_address(line: &str) -> String {
    match line.find(" 0x") {
        Some(at) => {
            let end = line[at + 1..].find('>').map_or(line.len(), |e| at + 1 + e);
            format!("{} 0x...{}", &line[..at], &line[end..])
        }
        None => line.to_owned(),
    }
}

#[derive(Trace)]
#[trace(finalize)]
struct ObjWithDel {
    name: &'static str,
    attr: RefCell<Option<Gc<ObjWithDel>>>,
}

impl Finalize for ObjWithDel {
    fn finalize(&self) {
        DELETED.with(|d| d.set(d.get() + 1));
    }
}

fn del_cycle() -> Weak<ObjWithDel> {
    let a = Gc::new(ObjWithDel { name: "a", attr: RefCell::new(None) });
    let b = Gc::new(ObjWithDel { name: "b", attr: RefCell::new(Some(a.clone())) });
    *a.attr.borrow_mut() = Some(b.clone());
    Gc::downgrade(&a)
}

fn finalizer_cycle() -> Output {
    let mut out = Output::default();
    let _ = writeln!(out.text, "Python 2.7 (FinalizerPolicy::Legacy):");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let before = DELETED.with(Cell::get);
    let watch = del_cycle();
    let mut found = 0;
    let debug = with_debug_output(DebugFlags::UNCOLLECTABLE | DebugFlags::STATS, || found = gen_gc::collect());
    let _ = writeln!(out.text, ">>> gc.collect()    # -> {found}\n{debug}");
    for cycle in objgraph::cycles_among(&gen_gc::garbage()) {
        let _ = writeln!(out.text, ">>> objgraph::cycles_among(gc.garbage)    # {cycle}");
    }
    let first = gen_gc::garbage().swap_remove(0);
    let graph = objgraph::show_backrefs(std::slice::from_ref(&first), &objgraph::GraphOptions::default());
    drop(first);
    let garbage = gen_gc::take_garbage();
    let names: Vec<&str> =
        garbage.iter().filter_map(|o| o.clone().downcast::<ObjWithDel>().ok()).map(|o| o.name).collect();
    let _ = writeln!(
        out.text,
        ">>> gc.garbage      # {names:?}: uncollectable; __del__ ran {} times",
        DELETED.with(Cell::get) - before
    );
    for object in &garbage {
        if let Ok(object) = object.clone().downcast::<ObjWithDel>() {
            object.attr.borrow_mut().take();
        }
    }
    drop(garbage);
    out.figure("legacy-garbage", "the uncollectable cycle in gc.garbage, finalizers marked", graph);
    let _ =
        writeln!(out.text, ">>> break the cycle by hand and empty gc.garbage: freed = {}", watch.upgrade().is_none());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);

    let _ = writeln!(out.text, "\nPython 3.4+ (PEP 442, the default):");
    let before = DELETED.with(Cell::get);
    let watch = del_cycle();
    let found = gen_gc::collect();
    let _ = writeln!(
        out.text,
        ">>> gc.collect()    # -> {found}; __del__ ran {} times; freed = {}; gc.garbage = {:?}",
        DELETED.with(Cell::get) - before,
        watch.upgrade().is_none(),
        gen_gc::garbage().len()
    );
    out
}

fn saveall() -> Output {
    let mut out = Output::default();
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
    for msg in ["login", "logout"] {
        conn.msg_handlers.borrow_mut().insert(msg, Handler::Bound(conn.clone()));
    }
    drop(conn);
    let _ = writeln!(out.text, ">>> gc.garbage      # {} objects", gen_gc::garbage().len());
    let mut found = 0;
    let debug = with_debug_output(DebugFlags::SAVEALL | DebugFlags::COLLECTABLE, || found = gen_gc::collect());
    let _ = writeln!(out.text, ">>> gc.set_debug(gc.DEBUG_SAVEALL | gc.DEBUG_COLLECTABLE); gc.collect()  # -> {found}");
    out.text.push_str(&debug);
    let garbage: Vec<GcAny> = gen_gc::take_garbage();
    let _ = writeln!(out.text, ">>> gc.garbage      # {} object(s), kept alive for inspection", garbage.len());
    for object in &garbage {
        let mut labels: Vec<String> = object
            .referents()
            .into_iter()
            .map(|r| format!("{} -> <{}>", r.label, r.target.short_type_name()))
            .collect();
        labels.sort();
        let _ = writeln!(out.text, "    <{}> refers to:", object.short_type_name());
        for label in labels {
            let _ = writeln!(out.text, "        {label}");
        }
    }
    for cycle in objgraph::cycles_among(&garbage) {
        let _ = writeln!(out.text, ">>> objgraph::cycles_among(gc.garbage)    # {cycle}");
    }
    let _ = writeln!(
        out.text,
        "    the connection refers to itself through its handlers: Connection.msg_handlers is the cycle."
    );
    let graph = objgraph::show_refs(&garbage, &objgraph::GraphOptions::default());
    out.figure("connection-cycle", "show_refs(gc.garbage): Connection.msg_handlers refers back to it", graph);
    for object in garbage {
        if let Ok(conn) = object.downcast::<Connection>() {
            conn.msg_handlers.borrow_mut().clear();
        }
    }
    let _ = writeln!(out.text, "\nthe fix, handlers holding weak references:");
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
    for msg in ["login", "logout"] {
        conn.msg_handlers.borrow_mut().insert(msg, Handler::WeaklyBound(Gc::downgrade(&conn)));
    }
    let watch = Gc::downgrade(&conn);
    drop(conn);
    let _ = writeln!(
        out.text,
        ">>> del conn        # freed at once: {}; gc.collect() -> {}",
        watch.is_dead(),
        gen_gc::collect()
    );
    out
}

fn render_text(sections: &[Section]) -> String {
    let mut out = String::from("cyclegc report: the article's walkthrough on this library\n");
    for section in sections {
        let _ = writeln!(out, "\n== {} ==\n   ({})", section.title, section.article);
        out.push_str(&section.output.text);
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn render_html(sections: &[Section], renderers: &str) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cyclegc report</title>\
         <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}\
         figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}</style></head><body>\n\
         <h1>cyclegc report</h1>\n<p>The article's walkthrough, run on this library.</p>\n",
    );
    if !renderers.is_empty() {
        let _ = writeln!(html, "<p>Graphs drawn by {}; each links to its DOT source.</p>", escape(renderers));
    }
    for section in sections {
        let _ = write!(html, "<h2>{}</h2>\n<p><i>{}</i></p>\n", escape(section.title), escape(section.article));
        let _ = writeln!(html, "<pre>{}</pre>", escape(&section.output.text));
        for figure in &section.output.graphs {
            let _ = writeln!(
                html,
                "<figure><img src=\"{file}.svg\" alt=\"{caption}\"><figcaption>{caption} \
                 (<a href=\"{file}.dot\">{file}.dot</a>, {} objects)</figcaption></figure>",
                figure.graph.node_count(),
                file = figure.file,
                caption = escape(&figure.caption),
            );
        }
    }
    html.push_str("</body></html>\n");
    html
}
