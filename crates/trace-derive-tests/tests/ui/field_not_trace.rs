use rc_heap::Trace;

struct Foreign;

#[derive(Trace)]
struct Holder {
    foreign: Foreign,
}

fn main() {}
