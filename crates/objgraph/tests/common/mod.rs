//! Helpers shared by the integration tests.

/// Sizes for the tests that build big heaps: full size natively, scaled down under Miri and
/// when `CYCLEGC_TEST_SCALE` divides them (valgrind runs use it).
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        return (n / 100_000).max(10);
    }
    match std::env::var("CYCLEGC_TEST_SCALE").ok().and_then(|s| s.parse::<usize>().ok()) {
        Some(divisor) if divisor > 0 => (n / divisor).max(10),
        _ => n,
    }
}
