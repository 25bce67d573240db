use rc_heap::{Gc, Trace};

#[derive(Trace)]
#[repr(C, packed(2))]
struct Packed {
    tag: u8,
    next: Option<Gc<u8>>,
}

fn main() {}
