//! Leak checks on the example server (`examples/leaky_server.rs`), as a user writes them:
//! `LeakCheck` runs a batch of requests again and again, and the report's text is an insta
//! snapshot. The leaky handler's snapshot names the registry that keeps the failed requests;
//! the fixed handler's says that nothing grew.

#[path = "../examples/leaky_server.rs"]
#[allow(dead_code, reason = "the example's `main` is for `cargo run`")]
mod leaky_server;

use cyclegc::objgraph::LeakCheck;
use leaky_server::{Handler, Server};

/// Object sizes, and so retained bytes, grow by a word per object with the `alloc-site`
/// feature: that configuration has snapshots of its own.
fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    if cfg!(feature = "alloc-site") {
        settings.set_snapshot_suffix("alloc-site");
    }
    settings
}

#[test]
fn the_leaky_handler_keeps_every_failed_request() {
    let server = Server::new();
    let report = LeakCheck::new().sites(false).run(|| server.serve_batch(Handler::Leaky));
    assert!(!report.is_clean());
    assert_eq!(report.groups[0].chain(), "server -> Server.in_flight[*] -> Request");
    snapshot_settings().bind(|| insta::assert_snapshot!(report));
}

#[test]
fn the_fixed_handler_does_not_grow() {
    let server = Server::new();
    let report = LeakCheck::new().run(|| server.serve_batch(Handler::Fixed));
    insta::assert_snapshot!(report, @r"
    leak check: 1 warm-up run, 3 measured runs

    no type grew in every measured run: no leak
    ");
    LeakCheck::new().assert_no_leaks(|| server.serve_batch(Handler::Fixed));
    assert_eq!(server.in_flight(), 0);
}
