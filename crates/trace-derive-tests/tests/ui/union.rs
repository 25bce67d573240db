use rc_heap::Trace;

#[derive(Trace)]
union Either {
    a: u32,
    b: f32,
}

fn main() {}
