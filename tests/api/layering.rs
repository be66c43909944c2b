//! The hexagon's rules, enforced by reading the source:
//! - the core (domain, ports, app) names no outside library but `async-trait` and `thiserror`,
//!   and in particular no instrumentation, web, storage or crypto library, not even in prose;
//! - each room names only the rooms below it: domain ← ports ← app; each adapter (one file or
//!   folder of `src/adapters/`) and telemetry on ports and domain alone, never on app, on
//!   each other or on another adapter; chaos on telemetry too, and on the HTTP adapter for its
//!   error shape and route tables only; startup knows every room; config is read by startup
//!   and main only, and names the adapters' settings types but never app.

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

/// The adapters, each a room of its own: an adapter names no other.
const ADAPTERS: [&str; 8] =
    ["clock", "http", "jwt", "memory", "scrypt", "sql", "throttle", "write_rate"];

/// What chaos may take from the HTTP adapter: the contract's error shape and route tables, so an
/// injected fault answers exactly as a real one (decision 0007). Nothing else of any adapter.
const CHAOS_FROM_HTTP: [&str; 4] = ["ApiError", "BODY_LIMIT_BYTES", "OPERATIONAL_PATHS", "ROUTES"];

/// The rooms each room may name (`crate::…`, `super::…`; `snackdrawer::…` from main). A room is
/// a top-level module, or under `adapters` one adapter (`adapters::sql`); `adapters` alone
/// stands for all of them.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let rooms = |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect();
    let every_adapter: Vec<String> =
        ADAPTERS.iter().map(|name| format!("adapters::{name}")).collect();
    let with_adapters = |names: &[&str]| {
        let mut set: BTreeSet<String> = rooms(names);
        set.extend(every_adapter.iter().cloned());
        set.insert("adapters".to_owned());
        set
    };
    let mut allowed = BTreeMap::from([
        ("domain".to_owned(), rooms(&[])),
        ("ports".to_owned(), rooms(&["domain"])),
        ("app".to_owned(), rooms(&["domain", "ports"])),
        ("adapters".to_owned(), rooms(&[])),
        ("telemetry".to_owned(), rooms(&["domain", "ports"])),
        // Faults answer in the HTTP adapter's error shapes (items listed in CHAOS_FROM_HTTP)
        // and show through telemetry.
        ("chaos".to_owned(), rooms(&["domain", "ports", "telemetry", "adapters::http"])),
        // Settings parsed with the fault plan's own parsers, and turned into the settings
        // types the adapters take.
        ("config".to_owned(), with_adapters(&["domain", "telemetry", "chaos"])),
        (
            "startup".to_owned(),
            with_adapters(&["domain", "ports", "app", "telemetry", "chaos", "config"]),
        ),
        ("main".to_owned(), rooms(&["config", "startup", "telemetry", "chaos"])),
        ("lib".to_owned(), rooms(&[])),
    ]);
    for adapter in &every_adapter {
        allowed.insert(adapter.clone(), rooms(&["domain", "ports"]));
    }
    allowed
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

/// The module path of a file under `src/`: `adapters/http/snacks.rs` → `[adapters, http,
/// snacks]`, a `mod.rs` its folder's, `main.rs` and `lib.rs` their own name.
fn module_path(relative: &Path) -> Vec<String> {
    let mut path: Vec<String> = relative
        .iter()
        .map(|part| part.to_str().unwrap().trim_end_matches(".rs").to_owned())
        .collect();
    if path.len() > 1 && path.last().is_some_and(|last| last == "mod") {
        path.pop();
    }
    path
}

