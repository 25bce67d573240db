use rc_heap::Trace;

#[derive(Trace)]
enum Message {
    #[trace(skip)]
    Ping,
    Data(u8),
}

fn main() {}
