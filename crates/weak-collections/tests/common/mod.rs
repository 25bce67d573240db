//! What the test binaries of the weak containers share.

use std::cell::RefCell;
use std::rc::Rc;

/// What the heap reported instead of raising (`cyclegc::set_unraisable_hook`) while `f`
/// ran: each report's subject and message.
pub fn unraisable_during(f: impl FnOnce()) -> Vec<(String, String)> {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let previous = cyclegc::set_unraisable_hook(Some(Box::new(move |report| {
        sink.borrow_mut().push((report.what().to_owned(), report.message()));
    })));
    f();
    drop(cyclegc::set_unraisable_hook(previous));
    seen.take()
}
