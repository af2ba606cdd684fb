//! The route macros' compile-time contract, pinned with `trybuild`: every
//! file in `ui/pass` must compile (and run), every file in `ui/fail` must
//! fail with exactly the checked-in `.stderr`, so the wording a newcomer
//! reads cannot drift. Regenerate after a deliberate change with
//! `TRYBUILD=overwrite cargo test -p sutegi --test ui`, then read each
//! `.stderr` as a newcomer would.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