/// The room a module path is in: its top-level module, or `adapters::<adapter>` one level down.
fn room(path: &[String]) -> String {
    match path {
        [adapters, adapter, ..]
            if adapters == "adapters" && ADAPTERS.contains(&adapter.as_str()) =>
        {
            format!("adapters::{adapter}")
        }
        [first, ..] => first.clone(),
        [] => String::new(),
    }
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

/// Every path `code` names from the crate's root, groups spelt out: `crate::{a::X, b::{Y, Z}}`
/// gives `a::X`, `b::Y` and `b::Z`. `root` is the crate's name (`crate`, or `snackdrawer` from
/// main); `super::` and `self::` are resolved from `module`, the file's module path.
fn paths_named(code: &str, root: &str, module: &[String]) -> Vec<Vec<String>> {
    let inline = inline_modules(code);
    let mut found = Vec::new();
    for (at, _) in code.match_indices("::") {
        let module: Vec<String> = module
            .iter()
            .chain(inline.iter().filter(|(body, _)| body.contains(&at)).map(|(_, name)| name))
            .cloned()
            .collect();
        let before = &code[..at];
        let start = before.rfind(|c: char| !is_word(c)).map_or(0, |i| i + 1);
        if before[..start].ends_with("::") {
            continue;
        }
        let mut base: Vec<String> = match &before[start..] {
            word if word == root => Vec::new(),
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            "self" => module.clone(),
            _ => continue,
        };
        let mut rest = &code[at + 2..];
        while let Some(further) = rest.strip_prefix("super::") {
            base.pop();
            rest = further;
        }
        for tail in path_tree(rest).0 {
            found.push(base.iter().cloned().chain(tail).collect());
        }
    }
    found
}

/// The modules written inline in `code` (`mod tests { … }`), each with the span of its body,
/// outer ones first: `super::` inside one means the file's own module.
fn inline_modules(code: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("mod ") {
        let rest = &code[at + 4..];
        let name: String = rest.chars().take_while(|c| is_word(*c)).collect();
        let body = rest[name.len()..].trim_start();
        if code[..at].ends_with(is_word) || name.is_empty() || !body.starts_with('{') {
            continue;
        }
        let open = code.len() - body.len();
        let mut depth = 0;
        let mut close = code.len();
        for (i, c) in body.char_indices() {
            // A brace written as a character literal, '{', opens or closes nothing.
            let quoted = body[..i].ends_with('\'') && body[i + 1..].starts_with('\'');
            match c {
                '{' if !quoted => depth += 1,
                '}' if !quoted => depth -= 1,
                _ => continue,
            }
            if depth == 0 {
                close = open + i;
                break;
            }
        }
        found.push((open..close, name));
    }
    found
}

/// The paths of a `use` tree written from its start (`a::{b, c::d}`), and how many bytes it
/// took. A leaf that is not a word (`*`) ends its path where it stands.
fn path_tree(text: &str) -> (Vec<Vec<String>>, usize) {
    let skipped = text.len() - text.trim_start().len();
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let (mut paths, mut at) = (Vec::new(), 1);
        loop {
            let item = &group[at - 1..];
            let trimmed = item.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            at += item.len() - trimmed.len();
            if trimmed.is_empty() || trimmed.starts_with('}') {
                return (paths, skipped + at + 1);
            }
            let (inner, used) = path_tree(trimmed);
            paths.extend(inner);
            // Past the item and anything after it (`as name`) up to the next `,` or `}`.
            let after = &trimmed[used..];
            at += used + after.find([',', '}']).unwrap_or(after.len());
        }
    }
    let word: String = text.chars().take_while(|c| is_word(*c)).collect();
    let after = &text[word.len()..];
    match after.strip_prefix("::") {
        Some(rest) if !word.is_empty() => {
            let (tails, used) = path_tree(rest);
            let paths = tails.into_iter().map(|tail| [vec![word.clone()], tail].concat()).collect();
            (paths, skipped + word.len() + 2 + used)
        }
        _ => (vec![vec![word.clone()]], skipped + word.len()),
    }
}

