use rc_heap::{Gc, coerce_gc};

trait Listener {
    fn notify(&self);
}

fn main() {
    let number = Gc::new(5_u32);
    let _listener: Gc<dyn Listener> = coerce_gc!(number);
}
