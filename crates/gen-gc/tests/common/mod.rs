//! What the collector's test binaries share.

use std::cell::RefCell;
use std::rc::Rc;

/// A debug writer that keeps what it is given, and calls `on_write` after each write.
struct Sink<F> {
    out: Rc<RefCell<String>>,
    on_write: F,
}

impl<F: FnMut()> std::io::Write for Sink<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.borrow_mut().push_str(&String::from_utf8_lossy(buf));
        (self.on_write)();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Makes the collector's debug output go to a string, returned; `on_write` runs after each
/// write (user code the collector must be ready for).
pub fn capture_debug_output_with(on_write: impl FnMut() + 'static) -> Rc<RefCell<String>> {
    let out = Rc::new(RefCell::new(String::new()));
    gen_gc::set_debug_output(Some(Box::new(Sink { out: out.clone(), on_write })));
    out
}

/// Makes the collector's debug output go to a string, returned.
pub fn capture_debug_output() -> Rc<RefCell<String>> {
    capture_debug_output_with(|| {})
}
