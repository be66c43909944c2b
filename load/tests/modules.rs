//! The generator's modules name each other in one direction only: no module reaches, directly or
//! through others, back to itself. A reader can then start at the bottom (the hyper transport,
//! the answer, the contract) and climb to `run` without ever needing a module they have not read.
//! Issue 23 found circles (agent, session, exchange and contract naming each other; the command
//! line and the personas too); this test keeps new ones out. A module is a file under `src/` or a
//! folder (`personas/`), and it names another wherever its code says `crate::<module>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of the crate and the other modules its code names.
type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn no_module_reaches_back_to_itself() {
    let graph = graph_of(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.contains_key("personas") && graph.contains_key("run"), "{graph:?}");
    if let Some(circle) = circle_in(&graph) {
        panic!("modules that name each other in a circle: {}", circle.join(" -> "));
    }
}

#[test]
fn a_planted_circle_is_found() {
    let edges = [("exchange", "contract"), ("contract", "reply"), ("reply", "exchange")];
    let mut graph = Graph::new();
    for (from, to) in edges {
        graph.entry(from.into()).or_default().insert(to.into());
    }
    graph.entry("run".into()).or_default().insert("exchange".into());
    let circle = circle_in(&graph).expect("the planted circle is found");
    assert_eq!(circle.first(), circle.last());
    assert_eq!(circle.len(), 4, "{circle:?}");
    assert!(!circle.contains(&"run".to_owned()), "{circle:?}");
}

/// The modules under `source` and whom each names.
fn graph_of(source: &Path) -> Graph {
    let mut graph = Graph::new();
    for (module, path) in files(source) {
        let text = std::fs::read_to_string(&path).unwrap();
        let named = graph.entry(module.clone()).or_default();
        for line in text.lines().filter(|line| !line.trim_start().starts_with("//")) {
            named.extend(modules_named(line).filter(|other| *other != module));
        }
    }
    graph
}

/// Every `.rs` file under `source`, with the module it belongs to: its own name at the top,
/// its folder's name below it.
fn files(source: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut found = vec![];
    for entry in std::fs::read_dir(source).unwrap().map(Result::unwrap) {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let inner = std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path());
            found.extend(inner.map(|file| (name.clone(), file)));
        } else {
            found.push((name, path));
        }
    }
    found
}

/// The modules a line names as `crate::<module>` (`$crate::` in a macro counts too).
fn modules_named(line: &str) -> impl Iterator<Item = String> + '_ {
    line.match_indices("crate::").map(move |(at, prefix)| {
        let rest = &line[at + prefix.len()..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        rest[..end].to_owned()
    })
}

/// A circle in `graph`, as the modules along it with the first repeated at the end.
fn circle_in(graph: &Graph) -> Option<Vec<String>> {
    let mut finished = BTreeSet::new();
    for start in graph.keys() {
        let mut path = vec![];
        if let Some(circle) = walk(graph, start, &mut path, &mut finished) {
            return Some(circle);
        }
    }
    None
}

/// Depth first from `module`, with `path` the modules on the way there.
fn walk(
    graph: &Graph,
    module: &str,
    path: &mut Vec<String>,
    finished: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|on_path| on_path == module) {
        let mut circle = path[at..].to_vec();
        circle.push(module.to_owned());
        return Some(circle);
    }
    if finished.contains(module) {
        return None;
    }
    path.push(module.to_owned());
    for next in graph.get(module).into_iter().flatten() {
        if let Some(circle) = walk(graph, next, path, finished) {
            return Some(circle);
        }
    }
    path.pop();
    finished.insert(module.to_owned());
    None
}
