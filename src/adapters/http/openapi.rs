//! The contract as an OpenAPI 3.1 document, made from the code so that it cannot drift from
//! it: each handler declares its route, body and route-specific answers (`#[utoipa::path]`),
//! the router registers handler and description together (utoipa-axum's `routes!`), each view
//! type declares its schema (`ToSchema`), and what all routes share is added here, once, by
//! walking the document (`complete`): the error body, the `x-trace-id` header, 401 on every
//! route that takes a token, 408 and 413 on every route that reads a body, 500 and 503
//! everywhere, and the routes outside the API proper (`/metrics`, this document).
//!
//! The document is served at `GET /openapi.json`, printed by `snackdrawer openapi`, and kept
//! in `docs/openapi.json`; tests hold its operations to `ROUTES` and the kept copy to it.
//! schemathesis (`ops/fuzz-contract`) checks the running service against it.

use super::error::ErrorBody;
use crate::domain::{NAME_MAX_CHARS, PASSWORD_MAX_BYTES};
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};

/// What the document says beside its routes; the router adds those.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Snackdrawer",
        description = "A REST API for snacks and drawers, built to be watched. Users register, \
            log in for a token, browse a global snack catalogue, and keep private drawers of \
            snacks. Every answer carries `x-trace-id`; every error is `{\"error\": \"<code> \
            <reason>: <description>\"}`. docs/api.md in the repository tells the whole contract.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "accounts", description = "Register and log in."),
        (name = "catalogue", description = "The global snack catalogue: anyone reads, any user adds."),
        (name = "drawers", description = "Each user's private drawers; another user's drawer \
            answers exactly like a missing one."),
        (name = "operations", description = "Probes, metrics and this document."),
    )
)]
pub(super) struct Contract;

/// Completes the document the router made: the token schemes, the routes outside the API
/// proper, what all routes share, and the twins of the routes served without their trailing
/// slash.
pub(super) fn complete(document: &mut Document) {
    add_token_schemes(document);
    add_outside_routes(document);
    add_shared_answers(document);
    add_twins_without_trailing_slash(document);
}

/// `GET /openapi.json`: the document, made once when the router is.
pub(super) async fn serve(document: Bytes) -> impl IntoResponse {
    let json = HeaderValue::from_static("application/json");
    ([(header::CONTENT_TYPE, json)], document)
}

/// The document as `docs/openapi.json` keeps it: pretty, with a final newline.
pub fn to_json(document: &Document) -> String {
    let mut json = document.to_pretty_json().expect("the document serialises");
    json.push('\n');
    json
}

/// An id: a positive 64-bit integer.
pub(super) fn id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .examples([1])
        .build()
}

/// Characters no name may hold, as a regular-expression class: C0 and C1 controls and DEL,
/// line and paragraph separators, bidirectional overrides and isolates (`domain::names`).
const FORBIDDEN: &str = r"\u0000-\u001F\u007F-\u009F\u2028-\u202E\u2066-\u2069";

/// What may start or end a username: no forbidden character and no Unicode whitespace.
const USERNAME_EDGE: &str =
    r"[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028-\u202F\u205F\u2066-\u2069\u3000]";

/// Characters a new username may not hold once in NFKC, as a regular-expression class: the
/// forbidden ones, default-ignorable code points, and those whose NFKC form holds one. Code
/// points beyond the BMP are written as themselves, which every regex dialect reads alike.
const FORBIDDEN_IN_NEW_USERNAMES: &str = concat!(
    r"\u0000-\u001F\u007F-\u009F\u00AD\u034F\u061C\u115F-\u1160\u17B4-\u17B5\u180B-\u180F",
    r"\u200B-\u200F\u2028-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFF8",
    "\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}",
);

