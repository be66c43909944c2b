//! The hexagon's rules, enforced by reading the source:
//! - the core (domain, ports, app) names no outside library but `async-trait` and `thiserror`,
//!   and in particular no instrumentation, web, storage or crypto library, not even in prose;
//! - each top-level module names only the modules below it: domain ← ports ← app, and
//!   inbound, outbound and telemetry each on ports and domain alone, never on each other or on
//!   app; startup knows every room; config is read by startup and main only, and names the
//!   adapters' settings types but never app.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const CORE: [&str; 3] = ["domain", "ports", "app"];

/// Libraries the core must not name anywhere, comments included.
const BANNED_IN_CORE: [&str; 22] = [
    "axum",
    "sea_orm",
    "sea-orm",
    "sqlx",
    "jsonwebtoken",
    "scrypt",
    "autometrics",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
    "opentelemetry_http",
    "tracing",
    "tracing_subscriber",
    "tracing_opentelemetry",
    "json_subscriber",
    "metrics",
    "prometheus",
    "prometheus_client",
    "tokio",
    "hyper",
    "tower",
    "serde",
];

/// What a path in core code may start with: the language's own crates and names, the two
/// libraries the core may use, and primitive types.
const CORE_PATH_ROOTS: [&str; 21] = [
    "std",
    "core",
    "alloc",
    "crate",
    "super",
    "self",
    "async_trait",
    "thiserror",
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "isize",
    "f64",
    "str",
    "char",
];

/// The modules each top-level module may name (`crate::…`; `snackdrawer::…` from main).
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let everything_but_main = [
        "domain",
        "ports",
        "app",
        "inbound",
        "outbound",
        "telemetry",
        "chaos",
        "config",
        "startup",
    ];
    BTreeMap::from([
        ("domain", BTreeSet::new()),
        ("ports", BTreeSet::from(["domain"])),
        ("app", BTreeSet::from(["domain", "ports"])),
        ("inbound", BTreeSet::from(["domain", "ports"])),
        ("outbound", BTreeSet::from(["domain", "ports"])),
        ("telemetry", BTreeSet::from(["domain", "ports"])),
        // Faults answer in the HTTP adapter's error shapes and show through telemetry.
        ("chaos", BTreeSet::from(["domain", "ports", "inbound", "telemetry"])),
        // Settings parsed with the fault plan's own parsers, and turned into the settings
        // types the adapters take.
        ("config", BTreeSet::from(["domain", "inbound", "outbound", "telemetry", "chaos"])),
        ("startup", BTreeSet::from(everything_but_main)),
        ("main", BTreeSet::from(["config", "startup", "telemetry", "chaos"])),
        ("lib", BTreeSet::new()),
    ])
}

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

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file under `src/` belongs to: `src/inbound/http/mod.rs` → inbound.
fn top_level_module(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The words of `text` that are in `names`, whole words only (`scrypted` is not `scrypt`).
fn named<'a>(text: &str, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| {
            text.match_indices(name).any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + name.len()..].chars().next();
                !before.is_some_and(|c| is_word(c) || c == '-')
                    && !after.is_some_and(|c| is_word(c) || c == '-')
            })
        })
        .collect()
}

/// `text` without comments and string literals, which name things without using them.
fn code_only(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut escaped = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '/' if !in_string && chars.peek() == Some(&'/') => break,
                _ if in_string => {}
                _ => code.push(c),
            }
        }
        code.push('\n');
    }
    code
}

/// The first segment of every path (`a::b`) in `code` whose start is lower case: a crate, a
/// module or a primitive type (types and variants, `AppError::Internal`, are upper case).
fn path_roots(code: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for (at, _) in code.match_indices("::") {
        let before = &code[..at];
        let start = before.rfind(|c: char| !is_word(c)).map_or(0, |i| i + 1);
        let root = &before[start..];
        let continues_a_path = before[..start].ends_with("::");
        if !root.is_empty() && !continues_a_path && root.starts_with(|c: char| c.is_lowercase()) {
            roots.insert(root.to_owned());
        }
    }
    roots
}

/// The crate's top-level modules `code` names: `crate::x` and `crate::{x, y::z}`, or the same
/// with `prefix` in place of `crate` (main names the library as `snackdrawer`).
fn modules_named(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let head = format!("{prefix}::");
    for (at, _) in code.match_indices(&head) {
        if code[..at].ends_with(is_word) {
            continue;
        }
        let rest = &code[at + head.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            found.extend(group_heads(group));
        } else {
            found.insert(rest.chars().take_while(|c| is_word(*c)).collect());
        }
    }
    found
}

/// The first name of each item of a `{a::b, c::{d, e}}` group (`group` starts after its `{`).
fn group_heads(group: &str) -> Vec<String> {
    let (mut heads, mut depth, mut item_start) = (Vec::new(), 0, true);
    for (at, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            _ if item_start && is_word(c) => {
                heads.push(group[at..].chars().take_while(|c| is_word(*c)).collect());
                item_start = false;
            }
            _ => {}
        }
    }
    heads
}

