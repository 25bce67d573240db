use rc_heap::Trace;

#[derive(Trace)]
enum Token<'src> {
    Word(&'src str),
    End,
}

fn main() {}
