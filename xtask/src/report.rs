//! `cargo xtask report`: the article's walkthrough, run on this library, written with
//! objgraph's report API ([`objgraph::Report`]) — the same calls a user's own `cargo xtask`
//! makes — as a browsable directory (`index.html`, `report.txt`, `data.json`, a `.dot` and
//! an `.svg` per graph), and as text on standard output.
//!
//! Each scenario runs for real and records what it printed and drew; where the heap is in an
//! interesting state, the report's own analyses (growth, retainers, largest retainers,
//! garbage cycles, a leak check of the article's `func_to_leak`) read it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use cyclegc::gen_gc::{self, DebugFlags, FinalizerPolicy};
use cyclegc::objgraph::{self, HeapSnapshot, LeakCheck, Report};
use cyclegc::{Finalize, Gc, GcAny, Trace, Weak};

/// One scenario: its title, what the article says (quoted), and the code that runs it.
type Scenario = (&'static str, &'static str, fn(&mut Page<'_>));

const SCENARIOS: &[Scenario] = &[
    (
        "Reference counting frees at once",
        "引用计数(References count),指的是每个Python对象都有一个计数器,记录着当前有多少个变量指向这个对象。\
         当计数器归零的时候,代表这个对象再也没有地方可能使用了。",
        refcounting,
    ),
    (
        "get_referents: who does an object point to?",
        "a, b都是类OBJ的实例,执行”a.attr = b”之后,a就通过‘’attr“这个属性指向了b。",
        referents,
    ),
    (
        "A self-cycle: Connection.msg_handlers",
        "初始化函数中为每种消息类型定义响应的处理函数……但这样的代码是存在循环引用的。\
         (handlers bound to the connection keep it alive; weak references fix it.)",
        connection,
    ),
    (
        "weakref.ref with a callback",
        "weakref.ref(obj, callback): the callback runs when the object is deleted.",
        weak_callbacks,
    ),
    (
        "weakref.proxy and weakref.WeakSet",
        "(2) a proxy raises ReferenceError once its object is gone; (3) a WeakSet forgets dead members.",
        proxy_and_weakset,
    ),
    ("__del__ on the refcount path", "A finalizer runs once when the last reference goes.", finalizer),
    (
        "The _cache leak, found with show_growth and explained with show_backrefs/show_chain",
        "可以看到泄露的对象(红框表示),是被一个叫_cache的list所引用,而_cache又是被__main__这个module所引用。",
        cache_leak,
    ),
    (
        "The same leak as a test finds it: LeakCheck on func_to_leak",
        "如果我们怀疑一段代码、一个模块可能会导致内存泄露,那么首先调用一次obj.show_growth(),然后调用相应的函数,\
         最后再次调用obj.show_growth(),看看是否有增加的对象。",
        cache_leak_check,
    ),
    (
        "Held by a global, or only by a cycle?",
        "怎么排除是否是被global作用域的变量引用的情况呢,方法还是objgraph.find_backref_chain(obj)……\
         如果找不到符合条件的应用链(chain),那么返回[obj]。",
        global_or_cycle,
    ),
    (
        "A cycle with __del__: legacy policy (uncollectable, gc.garbage) and PEP 442",
        "如果不能被回收,即循环引用中的对象定义了__del__, 那么就是uncollectable。",
        finalizer_cycle,
    ),
    (
        "Finding a cycle with DEBUG_SAVEALL",
        "由于设置了DEBUG_SAVEALL,那么调用gc.collect时,会将collectable对象放到gc.garbage。\
         此时,对象没有被释放,我们就可以直接绘制出引用关系。",
        saveall,
    ),
    (
        "OrderedDict's self-referencing root",
        "python的世界,很容易就会出现循环引用,比如标准库Collections中OrderedDict的实现。(root = [root, root, None])",
        ordered_dict_root,
    ),
    (
        "show_backrefs unreadable, show_chain clear",
        "可见,代码越复杂,相互之间的引用关系越多,show_backrefs越难以看懂。这个时候就使用show_chain和find_backref_chain吧。",
        large_graph,
    ),
    (
        "When the registry lets go: cycles for the collector",
        "Python垃圾回收就是针对unreachable对象……事实上就是只存在于循环引用中的对象。",
        registry_cleared,
    ),
];

/// The workspace's target directory, as cargo finds it: `CARGO_TARGET_DIR` (relative to where
/// cargo was run), else `target` in the workspace's root.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::env::current_dir().map(|here| here.join(&dir)).unwrap_or_else(|_| PathBuf::from(dir)),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace's root").join("target")
        }
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let out_dir = match args {
        // Under the workspace's target directory (`CARGO_TARGET_DIR` if set), wherever it is
        // run from.
        [] => target_dir().join("report"),
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        _ => return Err("usage: cargo xtask report [--out DIR]".to_owned()),
    };
    let mut report = Report::new("cyclegc report: the article's walkthrough on this library");
    report.paragraph(
        "The article 《使用 Gc、Objgraph 干掉 Python 内存泄露与循环引用!》, run on this library: each section \
         quotes the article, then shows what the Rust program printed and drew. Graphs are drawn by Graphviz \
         when it is installed and by objgraph's built-in renderer otherwise; each links to its DOT source.",
    );
    for &(title, article, scenario) in SCENARIOS {
        let mut page = Page::start(&mut report, title, article);
        scenario(&mut page);
        page.finish();
    }
    print!("{}", report.to_text());
    let index =
        report.write_to(&out_dir).map_err(|e| format!("cannot write the report to {}: {e}", out_dir.display()))?;
    println!("\nreport written to {}", index.display());
    Ok(())
}

