//! The route macros' compile-time contract, pinned with `trybuild`: every
//! file in `ui/pass` must compile (and run), every file in `ui/fail` must
//! fail with exactly the checked-in `.stderr`, so the wording a newcomer
//! reads cannot drift. Regenerate after a deliberate change with
//! `TRYBUILD=overwrite cargo test -p sutegi --test ui`, then read each
//! `.stderr` as a newcomer would. The cases in `ui/fail_openapi` run only
//! with the `openapi` feature: bless them with
//! `TRYBUILD=overwrite cargo test --workspace --test ui`.
//!
//! The `.stderr` files hold rustc's own wording around sutegi's, and that
//! changes between Rust releases: they are blessed on [`BLESSED_ON`], the
//! toolchain CI runs. On another toolchain a mismatch fails with a note
//! saying so, rather than a bare diff.

use std::process::Command;

/// The Rust release the `.stderr` files were written by.
const BLESSED_ON: &str = "1.95";

#[test]
fn ui() {
    let outcome = std::panic::catch_unwind(|| {
        let cases = trybuild::TestCases::new();
        cases.pass("tests/ui/pass/*.rs");
        cases.compile_fail("tests/ui/fail/*.rs");
        // The `openapi` feature's own refusals; the feature is on in
        // workspace builds (the examples enable it), off for `-p sutegi`.
        #[cfg(feature = "openapi")]
        cases.compile_fail("tests/ui/fail_openapi/*.rs");
    });
    if let Err(panic) = outcome {
        let version = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|error| format!("unknown ({error})"));
        if !version.starts_with(&format!("rustc {BLESSED_ON}.")) {
            eprintln!(
                "note: the UI tests are blessed on Rust {BLESSED_ON}, and this is {version}: \
                 a difference in rustc's own wording fails them; re-bless on purpose \
                 (see the top of sutegi/tests/ui.rs) or use Rust {BLESSED_ON}"
            );
        }
        std::panic::resume_unwind(panic);
    }
}
