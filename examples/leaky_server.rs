//! A leak in a request loop, found with a leak check, narrated. A small server keeps the
//! requests it is handling in a registry, for its status page, and forgets to remove those
//! that fail: the article's `_cache` leak, in a server. `objgraph::LeakCheck` serves a batch
//! of requests again and again and reports what grew in every batch, the chain that holds it,
//! the bytes it keeps alive and (with `--features alloc-site`) the line that created it. Then
//! the fixed handler, whose registry only refers to the requests (a `WeakValueDictionary`),
//! and its report: no growth.
//!
//! Run with `cargo run --example leaky_server` (`--features alloc-site` adds creation sites).
//! `tests/leak_check.rs` runs the same checks as snapshot tests.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use cyclegc::weak_collections::WeakValueDictionary;
use cyclegc::{Gc, Trace, objgraph};

/// Which request handler the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handler {
    /// Registers each request and removes it when done, except when it fails: the error path
    /// returns early.
    Leaky,
    /// Registers each request weakly: the entry goes when the request does, however the
    /// handler returns.
    Fixed,
}

/// A request and, once handled, its response.
#[derive(Trace)]
#[trace(describe = Request::describe)]
pub(crate) struct Request {
    id: u64,
    path: String,
    response: RefCell<Option<Gc<Response>>>,
}

impl Request {
    fn describe(&self) -> String {
        format!("#{} GET {}", self.id, self.path)
    }
}

/// A response. It holds no `Gc`, so `tracked` puts it on the collector's lists, where leak
/// checks count it, as Python tracks every instance of a class.
#[derive(Trace)]
#[trace(tracked)]
pub(crate) struct Response {
    status: u16,
    body: String,
}

/// The server: its registries of the requests in flight and a request counter.
#[derive(Trace)]
pub(crate) struct Server {
    /// The requests being handled, by id (the leaky handler's registry: it owns them).
    in_flight: RefCell<HashMap<u64, Gc<Request>>>,
    /// The same registry done right: it only refers to the requests.
    in_flight_weakly: WeakValueDictionary<u64, Request>,
    next_id: Cell<u64>,
}

/// What a client sends in one go: one batch of the request loop.
pub(crate) const BATCH: [&str; 4] = ["/", "/users/7", "/missing", "/users/8"];

impl Server {
    /// A server, named `server` for the chains of leak reports.
    pub(crate) fn new() -> Gc<Server> {
        let server = Gc::new(Server {
            in_flight: RefCell::new(HashMap::new()),
            in_flight_weakly: WeakValueDictionary::new(),
            next_id: Cell::new(0),
        });
        objgraph::name_root(&Gc::to_any(&server), "server");
        server
    }

    /// Handles every request of [`BATCH`].
    pub(crate) fn serve_batch(&self, handler: Handler) {
        for path in BATCH {
            self.handle(path, handler);
        }
    }

    /// Handles one request; returns the response's status.
    fn handle(&self, path: &str, handler: Handler) -> u16 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let request = Gc::new(Request { id, path: path.to_owned(), response: RefCell::new(None) });
        match handler {
            Handler::Leaky => drop(self.in_flight.borrow_mut().insert(id, request.clone())),
            Handler::Fixed => drop(self.in_flight_weakly.insert(id, &request)),
        }
        let response = route(path);
        *request.response.borrow_mut() = Some(response.clone());
        if response.status != 200 {
            return response.status; // the bug: a failed request stays registered
        }
        self.in_flight.borrow_mut().remove(&id);
        response.status
    }

    /// How many requests the registries say are in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.borrow().len() + self.in_flight_weakly.len()
    }
}

/// The application: two pages exist.
fn route(path: &str) -> Gc<Response> {
    let (status, body) = match path {
        "/" => (200, "welcome".to_owned()),
        _ if path.starts_with("/users/") => (200, format!("user {}", &path["/users/".len()..])),
        _ => (404, "not found".to_owned()),
    };
    Gc::new(Response { status, body })
}

/// Prints a report under this narration's numbered steps.
fn print_indented(report: &objgraph::LeakReport) {
    for line in report.to_string().lines() {
        if line.is_empty() {
            println!();
        } else {
            println!("   {line}");
        }
    }
}

fn main() {
    println!("1. The server handles a batch of requests: {BATCH:?}");
    let server = Server::new();
    server.serve_batch(Handler::Leaky);
    println!("   requests still in flight after the batch: {} (there should be none)", server.in_flight());

    println!("\n2. A leak check serves one batch per run: one warm-up run, then three measured runs.");
    let report = objgraph::LeakCheck::new().run(|| server.serve_batch(Handler::Leaky));
    print_indented(&report);

    println!("\n3. A few of the leaked requests, still alive (the report keeps their ids):");
    if let Some(group) = report.groups.iter().find(|group| group.type_name == "Request") {
        for request in group.objects() {
            let status = request.downcast::<Request>().and_then(|request| {
                request.response.borrow().as_ref().map(|response| (response.status, response.body.clone()))
            });
            println!("   {} -> {status:?}", request.describe().unwrap_or_default());
        }
    }

    println!("\n4. The fix: the registry refers to the requests weakly; a failed request goes as it ends.");
    let server = Server::new();
    let report = objgraph::LeakCheck::new().run(|| server.serve_batch(Handler::Fixed));
    print_indented(&report);
    println!("   requests in flight: {}", server.in_flight());
}
