//! Inputs the derive must reject, with an error at the offending token, and crates of
//! unusual shape it must compile in.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
