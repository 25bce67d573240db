//! Misuse the compiler must reject: coercions that are not unsizings.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
