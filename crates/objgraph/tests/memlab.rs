//! memlab reads our `.heapsnapshot`: the article's `_cache` leak, written by objgraph and
//! loaded by memlab's heap parser (`@memlab/core`, through `tests/memlab/check.js`), has the
//! node and edge counts we wrote and the retainer path from the named cache to each leaked
//! request.
//!
//! Needs Node.js and `@memlab/core` installed with npm, so it is ignored by default; `.ci/run`
//! runs it:
//!
//! ```sh
//! (cd crates/objgraph/tests/memlab && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts)
//! CYCLEGC_MEMLAB_DIR=$PWD/crates/objgraph/tests/memlab cargo test -p objgraph --test memlab -- --ignored
//! ```

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::Command;

use cyclegc::{Gc, Trace, TypeInfo};
use serde_json::Value;

#[derive(Trace)]
struct Cache {
    items: RefCell<Vec<Gc<Request>>>,
}

#[derive(Trace)]
struct Request {
    body: Gc<String>,
}

#[derive(Trace)]
struct App {
    sessions: RefCell<Vec<Gc<Session>>>,
}

#[derive(Trace)]
struct Session {
    app: Gc<App>,
}

thread_local! {
    static CACHE: Gc<Cache> = Gc::new(Cache { items: RefCell::new(Vec::new()) });
}

/// The article's handler: it remembers every request in a global cache that nobody empties.
fn handle_request(number: usize) {
    let request = Gc::new(Request { body: Gc::new(format!("request {number}")) });
    CACHE.with(|cache| cache.items.borrow_mut().push(request));
}

/// What `check.js` printed for `file` and the nodes named `name`.
fn memlab_reads(file: &PathBuf, name: &str) -> Value {
    let dir = std::env::var_os("CYCLEGC_MEMLAB_DIR").map(PathBuf::from).expect(
        "CYCLEGC_MEMLAB_DIR must name the directory where `npm ci` installed @memlab/core \
         (crates/objgraph/tests/memlab; see this file's header)",
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/memlab/check.js");
    let output = Command::new("node")
        .arg(&script)
        .arg(file)
        .arg(name)
        .env("NODE_PATH", dir.join("node_modules"))
        .output()
        .expect("Node.js (`node`) runs");
    assert!(output.status.success(), "check.js failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("check.js printed no JSON ({e}):\n{}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
#[ignore = "needs Node.js and @memlab/core: set CYCLEGC_MEMLAB_DIR (see tests/memlab.rs) and pass --ignored"]
fn memlab_finds_the_cache_leak_with_its_retainer_path() {
    CACHE.with(|cache| objgraph::name_root(&Gc::to_any(cache), "_cache"));
    for number in 0..3 {
        handle_request(number);
    }
    // Live objects that are not leaked: an app and its sessions, which point back at it.
    let app = Gc::new(App { sessions: RefCell::new(Vec::new()) });
    for _ in 0..2 {
        let session = Gc::new(Session { app: app.clone() });
        app.sessions.borrow_mut().push(session);
    }

    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cache-leak.heapsnapshot");
    objgraph::save_heapsnapshot(&file).unwrap();
    let seen = memlab_reads(&file, "Request");

    // 4 synthetic nodes; Cache, 3 Requests, App, 2 Sessions (tracked); 3 request bodies
    // (leaves).
    assert_eq!(seen["nodes"], 4 + 7 + 3);
    // The root: (GC roots) and the two objects held from outside, _cache and app; (GC roots):
    // its two groups; (Held from outside): the two roots again; the objects' references:
    // items[0..3], 3 bodies, sessions[0..2], 2 back-pointers to the app.
    assert_eq!(seen["edges"], 3 + 2 + 2 + 3 + 3 + 2 + 2);

    let found = seen["found"].as_array().unwrap();
    assert_eq!(found.len(), 3);
    let request_size = TypeInfo::of::<Request>().object_size() + TypeInfo::of::<String>().object_size();
    for (k, leaked) in found.iter().enumerate() {
        let steps: Vec<(&str, Option<&str>)> = leaked["path"]
            .as_array()
            .unwrap()
            .iter()
            .map(|step| (step["node"].as_str().unwrap(), step["edge"].as_str()))
            .collect();
        let item = format!("items[{k}]");
        assert_eq!(steps, [("", Some("_cache")), ("Cache", Some(item.as_str())), ("Request", None)], "{leaked}");
        assert_eq!(leaked["path"][0]["edge_type"], "shortcut");
        assert_eq!(leaked["path"][1]["edge_type"], "property");
        // memlab's dominator tree: a request retains itself and its body.
        assert_eq!(leaked["retained_size"], request_size);
        assert_eq!(leaked["path"][1]["retained_size"], TypeInfo::of::<Cache>().object_size() + 3 * request_size);
    }
    println!("memlab's path to the last leaked request:\n{}", found[2]["summary"].as_str().unwrap());
    std::fs::remove_file(&file).unwrap();
    CACHE.with(|cache| cache.items.borrow_mut().clear());
    app.sessions.borrow_mut().clear();
}
