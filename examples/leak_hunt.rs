//! Hunting a leak with objgraph, narrated: a request handler caches its results and forgets to
//! remove some. `show_growth` says what grows, `find_backref_chain_to_root` says who holds it,
//! and `show_backrefs`/`show_chain` draw it. Run with `cargo run --example leak_hunt`; the
//! graphs are written to `target/leak_hunt/` as `.dot` and `.svg` (no Graphviz needed).

use std::cell::RefCell;

use cyclegc::{Gc, GcAny, Trace};

/// A response holds no `Gc`, so it would be a leaf: untracked, like Python's strings and
/// numbers, and invisible to objgraph. `tracked` puts it on the collector's lists so that
/// objgraph counts it, as Python tracks every instance of a class.
#[derive(Trace)]
#[trace(tracked, describe = Response::describe)]
struct Response {
    request: u32,
    body: String,
}

impl Response {
    fn describe(&self) -> String {
        format!("response to #{}", self.request)
    }
}

/// The application's cache, held by a global (here a thread-local).
#[derive(Trace)]
struct Cache {
    entries: RefCell<Vec<Gc<Response>>>,
}

thread_local!(static CACHE: Gc<Cache> = Gc::new(Cache { entries: RefCell::new(Vec::new()) }));

/// Caches the response while it is being handled; an error path returns early and never
/// removes it.
fn handle(request: u32) {
    let response = Gc::new(Response { request, body: "x".repeat(64) });
    CACHE.with(|cache| cache.entries.borrow_mut().push(response.clone()));
    if request % 10 == 7 {
        return; // the bug
    }
    CACHE.with(|cache| cache.entries.borrow_mut().retain(|cached| !Gc::ptr_eq(cached, &response)));
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Cargo's target directory, wherever the example is run from.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), std::path::PathBuf::from);
    let out_dir = &target.join("leak_hunt");
    std::fs::create_dir_all(out_dir)?;
    CACHE.with(|cache| objgraph::name_root(&Gc::to_any(cache), "_cache"));
    let query = objgraph::Query::default();

    println!("1. The baseline, then a batch of requests: what grew?");
    objgraph::show_growth(None, &query, &mut std::io::sink())?;
    for request in 0..50 {
        handle(request);
    }
    objgraph::show_growth(None, &query, &mut std::io::stdout())?;

    println!("\n2. Who holds one of them? The chain ends where the heap is held from outside.");
    let leaked: GcAny = objgraph::by_type("Response", &query).pop().expect("a leaked response");
    let chain = objgraph::find_backref_chain_to_root(&leaked, 20, &[]);
    let path: Vec<String> = chain.iter().map(|o| o.short_type_name()).collect();
    println!("   {}", path.join(" -> "));

    println!("\n3. The same as graphs.");
    let backrefs = objgraph::show_backrefs(std::slice::from_ref(&leaked), &objgraph::GraphOptions::default());
    backrefs.save(out_dir.join("backrefs.dot"))?;
    backrefs.save(out_dir.join("backrefs.svg"))?;
    // Our own handle on the response is a reference from outside the heap too: let go of it
    // (the chain still holds it, and objgraph counts the chain's handles out).
    drop(leaked);
    let chain_graph = objgraph::show_chain(&[chain], true, &objgraph::GraphOptions::default());
    chain_graph.save(out_dir.join("chain.svg"))?;
    print!("{}", chain_graph.to_dot());
    println!("   written: {}/backrefs.dot, backrefs.svg, chain.svg", out_dir.display());

    println!("\n4. The fix: empty the cache; nothing grows any more.");
    CACHE.with(|cache| cache.entries.borrow_mut().clear());
    objgraph::show_growth(None, &query, &mut std::io::sink())?;
    for request in 50..100 {
        handle(request);
        CACHE.with(|cache| cache.entries.borrow_mut().clear());
    }
    let mut growth = Vec::new();
    objgraph::show_growth(None, &query, &mut growth)?;
    println!("   show_growth: {}", if growth.is_empty() { "(nothing)".into() } else { String::from_utf8(growth)? });
    Ok(())
}