/// What may not start a new username: a forbidden character, or one whose NFKC form starts
/// with whitespace (spacing accents such as U+00B4 are a space and a combining accent).
const NEW_USERNAME_NOT_FIRST: &str = concat!(
    r"\u0000-\u0020\u007F-\u00A0\u00A8\u00AD\u00AF\u00B4\u00B8\u02D8-\u02DD\u034F\u037A",
    r"\u0384-\u0385\u061C\u115F-\u1160\u1680\u17B4-\u17B5\u180B-\u180F\u1FBD\u1FBF-\u1FC1",
    r"\u1FCD-\u1FCF\u1FDD-\u1FDF\u1FED-\u1FEE\u1FFD-\u1FFE\u2000-\u200F\u2017\u2028-\u202F",
    r"\u203E\u205F-\u206F\u3000\u309B-\u309C\u3164\uFC5E-\uFC63\uFE00-\uFE0F\uFE49-\uFE4C",
    r"\uFE70\uFE72\uFE74\uFE76\uFE78\uFE7A\uFE7C\uFE7E\uFEFF\uFFA0\uFFE3\uFFF0-\uFFF8",
    "\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}",
);

/// What may not end a new username: a forbidden character, or one whose NFKC form ends with
/// whitespace.
const NEW_USERNAME_NOT_LAST: &str = concat!(
    r"\u0000-\u0020\u007F-\u00A0\u00AD\u034F\u061C\u115F-\u1160\u1680\u17B4-\u17B5",
    r"\u180B-\u180F\u2000-\u200F\u2028-\u202F\u205F-\u206F\u3000\u3164\uFE00-\uFE0F\uFEFF",
    r"\uFFA0\uFFF0-\uFFF8",
    "\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0000}-\u{E0FFF}",
);

fn text(max_length: usize, pattern: String, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(max_length))
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// A snack or drawer name.
pub(super) fn name() -> Object {
    text(
        NAME_MAX_CHARS,
        name_pattern(),
        "1 to 64 characters, kept and compared exactly; no control characters, line separators \
         or bidirectional overrides.",
    )
}

/// A username: a name without whitespace at either end.
pub(super) fn username() -> Object {
    text(
        NAME_MAX_CHARS,
        username_pattern(),
        "1 to 64 characters after normalisation to Unicode NFC; no control characters, line \
         separators or bidirectional overrides, and no whitespace at either end.",
    )
}

/// A username to register: one that may log in, folded to NFKC, without invisible characters.
pub(super) fn new_username() -> Object {
    text(
        NAME_MAX_CHARS,
        new_username_pattern(),
        "1 to 64 characters after normalisation to Unicode NFKC (fullwidth letters, ligatures \
         and other compatibility characters fold onto the characters they look like); no \
         control characters, line separators, bidirectional overrides or default-ignorable \
         code points (zero-width spaces and joiners, soft hyphens, variation selectors, …), \
         and no whitespace at either end.",
    )
}

/// A password: the limit is in bytes, which JSON Schema cannot say, so `maxLength` is the
/// limit for ASCII and the description tells the rest.
pub(super) fn password() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(PASSWORD_MAX_BYTES))
        .description(Some(
            "1 to 1024 bytes of UTF-8 (1024 ASCII characters, fewer when some take more than \
             one byte); anything is allowed.",
        ))
        .build()
}

fn name_pattern() -> String {
    format!("^[^{FORBIDDEN}]*$")
}

fn username_pattern() -> String {
    format!("^{USERNAME_EDGE}(?:[^{FORBIDDEN}]*{USERNAME_EDGE})?$")
}

fn new_username_pattern() -> String {
    let (forbidden, not_first) = (FORBIDDEN_IN_NEW_USERNAMES, NEW_USERNAME_NOT_FIRST);
    format!("^[^{not_first}](?:[^{forbidden}]*[^{NEW_USERNAME_NOT_LAST}])?$")
}

/// The two ways to present a token: `x-access-token`, as the old clients do, and `Bearer`.
fn add_token_schemes(document: &mut Document) {
    let components = document.components.get_or_insert_with(Default::default);
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("JWT")
        .description(Some("`Authorization: Bearer <token>`, a token from `POST /auth/login`."))
        .build();
    components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    let header = ApiKeyValue::with_description(
        "x-access-token",
        "The token from `POST /auth/login`, as the old service's clients send it; it wins \
         when both headers are sent.",
    );
    components.add_security_scheme("access_token", SecurityScheme::ApiKey(ApiKey::Header(header)));
}