/// One section of the walkthrough as it is written: what the scenario prints collects here
/// and goes into the report before each graph and analysis, so that the report reads in the
/// order things happened.
struct Page<'r> {
    report: &'r mut Report,
    text: String,
}

impl<'r> Page<'r> {
    fn start(report: &'r mut Report, title: &str, article: &str) -> Self {
        report.section(title, "").paragraph(article);
        Page { report, text: String::new() }
    }

    /// Adds a graph, saved as `<name>.dot` and `<name>.svg`.
    fn figure(&mut self, name: &str, caption: &str, graph: &objgraph::Graph) {
        self.flush();
        self.report.graph(name, caption, graph);
    }

    /// Runs report analyses now, on the heap as it is. Each starts a section of its own;
    /// what the scenario prints afterwards goes into the last of them.
    fn analyses(&mut self, analyses: impl FnOnce(&mut Report)) {
        self.flush();
        analyses(self.report);
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            self.report.preformatted(std::mem::take(&mut self.text));
        }
    }

    fn push_str(&mut self, text: &str) {
        self.text.push_str(text);
    }

    fn finish(mut self) {
        self.flush();
    }
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.text.push_str(text);
        Ok(())
    }
}

#[derive(Trace)]
struct Obj {
    name: &'static str,
    attr: RefCell<Option<Gc<Obj>>>,
}

fn obj(name: &'static str) -> Gc<Obj> {
    Gc::new(Obj { name, attr: RefCell::new(None) })
}

fn refcounting(out: &mut Page<'_>) {
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
}

