use rc_heap::{Gc, coerce_gc};

fn main() {
    let number = Gc::new(5_u32);
    let _wider = coerce_gc!(number => u64);
}
