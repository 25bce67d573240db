use std::any::Any;

use rc_heap::Trace;

#[derive(Trace)]
struct Plugin {
    state: Box<dyn Any>,
}

fn main() {}
