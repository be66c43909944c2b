//! The hexagon's rule, enforced: the core (domain, ports, app) never names an outside library
//! that belongs in an adapter.

use std::fs;
use std::path::{Path, PathBuf};

const CORE: [&str; 3] = ["src/domain", "src/ports", "src/app"];
/// Libraries that belong in adapters.
const ADAPTER_LIBRARIES: [&str; 12] = [
    "axum",
    "sea_orm",
    "sea-orm",
    "sqlx",
    "jsonwebtoken",
    "scrypt",
    "autometrics",
    "opentelemetry",
    "prometheus",
    "tokio",
    "hyper",
    "tower",
];

/// The crate's outer layers, which the core must not reach into either.
const OUTER_MODULES: [&str; 3] = ["crate::adapters", "crate::startup", "crate::config"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// Library names that appear in `text` as whole words (so `scrypted` would not count), and
/// paths into the crate's outer layers.
fn named_libraries(text: &str) -> Vec<&'static str> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let libraries = ADAPTER_LIBRARIES.into_iter().filter(|library| {
        text.match_indices(library).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + library.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    });
    let outer = OUTER_MODULES.into_iter().filter(|path| text.contains(path));
    libraries.chain(outer).collect()
}

#[test]
fn the_detector_finds_library_names_as_words() {
    assert_eq!(named_libraries("use axum::Router;"), ["axum"]);
    assert_eq!(named_libraries("// hashed with scrypt."), ["scrypt"]);
    assert!(named_libraries("let axumish = prometheus_like;").is_empty());
    assert_eq!(named_libraries("use crate::adapters::memory;"), ["crate::adapters"]);
    assert!(named_libraries("/// The adapters a service runs on.").is_empty());
}

#[test]
fn the_core_names_no_adapter_library() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in CORE {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 10, "expected the core's files, found {files:?}");
    let offences: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let named = named_libraries(&fs::read_to_string(file).unwrap());
            (!named.is_empty()).then(|| format!("{} names {named:?}", file.display()))
        })
        .collect();
    assert!(
        offences.is_empty(),
        "the core must not name adapter libraries:\n{}",
        offences.join("\n")
    );
}
