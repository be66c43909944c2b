//! The incident catalogue: named incidents to practise on, each a fault plan with the symptom
//! a person would first notice. The mystery mode and the incident schedule pick from here;
//! docs/incidents.md tells, for each, what shows where, the question that leads to the cause,
//! and the answer.
//!
//! Every plan is written in the plan syntax and checked against the service's routes and ports
//! by a test, so the catalogue cannot name a target that does not exist.

use super::plan::{Plan, PlanError};

/// One incident: its name (what a learner guesses), what shows first, and the plan behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Incident {
    pub name: &'static str,
    pub symptom: &'static str,
    pub plan: &'static str,
}

impl Incident {
    /// The incident's plan, checked against `routes`.
    pub fn plan(&self, routes: &[&'static str]) -> Result<Plan, PlanError> {
        Plan::parse(self.plan, routes)
    }

    /// Whether it holds the store's connections, which only a store with a pool has.
    pub fn needs_pool(&self) -> bool {
        self.plan.contains("hold-connections(")
    }
}

/// The incidents a service can run: all of them, but those that need a pool without one.
pub fn runnable(has_pool: bool) -> Vec<&'static Incident> {
    CATALOGUE.iter().filter(|incident| has_pool || !incident.needs_pool()).collect()
}

/// Every incident, each with a different signature (docs/incidents.md, ops/verify-incidents).
pub const CATALOGUE: &[Incident] = &[
    Incident {
        name: "cpu-hog",
        symptom: "every route a little slower, nothing failing",
        plan: "process cpu(threads=2,share=90%)",
    },
    Incident {
        name: "memory-leak",
        symptom: "nothing slower, nothing failing, and yet the pod would be killed before long",
        plan: "process leak(rate=4MiB/s,cap=512MiB)",
    },
    Incident {
        name: "log-flood",
        symptom: "the requests are fine; the log pipeline is not",
        plan: "process log-flood(rate=500/s)",
    },
    Incident {
        name: "slow-commits",
        symptom: "writes slow, reads fine",
        plan: "DrawerRepository::* slow-commit=400ms±100ms; UserRepository::* slow-commit=400ms±100ms",
    },
    Incident {
        name: "slow-hashing",
        symptom: "logins and sign-ups slow, everything else fine",
        plan: "PasswordHasher::* latency=900ms±300ms",
    },
    Incident {
        name: "pool-exhaustion",
        symptom: "a little slower wherever the store is called, nothing failing yet: the headroom is gone",
        plan: "process hold-connections(count=7)",
    },
    Incident {
        name: "broken-drawer-page",
        symptom: "one page fails now and then; the rest of the API is fine",
        plan: "GET /drawers/{id} error=internal p=0.3",
    },
    Incident {
        name: "one-unlucky-user",
        symptom: "one user cannot use their drawers; everybody else can",
        plan: "DrawerRepository::* error=internal user=1",
    },
];

/// The incident called `name`, or the error that lists the catalogue.
pub fn find(name: &str) -> Result<&'static Incident, UnknownIncident> {
    CATALOGUE
        .iter()
        .find(|incident| incident.name == name)
        .ok_or_else(|| UnknownIncident(name.to_owned()))
}

/// A name the catalogue does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no incident {name:?}; incidents are {names}", name = .0, names = names().join(", "))]
pub struct UnknownIncident(pub String);

/// The catalogue's names, in its order.
pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|incident| incident.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::http::ROUTES;

    #[test]
    fn every_incident_s_plan_parses_and_names_are_unique() {
        for incident in CATALOGUE {
            let plan =
                incident.plan(ROUTES).unwrap_or_else(|error| panic!("{}: {error}", incident.name));
            assert!(!plan.rules.is_empty(), "{}", incident.name);
        }
        let mut names = names();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
    }

    #[test]
    fn without_a_pool_the_incidents_that_hold_connections_are_left_out() {
        assert_eq!(runnable(true).len(), CATALOGUE.len());
        let without: Vec<_> = runnable(false).iter().map(|incident| incident.name).collect();
        assert_eq!(without.len(), CATALOGUE.len() - 1);
        assert!(!without.contains(&"pool-exhaustion"), "{without:?}");
        assert!(find("pool-exhaustion").unwrap().needs_pool());
    }

    #[test]
    fn an_unknown_name_lists_the_catalogue() {
        assert_eq!(find("slow-hashing").unwrap().name, "slow-hashing");
        let error = find("gremlins").unwrap_err().to_string();
        assert!(
            error.starts_with("no incident \"gremlins\"; incidents are cpu-hog, memory-leak,"),
            "{error}"
        );
    }
}
