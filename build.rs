//! Stamps the binary with the commit it was built from, for the `build_info` metric.
//! `SNACKDRAWER_BUILD_COMMIT` wins (a Docker build has no `.git`); otherwise git is asked.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SNACKDRAWER_BUILD_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
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
    let commit = std::env::var("SNACKDRAWER_BUILD_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_default();
    println!("cargo:rustc-env=SNACKDRAWER_COMMIT={commit}");
    println!("cargo:rustc-env=SNACKDRAWER_BRANCH={branch}");
}
