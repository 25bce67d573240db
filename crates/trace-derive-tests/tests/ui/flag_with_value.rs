use rc_heap::Trace;

#[derive(Trace)]
#[trace(finalize = close, tracked(true), tracked)]
struct Connection {
    #[trace(skip = true, flatten)]
    a: u32,
}

fn close(_: &Connection) {}

fn main() {}
