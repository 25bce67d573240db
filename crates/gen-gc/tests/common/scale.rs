//! Sizes for the tests that build big heaps, shared by the test binaries that need them.

/// `n` natively; a thousandth under Miri, and divided by `CYCLEGC_TEST_SCALE` when it is set
/// (valgrind), at least 2.
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        return (n / 1000).max(2);
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<usize>().ok()) {
        Some(scale) if scale > 0 => (n / scale).max(2),
        _ => n,
    }
}