/// Where `code`, in the file at `relative` (under `src/`), reaches past its room's rules.
fn offences(
    relative: &Path,
    code: &str,
    allowed: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let module = module_path(relative);
    let own = room(&module);
    let Some(may_name) = allowed.get(own.as_str()) else {
        return vec![format!("{}: {own} is a room with no rule", relative.display())];
    };
    if own == "adapters" && module.len() > 1 {
        return vec![format!("{}: an adapter not in ADAPTERS", relative.display())];
    }
    let root = if own == "main" { "snackdrawer" } else { "crate" };
    let mut found = Vec::new();
    for path in paths_named(code, root, &module) {
        let named = room(&path);
        if named.is_empty() || named == own || path.first() == Some(&own) {
            continue;
        }
        let item = path.get(2).map_or("", String::as_str);
        if !may_name.contains(&named) {
            found.push(format!("{}: {own} names {}", relative.display(), path.join("::")));
        } else if own == "chaos" && named == "adapters::http" && !CHAOS_FROM_HTTP.contains(&item) {
            found.push(format!(
                "{}: chaos takes {} from the HTTP adapter",
                relative.display(),
                path.join("::")
            ));
        }
    }
    found
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

    let module = ["adapters".to_owned(), "http".to_owned(), "snacks".to_owned()];
    let named = |code| {
        paths_named(code, "crate", &module).iter().map(|path| path.join("::")).collect::<Vec<_>>()
    };
    assert_eq!(
        named("use crate::{app::X, ports::{A, B as C}}; crate::telemetry::y()"),
        ["app::X", "ports::A", "ports::B", "telemetry::y"]
    );
    assert_eq!(
        named("use super::error::E; use super::super::sql::S; self::x()"),
        ["adapters::http::error::E", "adapters::sql::S", "adapters::http::snacks::x"]
    );
    assert!(named("use mycrate::ports::X; Self::new()").is_empty());
    assert_eq!(
        named("mod tests { use super::*; let c = '}'; use super::E; }"),
        ["adapters::http::snacks::", "adapters::http::snacks::E"]
    );
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
fn each_room_names_only_the_rooms_below_it() {
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offences: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let code = code_only(&fs::read_to_string(file).unwrap());
            offences(file.strip_prefix(src()).unwrap(), &code, &allowed)
        })
        .collect();
    assert!(offences.is_empty(), "modules reach past their room:\n{}", offences.join("\n"));
}

/// The rules catch a planted import of each kind, and pass the imports the code really has.
#[test]
fn the_room_rules_catch_planted_imports() {
    let allowed = allowed();
    let check = |file: &str, code: &str| offences(Path::new(file), code, &allowed);
    let planted = [
        ("adapters/http/drawers.rs", "use crate::adapters::sql::SqlStore;"),
        ("adapters/memory.rs", "use super::jwt::JwtTokens;"),
        ("adapters/sql/cache.rs", "use super::super::clock::SystemClock;"),
        ("adapters/scrypt.rs", "use crate::{ports::Clock, adapters::{clock::SystemClock}};"),
        ("adapters/http/mod.rs", "let x = crate::app::Snackdrawer::new();"),
        ("telemetry/http.rs", "use crate::adapters::http::ApiError;"),
        ("chaos/http.rs", "use crate::adapters::http::{ApiError, router};"),
        ("chaos/faulty.rs", "use crate::adapters::memory::MemoryStore;"),
        ("config/store.rs", "use crate::app::Snackdrawer;"),
        ("main.rs", "use snackdrawer::adapters::sql::SqlStore;"),
        ("domain/ids.rs", "use crate::ports::AppError;"),
        ("adapters/redis.rs", "use crate::ports::SnackRepository;"),
    ];
    for (file, code) in planted {
        assert_eq!(check(file, code).len(), 1, "{file}: {code} was not caught");
    }
    let fine = [
        (
            "adapters/http/drawers.rs",
            "use super::error::ApiError; use crate::ports::{UseCases, AppError};",
        ),
        ("adapters/sql/cache.rs", "use super::{flight::Flight, errors::StoreErrorExt};"),
        ("chaos/http.rs", "use crate::adapters::http::{ApiError, OPERATIONAL_PATHS};"),
        ("config/store.rs", "use crate::adapters::sql::PoolSettings;"),
        ("startup.rs", "use crate::adapters::{self, http::{self, AddressLimits}, sql::SqlStore};"),
        ("main.rs", "use snackdrawer::startup::{Application, Stopped};"),
    ];
    for (file, code) in fine {
        assert_eq!(check(file, code), Vec::<String>::new(), "{file}: {code}");
    }
}

/// Connections are served by `adapters::http::server` alone: `axum::serve` has no connection cap
/// and no header or idle timeout, so a listener served by it, or by hyper directly, would undo
/// them.
#[test]
fn every_listener_is_served_by_the_connection_edge() {
    let mut files = Vec::new();
    rust_files(&src().join("adapters/http/server"), &mut files);
    let edge: BTreeSet<PathBuf> = files.drain(..).collect();
    rust_files(&src(), &mut files);
    for file in files.iter().filter(|file| !edge.contains(*file)) {
        let code = code_only(&fs::read_to_string(file).unwrap());
        for server in ["axum::serve", "serve_connection", "hyper_util::server"] {
            assert!(!code.contains(server), "{} names {server}", file.display());
        }
    }
}
