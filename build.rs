//! Stamps the binary with the commit it was built from, for the `build_info` metric.
//! `SNACKDRAWER_BUILD_COMMIT` wins (a Docker build has no `.git`); otherwise git is asked.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SNACKDRAWER_BUILD_COMMIT");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty())
    };
    // Watched where git keeps them: in a worktree `.git` is a file, and a path that does not
    // exist would make cargo run this script, and rebuild the crate, on every command.
    if let Some(own) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={own}/HEAD");
    }
    if let Some(shared) = git(&["rev-parse", "--git-common-dir"]) {
        println!("cargo:rerun-if-changed={shared}/refs");
    }
    let commit = std::env::var("SNACKDRAWER_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=SNACKDRAWER_COMMIT={commit}");
    println!("cargo:rustc-env=SNACKDRAWER_BRANCH={branch}");
}