fn referents(out: &mut Page<'_>) {
    let a = obj("a");
    let b = obj("b");
    *a.attr.borrow_mut() = Some(b.clone());
    let _ = writeln!(out, ">>> a.attr = b");
    let _ = writeln!(out, ">>> gc.get_referents(a)");
    for referent in Gc::to_any(&a).referents() {
        let name = referent.downcast::<Obj>().map_or("?", |o| o.name);
        let _ = writeln!(out, "    {:<6} -> <Obj {name}>", referent.label);
    }
    let graph = objgraph::show_refs(&[Gc::to_any(&a)], &objgraph::GraphOptions::default());
    out.figure("referents", "objgraph.show_refs(a): a refers to b through its field attr", &graph);
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

fn connection(out: &mut Page<'_>) {
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
}

fn weak_callbacks(page: &mut Page<'_>) {
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
    page.push_str(&out.take());
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

fn cache_leak(out: &mut Page<'_>) {
    let query = objgraph::Query::default();
    CACHE.with(|cache| objgraph::name_root(&Gc::to_any(cache), "_cache"));
    let mut growth = Vec::new();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out, ">>> objgraph.show_growth()    # the baseline");
    func_to_leak(false);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let clean =
        if growth.is_empty() { "(no growth)".to_owned() } else { String::from_utf8_lossy(&growth).into_owned() };
    let _ = writeln!(out, ">>> func_to_leak(); objgraph.show_growth()    # a clean call: {clean}");
    let before = HeapSnapshot::capture();
    func_to_leak(true);
    growth.clear();
    let _ = objgraph::show_growth(None, &query, &mut growth);
    let _ = writeln!(out, ">>> func_to_leak(early_return=True); objgraph.show_growth()");
    out.push_str(&String::from_utf8_lossy(&growth));
    let after = HeapSnapshot::capture();
    let diff = HeapSnapshot::diff(&before, &after);
    let _ = writeln!(out, ">>> the same as a diff of two heap snapshots (objgraph::HeapSnapshot, JSON-serializable):");
    let mut table = Vec::new();
    let _ = diff.show(None, &mut table);
    out.push_str(&String::from_utf8_lossy(&table));
    let cache_size = CACHE.with(|cache| objgraph::retained_size(&Gc::to_any(cache)));
    let _ =
        writeln!(out, ">>> objgraph::retained_size(_cache)    # {cache_size} bytes: the cache and what only it holds");
    let leaked = objgraph::by_type("Obj", &query).pop();
    if let Some(leaked) = leaked {
        let _ = writeln!(out, ">>> objgraph.show_backrefs(objgraph.by_type('Obj')[-1])");
        let graph = objgraph::show_backrefs(std::slice::from_ref(&leaked), &objgraph::GraphOptions::default());
        out.figure("cache-leak-backrefs", "show_backrefs of the leaked Obj: the global _cache holds it", &graph);
        let chain = objgraph::find_backref_chain_to_root(&leaked, 20, &[]);
        // The chain holds the object now; the variable would be one more holder in the graph.
        drop(leaked);
        let path: Vec<String> = chain.iter().map(|o| format!("<{}>", o.short_type_name())).collect();
        let _ = writeln!(out, ">>> objgraph.find_backref_chain(objgraph.by_type('Obj')[-1])");
        let _ = writeln!(
            out,
            "    {}    # the cache holds it, and the cache is held from outside the heap (a global)",
            path.join(" -> ")
        );
        let graph = objgraph::show_chain(&[chain], true, &objgraph::GraphOptions::default());
        out.figure("cache-leak-chain", "show_chain(find_backref_chain(...)): _cache -> Obj", &graph);
        // The report's own view of the same leak: what grew, and who holds the leaked object.
        out.analyses(|report| {
            report.growth(&before, &after).retainers_of(&objgraph::by_type("Obj", &query));
        });
    }
    CACHE.with(|cache| cache.items.borrow_mut().clear());
}

/// `show_growth` before and after, made a check a test can run: `LeakCheck` calls
/// `func_to_leak` again and again and reports what grew every time, who holds it, and (with
/// the leaked objects still in `_cache`) the report's own section on it.
fn cache_leak_check(out: &mut Page<'_>) {
    CACHE.with(|cache| objgraph::name_root(&Gc::to_any(cache), "_cache"));
    let clean = LeakCheck::new().run(|| func_to_leak(false));
    let _ = writeln!(out, ">>> LeakCheck::new().run(|| func_to_leak(false))    # the call that removes what it cached");
    let _ = writeln!(out, "{clean}");
    let leaky = LeakCheck::new().run(|| func_to_leak(true));
    let _ = writeln!(out, ">>> LeakCheck::new().run(|| func_to_leak(true))     # the early return");
    let _ = write!(out, "{leaky}");
    out.analyses(|report| {
        report.leak_report(&leaky);
    });
    CACHE.with(|cache| cache.items.borrow_mut().clear());
}

/// The article's other question: held by a global, or only by a cycle?
fn global_or_cycle(out: &mut Page<'_>) {
    let query = objgraph::Query::default();
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
}

fn proxy_and_weakset(out: &mut Page<'_>) {
    use cyclegc::weak_collections::{WeakProxy, WeakSet};
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

fn finalizer(out: &mut Page<'_>) {
    let a = Gc::new(WithDel { child: Some(obj("child")) });
    let b = a.clone();
    drop(a);
    let _ = writeln!(out, ">>> del a      # __del__ ran {} time(s)", DELETED.with(Cell::get));
    let _ = writeln!(out, "    (b still holds it; its child is {:?})", b.child.as_ref().map(|c| c.name));
    drop(b);
    let _ = writeln!(out, ">>> del b      # __del__ ran {} time(s)", DELETED.with(Cell::get));
}

#[derive(Trace)]
struct Link {
    prev: RefCell<Option<Gc<Link>>>,
    next: RefCell<Option<Gc<Link>>>,
}

fn ordered_dict_root(out: &mut Page<'_>) {
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
    let graph = objgraph::show_refs(&[Gc::to_any(&root)], &objgraph::GraphOptions::default());
    out.figure("ordereddict-root", "show_refs(root): prev and next point back at the root", &graph);
    drop(root);
    let _ = writeln!(out, ">>> del root                            # still alive: {}", !watch.is_dead());
    let _ = writeln!(out, ">>> gc.collect()                        # -> {}", gen_gc::collect());
    let _ = writeln!(out, "    freed by the collector: {}", watch.is_dead());
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

fn large_graph(out: &mut Page<'_>) {
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
        out,
        ">>> objgraph.show_backrefs(buffer, max_depth=4, too_many=50)    # {} objects, {} references: unreadable",
        graph.node_count(),
        graph.edge_count()
    );
    out.figure("large-backrefs", "show_backrefs(buffer): every item, every session, the registry", &graph);
    let chain = objgraph::find_backref_chain_to_root(&target, 20, &[]);
    // The chain holds the buffer now; the variable would be one more holder in the graph.
    drop(target);
    let path: Vec<String> = chain.iter().map(|o| format!("<{}>", o.short_type_name())).collect();
    let _ = writeln!(
        out,
        ">>> chain = objgraph.find_backref_chain(buffer, objgraph.is_proper_module)    # {}",
        path.join(" -> ")
    );
    let graph = objgraph::show_chain(&[chain], true, &objgraph::GraphOptions::default());
    let _ = writeln!(out, ">>> objgraph.show_chain(chain)    # {} objects: clear", graph.node_count());
    out.figure("large-chain", "show_chain: REGISTRY -> Session -> Item -> Buffer", &graph);
    // The report's view of the whole heap now: what is on it, and what holds the most.
    out.analyses(|report| {
        report.heap_summary(&HeapSnapshot::capture()).largest_retainers(5);
    });
}

/// The registry lets its sessions go: each session and its items refer to each other, so
/// reference counting frees none of them, and the collector finds them as cycles.
fn registry_cleared(out: &mut Page<'_>) {
    REGISTRY.with(|registry| registry.sessions.borrow_mut().clear());
    let cycles = objgraph::garbage_cycles();
    let _ = writeln!(
        out,
        ">>> REGISTRY.clear(); objgraph::garbage_cycles()    # {} cycles, the largest: {}",
        cycles.len(),
        cycles.first().map_or_else(String::new, ToString::to_string)
    );
    drop(cycles);
    out.analyses(|report| {
        report.garbage_cycles();
    });
    let _ = writeln!(
        out,
        ">>> gc.collect()    # -> {} (12 cycles of a session and its items, and the buffer they all shared)",
        gen_gc::collect()
    );
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

fn finalizer_cycle(out: &mut Page<'_>) {
    let _ = writeln!(out, "Python 2.7 (FinalizerPolicy::Legacy):");
    gen_gc::set_finalizer_policy(FinalizerPolicy::Legacy);
    let before = DELETED.with(Cell::get);
    let watch = del_cycle();
    let mut found = 0;
    let debug = with_debug_output(DebugFlags::UNCOLLECTABLE | DebugFlags::STATS, || found = gen_gc::collect());
    let _ = writeln!(out, ">>> gc.collect()    # -> {found}\n{debug}");
    for cycle in objgraph::cycles_among(&gen_gc::garbage()) {
        let _ = writeln!(out, ">>> objgraph::cycles_among(gc.garbage)    # {cycle}");
    }
    let first = gen_gc::garbage().swap_remove(0);
    let graph = objgraph::show_backrefs(std::slice::from_ref(&first), &objgraph::GraphOptions::default());
    drop(first);
    let garbage = gen_gc::take_garbage();
    let names: Vec<&str> = garbage.iter().filter_map(|o| o.downcast::<ObjWithDel>()).map(|o| o.name).collect();
    let _ = writeln!(
        out,
        ">>> gc.garbage      # {names:?}: uncollectable; __del__ ran {} times",
        DELETED.with(Cell::get) - before
    );
    for object in &garbage {
        if let Some(object) = object.downcast::<ObjWithDel>() {
            object.attr.borrow_mut().take();
        }
    }
    drop(garbage);
    out.figure("legacy-garbage", "the uncollectable cycle in gc.garbage, finalizers marked", &graph);
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
}

fn saveall(out: &mut Page<'_>) {
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
    for cycle in objgraph::cycles_among(&garbage) {
        let _ = writeln!(out, ">>> objgraph::cycles_among(gc.garbage)    # {cycle}");
    }
    let _ = writeln!(
        out,
        "    the connection refers to itself through its handlers: Connection.msg_handlers is the cycle."
    );
    let graph = objgraph::show_refs(&garbage, &objgraph::GraphOptions::default());
    out.figure("connection-cycle", "show_refs(gc.garbage): Connection.msg_handlers refers back to it", &graph);
    for object in garbage {
        if let Some(conn) = object.downcast::<Connection>() {
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
}