/// `/metrics`, whose handler the telemetry supplies (this adapter only routes to it), and
/// `/openapi.json`.
fn add_outside_routes(document: &mut Document) {
    let exposition = |format| {
        Content::new(Some(
            ObjectBuilder::new().schema_type(Type::String).description(Some(format)).build(),
        ))
    };
    let answer = ResponseBuilder::new()
        .description(
            "Every series, in the OpenMetrics text format when the `Accept` header asks for \
             it (as Prometheus does), else in the Prometheus text format.",
        )
        .content(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            exposition("OpenMetrics 1.0 text"),
        )
        .content(
            "text/plain; version=0.0.4; charset=utf-8",
            exposition("Prometheus text format 0.0.4"),
        )
        .build();
    let operation = OperationBuilder::new()
        .operation_id(Some("metrics"))
        .tag("operations")
        .summary(Some("Prometheus metrics, in the autometrics format."))
        .response("200", answer)
        .build();
    document.paths.paths.insert("/metrics".into(), PathItem::new(HttpMethod::Get, operation));
    let this = OperationBuilder::new()
        .operation_id(Some("openapi"))
        .tag("operations")
        .summary(Some("This document, OpenAPI 3.1."))
        .response(
            "200",
            ResponseBuilder::new().description("This document.").content(
                "application/json",
                Content::new(Some(ObjectBuilder::new().schema_type(Type::Object).build())),
            ),
        )
        .build();
    document.paths.paths.insert("/openapi.json".into(), PathItem::new(HttpMethod::Get, this));
}

/// Which operations a shared answer applies to.
#[derive(Clone, Copy, PartialEq)]
enum AppliesTo {
    Every,
    TakingToken,
    ReadingBody,
}

const SHARED_ANSWERS: [(AppliesTo, &str, &str, &str); 5] = [
    (
        AppliesTo::TakingToken,
        "401",
        "Unauthorized",
        "`no authentication token`, or `invalid authentication token` (bad, expired, or for \
         a user that no longer exists).",
    ),
    (
        AppliesTo::ReadingBody,
        "408",
        "BodyTimedOut",
        "The client stopped sending its body before the request timeout.",
    ),
    (AppliesTo::ReadingBody, "413", "BodyTooLarge", "The body is larger than 64 KiB."),
    (
        AppliesTo::Every,
        "500",
        "InternalError",
        "`internal error`: a bug; the cause is logged, never sent.",
    ),
    (
        AppliesTo::Every,
        "503",
        "Unavailable",
        "The database is down or saturated, the hashing queue is full, the request outlived \
         the request timeout, or fault injection refused it on purpose.",
    ),
];

