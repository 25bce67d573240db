use rc_heap::Trace;

#[derive(Trace)]
#[trace(skip, finalise)]
struct Typo {
    #[trace(ignore)]
    a: u32,
    #[trace(skip, skip)]
    b: u32,
}

fn main() {}
