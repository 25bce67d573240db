use rc_heap::Trace;

#[derive(Trace)]
#[trace(finalize)]
struct NoFinalizer {
    value: u32,
}

fn main() {}
