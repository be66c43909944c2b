//! The HTTP contract of `docs/api.md`, section by section, through the real router on every
//! store: exact statuses, exact `error` strings, whole success bodies, the check order on
//! protected routes, ownership, body rules and limits, and routing.

mod assertions;
mod fixtures;

mod auth;
mod bodies;
mod bounds;
mod check_order;
mod drawer_contents;
mod drawers;
mod limits;
mod openapi;
mod ownership;
mod protected_routes;
mod routing;
mod snacks;
