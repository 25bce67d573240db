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
    outcome: Outcome,
}

enum Outcome {
    Ran(String),
    NotYet(&'static str),
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
            outcome: Outcome::Ran(refcounting()),
        },
        Section {
            title: "get_referents: who does an object point to?",
            article: "gc.get_referents(a) after a.attr = b.",
            outcome: Outcome::Ran(referents()),
        },
        Section {
            title: "A self-cycle: Connection.msg_handlers",
            article: "消灭循环引用: handlers bound to the connection keep it alive; weak references fix it.",
            outcome: Outcome::Ran(connection()),
        },
        Section {
            title: "weakref.ref with a callback",
            article: "weakref.ref(obj, callback): the callback runs when the object is deleted.",
            outcome: Outcome::Ran(weak_callbacks()),
        },
        Section {
            title: "weakref.proxy and weakref.WeakSet",
            article: "(2) a proxy raises ReferenceError once its object is gone; (3) a WeakSet forgets dead members.",
            outcome: Outcome::Ran(proxy_and_weakset()),
        },
        Section {
            title: "__del__ on the refcount path",
            article: "A finalizer runs once when the last reference goes.",
            outcome: Outcome::Ran(finalizer()),
        },
        Section {
            title: "The _cache leak, found with show_growth and explained with show_backrefs/show_chain",
            article: "查找内存泄露: objgraph.show_growth() before and after; show_backrefs to the global _cache.",
            outcome: Outcome::Ran(cache_leak()),
        },
        Section {
            title: "A cycle with __del__: legacy policy (uncollectable, gc.garbage) and PEP 442",
            article: "循环引用中的__del__: gc.collect() cannot free it under Python 2.7; it lands in gc.garbage.",
            outcome: Outcome::Ran(finalizer_cycle()),
        },
        Section {
            title: "Finding a cycle with DEBUG_SAVEALL",
            article: "gc.set_debug(gc.DEBUG_SAVEALL); gc.collect(); objgraph.show_backrefs(gc.garbage).",
            outcome: Outcome::Ran(saveall()),
        },
        Section {
            title: "OrderedDict's self-referencing root",
            article: "root = [root, root, None]: a list that contains itself.",
            outcome: Outcome::Ran(ordered_dict_root()),
        },
        Section {
            title: "show_backrefs unreadable, show_chain clear",
            article: "A large graph: find_backref_chain + show_chain instead of show_backrefs.",
            outcome: Outcome::NotYet("needs the objgraph crate, which has no API yet"),
        },
    ];

    let text = render_text(&sections);
    print!("{text}");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let index = out_dir.join("index.html");
    std::fs::write(&index, render_html(&sections)).map_err(|e| format!("cannot write {}: {e}", index.display()))?;
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

fn referents() -> String {
    let mut out = String::new();
    let a = obj("a");
    let b = obj("b");
    *a.attr.borrow_mut() = Some(b.clone());
    let _ = writeln!(out, ">>> a.attr = b");
    let _ = writeln!(out, ">>> gc.get_referents(a)");
    for referent in Gc::to_any(&a).referents() {
        let name = referent.target.downcast::<Obj>().map(|o| o.name).unwrap_or("?");
        let _ = writeln!(out, "    {:<6} -> <Obj {name}>", referent.label);
    }
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

fn cache_leak() -> String {
    let mut out = String::new();
    let query = objgraph::Query::default();
    CACHE.with(|_| ());
    let mut growth = Vec::new();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out, ">>> objgraph.show_growth()    # the baseline");
    func_to_leak(false);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let clean =
        if growth.is_empty() { "(no growth)".to_owned() } else { String::from_utf8_lossy(&growth).into_owned() };
    let _ = writeln!(out, ">>> func_to_leak(); objgraph.show_growth()    # a clean call: {clean}");
    func_to_leak(true);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out, ">>> func_to_leak(early_return=True); objgraph.show_growth()");
    out.push_str(&String::from_utf8_lossy(&growth));
    let leaked = objgraph::by_type("Obj", &query).pop();
    if let Some(leaked) = leaked {
        let chain = objgraph::find_backref_chain_to_root(&leaked, 20, &[]);
        let path: Vec<String> = chain.iter().map(|o| format!("<{}>", o.short_type_name())).collect();
        let _ = writeln!(out, ">>> objgraph.find_backref_chain(objgraph.by_type('Obj')[-1])");
        let _ = writeln!(
            out,
            "    {}    # the cache holds it, and the cache is held from outside the heap (a global)",
            path.join(" -> ")
        );
    }
    let _ = writeln!(
        out,
        "    (the same as a graph, show_backrefs/show_chain: objgraph's graph output is not written yet)"
    );
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
            out,
            ">>> a cycle a <-> b; objgraph.find_backref_chain(a)    # -> {} object(s): [obj], nothing outside holds it: a cycle, not a leak into a global",
            chain.len()
        );
    }
    let _ = writeln!(out, ">>> gc.collect()    # -> {}", gen_gc::collect());
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

