use rc_heap::{Gc, Trace};

#[derive(Trace, Debug)]
#[trace(describe)]
struct Labelled<T> {
    value: T,
}

#[derive(Trace)]
struct NoDebug;

fn main() {
    let _ = Gc::new(Labelled { value: NoDebug });
}