/// Names the core's paths may start with besides `CORE_PATH_ROOTS`: its own child modules
/// (`mod x;`) and modules it imports from an allowed root (`use std::fmt;`).
fn own_names(texts: &[String]) -> BTreeSet<String> {
    let declared = |line: &str| line.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned);
    let imported = |line: &str| {
        let path = line.strip_prefix("use ")?.strip_suffix(';')?;
        let (root, _) = path.split_once("::")?;
        let name = path.rsplit("::").next()?;
        (CORE_PATH_ROOTS.contains(&root) && name.chars().all(is_word)).then(|| name.to_owned())
    };
    texts
        .iter()
        .flat_map(|text| text.lines())
        .map(|line| line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) "))
        .filter_map(|line| declared(line).or_else(|| imported(line)))
        .collect()
}

fn core_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for dir in CORE {
        rust_files(&src().join(dir), &mut files);
    }
    assert!(files.len() >= 10, "expected the core's files, found {files:?}");
    files.into_iter().map(|file| (file.clone(), fs::read_to_string(&file).unwrap())).collect()
}

#[test]
fn the_detectors_find_what_they_look_for() {
    assert_eq!(named("use axum::Router;", &BANNED_IN_CORE), ["axum"]);
    assert_eq!(named("// hashed with scrypt.", &BANNED_IN_CORE), ["scrypt"]);
    assert_eq!(named("#[tracing::instrument(skip(self))]", &BANNED_IN_CORE), ["tracing"]);
    assert_eq!(named("use tracing_subscriber::Layer;", &BANNED_IN_CORE), ["tracing_subscriber"]);
    assert!(named("let axumish = prometheus_like; // sea-orms", &BANNED_IN_CORE).is_empty());

    let code =
        code_only("use log::info; // std::x\nlet s = \"http::x\"; Self::new(); u64::from(1)");
    assert_eq!(path_roots(&code), BTreeSet::from(["log".to_owned(), "u64".to_owned()]));
    assert_eq!(path_roots("a::b::c::D"), BTreeSet::from(["a".to_owned()]));

    let modules =
        modules_named("use crate::{app::X, ports::{A, B}}; crate::telemetry::y()", "crate");
    assert_eq!(modules, BTreeSet::from(["app".into(), "ports".into(), "telemetry".into()]));
    assert!(modules_named("use mycrate::ports::X;", "crate").is_empty());
}

#[test]
fn the_core_names_no_outside_library() {
    let files = core_files();
    let texts: Vec<String> = files.iter().map(|(_, text)| text.clone()).collect();
    let own_modules = own_names(&texts);
    let offences: Vec<String> = files
        .iter()
        .filter_map(|(file, text)| {
            let banned = named(text, &BANNED_IN_CORE);
            let foreign: Vec<String> = path_roots(&code_only(text))
                .into_iter()
                .filter(|root| !CORE_PATH_ROOTS.contains(&root.as_str()))
                .filter(|root| !own_modules.contains(root))
                .collect();
            (!banned.is_empty() || !foreign.is_empty())
                .then(|| format!("{} names {banned:?}, paths from {foreign:?}", file.display()))
        })
        .collect();
    assert!(offences.is_empty(), "the core must name no outside library:\n{}", offences.join("\n"));
}

#[test]
fn each_module_names_only_the_modules_below_it() {
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut offences = Vec::new();
    for file in files {
        let module = top_level_module(&file);
        let Some(may_name) = allowed.get(module.as_str()) else {
            offences
                .push(format!("{}: {module} is a top-level module with no rule", file.display()));
            continue;
        };
        let code = code_only(&fs::read_to_string(&file).unwrap());
        let prefix = if module == "main" { "snackdrawer" } else { "crate" };
        for named in modules_named(&code, prefix) {
            if named != module && !may_name.contains(named.as_str()) {
                offences.push(format!("{}: {module} names {named}", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "modules reach past their layer:\n{}", offences.join("\n"));
}

/// Connections are served by `inbound::http::server` alone: `axum::serve` has no connection cap
/// and no header or idle timeout, so a listener served by it, or by hyper directly, would undo
/// them.
#[test]
fn every_listener_is_served_by_the_connection_edge() {
    let mut files = Vec::new();
    rust_files(&src().join("inbound/http/server"), &mut files);
    let edge: BTreeSet<PathBuf> = files.drain(..).collect();
    rust_files(&src(), &mut files);
    for file in files.iter().filter(|file| !edge.contains(*file)) {
        let code = code_only(&fs::read_to_string(file).unwrap());
        for server in ["axum::serve", "serve_connection", "hyper_util::server"] {
            assert!(!code.contains(server), "{} names {server}", file.display());
        }
    }
}