/// What every route shares: each shared answer is one response of the components, which
/// every operation it applies to refers to; then every answer gets its headers and error body.
fn add_shared_answers(document: &mut Document) {
    let components = document.components.get_or_insert_with(Default::default);
    for (applies_to, status, name, description) in SHARED_ANSWERS {
        let mut answer = Response::new(description);
        describe_answer(status, &mut answer, applies_to == AppliesTo::TakingToken);
        components.responses.insert(name.into(), answer.into());
    }
    for item in document.paths.paths.values_mut() {
        for operation in operations(item) {
            let takes_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let applies = |to| match to {
                AppliesTo::Every => true,
                AppliesTo::TakingToken => takes_token,
                AppliesTo::ReadingBody => operation.request_body.is_some(),
            };
            let shared: Vec<_> = SHARED_ANSWERS
                .into_iter()
                .filter(|(to, ..)| applies(*to))
                .map(|(_, status, name, _)| (status, name))
                .collect();
            let answers = &mut operation.responses.responses;
            for (status, name) in shared {
                answers
                    .entry(status.into())
                    .or_insert_with(|| Ref::from_response_name(name).into());
            }
            for (status, answer) in answers {
                if let RefOr::T(answer) = answer {
                    describe_answer(status, answer, takes_token);
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
        .into_iter()
        .flatten()
}

/// Every answer carries `x-trace-id`, and may carry `x-fault-injected`; errors carry the
/// error body and the headers their status promises (a refused token says how to
/// authenticate; a failed login does not).
fn describe_answer(status: &str, answer: &mut Response, takes_token: bool) {
    answer.headers.insert(
        "x-trace-id".into(),
        required_header(
            ObjectBuilder::new().schema_type(Type::String).pattern(Some("^[0-9a-f]{32}$")).build(),
            "The request's trace id: it finds the request's log lines and, if it was sampled, its trace.",
        )
        .into(),
    );
    let mut fault_injected = Header::new(
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true"])).build(),
    );
    fault_injected.description = Some(
        "`true` when fault injection, armed on purpose, put a fault into this request; never \
         sent otherwise."
            .into(),
    );
    answer.headers.insert("x-fault-injected".into(), fault_injected.into());
    if !status.starts_with(['4', '5']) {
        return;
    }
    if answer.content.is_empty() {
        let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
        answer.content.insert("application/json".into(), body.into());
    }
    let extra = match status {
        "429" | "503" => Some((
            "Retry-After",
            ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).build(),
            "Seconds to wait before trying again.",
        )),
        "401" if takes_token => Some((
            "WWW-Authenticate",
            ObjectBuilder::new().schema_type(Type::String).pattern(Some("^Bearer")).build(),
            "`Bearer` for a missing token, `Bearer error=\"invalid_token\"` for a bad one.",
        )),
        _ => None,
    };
    if let Some((name, schema, description)) = extra {
        answer.headers.insert(name.into(), required_header(schema, description).into());
    }
}

/// A header every answer of its status carries. utoipa's `Header` has no `required` field;
/// its extensions serialise as given, which puts the OpenAPI field in place.
fn required_header(schema: Object, description: &str) -> Header {
    let mut header = Header::new(schema);
    header.description = Some(description.into());
    header.extensions = Some(Extensions::from_iter([("required", true)]));
    header
}

/// `/snacks` and `/drawers` answer like `/snacks/` and `/drawers/`; they get their own
/// operation ids, as OpenAPI wants them unique.
fn add_twins_without_trailing_slash(document: &mut Document) {
    for path in ["/snacks/", "/drawers/"] {
        let mut twin = document.paths.paths[path].clone();
        for operation in operations(&mut twin) {
            if let Some(id) = &mut operation.operation_id {
                id.push_str("_without_slash");
            }
        }
        document.paths.paths.insert(path.trim_end_matches('/').into(), twin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SnackName, Username};
    use regex::Regex;
    use unicode_normalization::UnicodeNormalization;

    /// Every scalar value the patterns could treat differently from the domain's rules.
    fn every_char() -> impl Iterator<Item = char> {
        (0..=0x10FFFF).filter_map(char::from_u32)
    }

    #[test]
    fn the_name_pattern_accepts_what_the_domain_accepts() {
        let pattern = Regex::new(&name_pattern()).unwrap();
        for c in every_char() {
            let name = format!("a{c}b");
            assert_eq!(pattern.is_match(&name), SnackName::parse(&*name).is_ok(), "{c:?}");
        }
    }

    #[test]
    fn the_username_pattern_accepts_what_the_domain_accepts() {
        let pattern = Regex::new(&username_pattern()).unwrap();
        for c in every_char() {
            for username in [c.to_string(), format!("{c}b"), format!("a{c}"), format!("a{c}b")] {
                let accepted = Username::parse(&*username).is_ok();
                assert_eq!(pattern.is_match(&username), accepted, "{username:?}");
            }
        }
    }

    #[test]
    fn the_new_username_pattern_accepts_what_registration_accepts() {
        let pattern = Regex::new(&new_username_pattern()).unwrap();
        for c in every_char() {
            for username in [c.to_string(), format!("{c}b"), format!("a{c}"), format!("a{c}b")] {
                let accepted = Username::parse_new(username.nfkc().collect::<String>()).is_ok();
                assert_eq!(pattern.is_match(&username), accepted, "{username:?}");
            }
        }
    }
}
