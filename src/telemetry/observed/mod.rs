//! `Observed<P>`: the decorator that makes every port visible. It implements each port, inbound
//! (`inbound.rs`: the use cases' spans) and outbound (`outbound.rs`: spans and function-call
//! series of store, hashing and token calls), by wrapping another implementation of the same
//! port, so the core and the adapters stay free of instrumentation and `startup` decides what
//! is observed.

mod inbound;
mod outbound;

use super::request_trace;
use tracing::Span;

pub struct Observed<P> {
    inner: P,
    /// `db.system.name` for store calls: `sqlite`, `postgresql`, or `memory`.
    db_system: &'static str,
    /// The `module` label of this port's calls: the module of the code it wraps.
    module: &'static str,
}

impl<P> Observed<P> {
    /// Observes a store, whose calls are database calls of `db_system`.
    pub fn store(inner: P, db_system: &'static str) -> Self {
        Self { inner, db_system, module: module_of::<P>() }
    }

    /// Observes the password hasher or the token service.
    pub fn auth(inner: P) -> Self {
        Self { inner, db_system: "", module: module_of::<P>() }
    }

    /// Observes the use cases.
    pub fn use_cases(inner: P) -> Self {
        Self { inner, db_system: "", module: module_of::<P>() }
    }
}

/// The span `open` makes, or none inside a request that is not traced. Such a span would be
/// disabled anyway (`SampledRequestsOnly`); not making it spares asking the subscriber.
fn span_if_traced(open: impl FnOnce() -> Span) -> Span {
    if request_trace::recording() { open() } else { Span::none() }
}

/// The module path of a type: `snackdrawer::adapters::sql` for `SqlStore`, and for a generic
/// wrapper, that of the wrapper (what it decorates is the wrapper's business), except the
/// fault injector's `Faulty<P>`, which is not the code being measured: that of its `P`.
fn module_of<P>() -> &'static str {
    module_of_type(std::any::type_name::<P>())
}

fn module_of_type(mut name: &str) -> &str {
    while let Some(inner) = name.strip_prefix(FAULTY).and_then(|rest| rest.strip_suffix('>')) {
        name = inner;
    }
    let path = name.split('<').next().unwrap_or(name);
    path.rsplit_once("::").map_or(path, |(module, _)| module)
}

/// How `std::any::type_name` spells `Faulty<P>` up to `P` (a test on `/metrics` holds the two
/// together: no series may have the fault injector's module).
const FAULTY: &str = "snackdrawer::chaos::faulty::Faulty<";

#[cfg(test)]
mod tests {
    use super::{module_of, module_of_type};

    struct Adapter;

    #[test]
    fn the_module_is_the_type_s_path_without_its_name() {
        assert_eq!(module_of::<Adapter>(), "snackdrawer::telemetry::observed::tests");
        assert_eq!(module_of::<std::sync::Arc<u8>>(), "alloc::sync");
        assert_eq!(module_of::<u8>(), "u8");
        let faulty =
            "snackdrawer::chaos::faulty::Faulty<snackdrawer::adapters::memory::MemoryStore>";
        assert_eq!(module_of_type(faulty), "snackdrawer::adapters::memory");
    }
}
