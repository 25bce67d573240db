use rc_heap::{Gc, coerce_gc};

fn main() {
    let bytes: Gc<[u8]> = Gc::from(vec![1, 2, 3]);
    let _words: Gc<[u64]> = coerce_gc!(bytes);
}
