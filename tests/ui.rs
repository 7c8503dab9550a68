//! Compile-time tests of `workflow!`: moves the file does not allow do not compile, and a
//! mistake in a workflow file is a compile error naming `file:line:col`.
//!
//! Set `TRYBUILD=overwrite` to rewrite the expected `.stderr` files.

use std::path::Path;

#[test]
fn ui() {
    link_into_trybuild_project();
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}

/// trybuild compiles each case in a project of its own under
/// `<target>/tests/trybuild/workstream`, so `CARGO_MANIFEST_DIR` points there while the
/// cases' workflow files are here. Link this crate's `tests` and `examples` folders into it.
fn link_into_trybuild_project() {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory");
    let project = target.join("tests").join("trybuild").join("workstream");
    std::fs::create_dir_all(&project).expect("create the trybuild project folder");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for folder in ["tests", "examples"] {
        let link = project.join(folder);
        if link.symlink_metadata().is_ok() {
            continue;
        }
        std::os::unix::fs::symlink(manifest.join(folder), &link)
            .unwrap_or_else(|e| panic!("link {} into the trybuild project: {e}", folder));
    }
}
