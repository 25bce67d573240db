use rc_heap::Trace;

#[derive(Trace)]
struct Borrowed<'a, 'b> {
    text: &'a str,
    more: &'b str,
}

fn main() {}