fn ordered_dict_root() -> String {
    let mut out = String::new();
    let root = Gc::new(Link { prev: RefCell::new(None), next: RefCell::new(None) });
    *root.prev.borrow_mut() = Some(root.clone());
    *root.next.borrow_mut() = Some(root.clone());
    let mut edges: Vec<String> = Gc::to_any(&root).referents().into_iter().map(|r| r.label).collect();
    edges.sort();
    let watch = Gc::downgrade(&root);
    let _ = writeln!(
        out,
        ">>> root.prev = root.next = root      # edges: {edges:?}, strong_count = {}",
        Gc::strong_count(&root)
    );
    drop(root);
    let _ = writeln!(out, ">>> del root                            # still alive: {}", !watch.is_dead());
    let _ = writeln!(out, ">>> gc.collect()                        # -> {}", gen_gc::collect());
    let _ = writeln!(out, "    freed by the collector: {}", watch.is_dead());
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

fn finalizer_cycle() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Python 2.7 (FinalizerPolicy::Legacy):");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let before = DELETED.with(Cell::get);
    let watch = del_cycle();
    let mut found = 0;
    let debug = with_debug_output(DebugFlags::UNCOLLECTABLE | DebugFlags::STATS, || found = gen_gc::collect());
    let _ = writeln!(out, ">>> gc.collect()    # -> {found}\n{debug}");
    let garbage = gen_gc::take_garbage();
    let names: Vec<&str> =
        garbage.iter().filter_map(|o| o.clone().downcast::<ObjWithDel>().ok()).map(|o| o.name).collect();
    let _ = writeln!(
        out,
        ">>> gc.garbage      # {names:?}: uncollectable; __del__ ran {} times",
        DELETED.with(Cell::get) - before
    );
    for object in &garbage {
        if let Ok(object) = object.clone().downcast::<ObjWithDel>() {
            object.attr.borrow_mut().take();
        }
    }
    drop(garbage);
    let _ = writeln!(out, ">>> break the cycle by hand and empty gc.garbage: freed = {}", watch.upgrade().is_none());
    gen_gc::set_finalizer_policy(FinalizerPolicy::Pep442);

    let _ = writeln!(out, "\nPython 3.4+ (PEP 442, the default):");
    let before = DELETED.with(Cell::get);
    let watch = del_cycle();
    let found = gen_gc::collect();
    let _ = writeln!(
        out,
        ">>> gc.collect()    # -> {found}; __del__ ran {} times; freed = {}; gc.garbage = {:?}",
        DELETED.with(Cell::get) - before,
        watch.upgrade().is_none(),
        gen_gc::garbage().len()
    );
    out
}

fn saveall() -> String {
    let mut out = String::new();
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
    for msg in ["login", "logout"] {
        conn.msg_handlers.borrow_mut().insert(msg, Handler::Bound(conn.clone()));
    }
    drop(conn);
    let _ = writeln!(out, ">>> gc.garbage      # {} objects", gen_gc::garbage().len());
    let mut found = 0;
    let debug = with_debug_output(DebugFlags::SAVEALL | DebugFlags::COLLECTABLE, || found = gen_gc::collect());
    let _ = writeln!(out, ">>> gc.set_debug(gc.DEBUG_SAVEALL | gc.DEBUG_COLLECTABLE); gc.collect()  # -> {found}");
    out.push_str(&debug);
    let garbage: Vec<GcAny> = gen_gc::take_garbage();
    let _ = writeln!(out, ">>> gc.garbage      # {} object(s), kept alive for inspection", garbage.len());
    for object in &garbage {
        let mut labels: Vec<String> = object
            .referents()
            .into_iter()
            .map(|r| format!("{} -> <{}>", r.label, r.target.short_type_name()))
            .collect();
        labels.sort();
        let _ = writeln!(out, "    <{}> refers to:", object.short_type_name());
        for label in labels {
            let _ = writeln!(out, "        {label}");
        }
    }
    let _ = writeln!(
        out,
        "    the connection refers to itself through its handlers: Connection.msg_handlers is the cycle."
    );
    for object in garbage {
        if let Ok(conn) = object.downcast::<Connection>() {
            conn.msg_handlers.borrow_mut().clear();
        }
    }
    let _ = writeln!(out, "\nthe fix, handlers holding weak references:");
    let conn = Gc::new(Connection { msg_handlers: RefCell::new(HashMap::new()) });
    for msg in ["login", "logout"] {
        conn.msg_handlers.borrow_mut().insert(msg, Handler::WeaklyBound(Gc::downgrade(&conn)));
    }
    let watch = Gc::downgrade(&conn);
    drop(conn);
    let _ = writeln!(
        out,
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
        match &section.outcome {
            Outcome::Ran(text) => out.push_str(text),
            Outcome::NotYet(why) => {
                let _ = writeln!(out, "   not run: {why}");
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn render_html(sections: &[Section]) -> String {
    let mut html = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cyclegc report</title>\
         <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;padding:1em}\
         .notyet{color:#a60}</style></head><body>\n<h1>cyclegc report</h1>\n\
         <p>The article's walkthrough, run on this library.</p>\n",
    );
    for section in sections {
        let _ = write!(html, "<h2>{}</h2>\n<p><i>{}</i></p>\n", escape(section.title), escape(section.article));
        match &section.outcome {
            Outcome::Ran(text) => {
                let _ = writeln!(html, "<pre>{}</pre>", escape(text));
            }
            Outcome::NotYet(why) => {
                let _ = writeln!(html, "<p class=\"notyet\">Not run: {}.</p>", escape(why));
            }
        }
    }
    html.push_str("</body></html>\n");
    html
}
