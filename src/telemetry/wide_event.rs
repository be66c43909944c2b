//! The request span as a wide event: what someone would group by or filter on when asking why
//! some requests are slow or failing (the caller, the drawer and snack, how much was returned,
//! whether a kept read answered, the error's kind, the lazy level), recorded on the request's
//! own span wherever in the request it becomes known.
//!
//! Why on the request span rather than on the span where it is learnt: Honeycomb's BubbleUp and
//! a trace search compare root spans, and a question such as "which users see the slow drawer
//! reads?" should need no join across spans. The facts are found deep inside (the SQL adapter
//! knows whether a kept copy answered, three spans below the request), so they are set as
//! OpenTelemetry attributes on the root of the current span's tree, the request span, which is
//! opened with no parent (`http::Observe`). A request that is not sampled has no span and pays
//! one thread-local read.
//!
//! Every value is a number, a flag or a name from a fixed set: nothing a client typed.

use super::request_trace;
use crate::ports::AppError;
use opentelemetry::KeyValue;
use tracing::Span;
use tracing_opentelemetry::OtelData;
use tracing_subscriber::Registry;
use tracing_subscriber::registry::LookupSpan;

/// The drawer a request names or creates.
pub const DRAWER_ID: &str = "snackdrawer.drawer.id";
/// The snack a request names or creates.
pub const SNACK_ID: &str = "snackdrawer.snack.id";
/// How many snacks the answer holds (the catalogue, or a drawer's contents).
pub const SNACKS_RETURNED: &str = "snackdrawer.snacks.returned";
/// How many drawers the answer holds.
pub const DRAWERS_RETURNED: &str = "snackdrawer.drawers.returned";
/// Whether a kept copy answered a read (true) or the database did (false).
pub const READ_KEPT: &str = "snackdrawer.read.kept";
/// Lazy mode's level (0–1) when it was on for this request.
pub const LAZY_LEVEL: &str = "snackdrawer.lazy.level";
/// The store that served the request's calls: `sqlite`, `postgresql` or `memory`.
pub const STORE: &str = "snackdrawer.store";
/// Which persona of `snackdrawer-load` sent the request, from its user agent.
pub const PERSONA: &str = "snackdrawer.load.persona";
/// Why a use case refused or failed, as a fixed name (`drawer_not_found`).
pub const ERROR_TYPE: &str = "error.type";

/// Sets `attribute` on the current request's span, if the request is traced; a later value of
/// the same key replaces an earlier one (the last of several reads, say).
pub fn record(attribute: KeyValue) {
    if !request_trace::recording() {
        return;
    }
    let Some(id) = Span::current().id() else { return };
    let mut attribute = Some(attribute);
    tracing::dispatcher::get_default(|dispatch| {
        let Some(attribute) = attribute.take() else { return };
        let Some(registry) = dispatch.downcast_ref::<Registry>() else { return };
        let Some(request) = registry.span(&id).and_then(|span| span.scope().from_root().next())
        else {
            return;
        };
        let mut extensions = request.extensions_mut();
        let Some(otel) = extensions.get_mut::<OtelData>() else { return };
        let attributes = otel.builder.attributes.get_or_insert_with(Vec::new);
        match attributes.iter_mut().find(|set| set.key == attribute.key) {
            Some(set) => *set = attribute,
            None => attributes.push(attribute),
        }
    });
}

/// The persona named in a `snackdrawer-load/<version> (<persona>)` user agent; `None` for any
/// other client.
pub fn persona(user_agent: &str) -> Option<&str> {
    let (_version, who) = user_agent.strip_prefix("snackdrawer-load/")?.split_once(" (")?;
    let who = who.strip_suffix(')')?;
    let known = !who.is_empty() && who.len() <= 32;
    (known && who.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then_some(who)
}

/// A read answered by a kept copy or by the database: the SQL adapter's hook.
pub fn kept_read(kept: bool) {
    record(KeyValue::new(READ_KEPT, kept));
}

/// The kind of a use case's error, as `error.type` names it.
pub fn error_type(error: &AppError) -> &'static str {
    match error {
        AppError::Invalid(_) => "invalid",
        AppError::InvalidToken => "invalid_token",
        AppError::BadCredentials => "bad_credentials",
        AppError::LoginThrottled(_) => "login_throttled",
        AppError::UsernameTaken => "username_taken",
        AppError::SnackNotFound(_) => "snack_not_found",
        AppError::SnackNameTaken(_) => "snack_name_taken",
        AppError::DrawerNotFound(_) => "drawer_not_found",
        AppError::DrawerNameTaken(_) => "drawer_name_taken",
        AppError::DrawerDoesNotExist(_) => "drawer_does_not_exist",
        AppError::SnackDoesNotExist(_) => "snack_does_not_exist",
        AppError::SnackAlreadyInDrawer { .. } => "snack_already_in_drawer",
        AppError::SnackNotInDrawer { .. } => "snack_not_in_drawer",
        AppError::ListFull(_) => "list_full",
        AppError::WriteThrottled(_) => "write_throttled",
        AppError::Unavailable(_) => "unavailable",
        AppError::Internal(_) => "internal",
    }
}

/// Records what a use case's outcome says about the request: `facts` of a success, or the
/// kind of its error. For traced requests: callers have asked already.
pub fn outcome<T>(result: &Result<T, AppError>, facts: impl FnOnce(&T) -> Vec<KeyValue>) {
    match result {
        Ok(value) => facts(value).into_iter().for_each(record),
        Err(error) => record(KeyValue::new(ERROR_TYPE, error_type(error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TracerProvider;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// Keeps what it is given.
    #[derive(Clone, Debug, Default)]
    struct Kept(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Kept {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().unwrap().extend(batch);
            Ok(())
        }
    }

    /// Runs `work` inside a request span with a child and a grandchild span open, and returns
    /// the request span's attributes as exported.
    fn request_attributes(work: impl FnOnce()) -> Vec<KeyValue> {
        let exporter = Kept::default();
        let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let subscriber = Registry::default().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!(parent: None, "request");
            let use_case = tracing::info_span!(parent: &request, "use case");
            let store = tracing::info_span!(parent: &use_case, "store");
            store.in_scope(work);
        });
        let spans = exporter.0.lock().unwrap();
        let request = spans.iter().find(|span| span.name == "request").unwrap();
        request.attributes.clone()
    }

    #[test]
    fn a_fact_learnt_deep_inside_lands_on_the_request_span() {
        let attributes = request_attributes(|| kept_read(true));
        assert!(attributes.contains(&KeyValue::new(READ_KEPT, true)), "{attributes:?}");
    }

    #[test]
    fn an_error_is_recorded_by_its_kind_and_a_success_by_its_facts() {
        let attributes = request_attributes(|| {
            outcome::<()>(&Err(AppError::UsernameTaken), |_| unreachable!());
            outcome(&Ok(3_i64), |n| vec![KeyValue::new(SNACKS_RETURNED, *n)]);
        });
        assert!(attributes.contains(&KeyValue::new(ERROR_TYPE, "username_taken")));
        assert!(attributes.contains(&KeyValue::new(SNACKS_RETURNED, 3_i64)));
    }

    #[test]
    fn a_later_value_replaces_an_earlier_one() {
        let attributes = request_attributes(|| {
            kept_read(true);
            kept_read(false);
        });
        let kept: Vec<_> = attributes.iter().filter(|set| set.key.as_str() == READ_KEPT).collect();
        assert_eq!(kept, [&KeyValue::new(READ_KEPT, false)]);
    }

    #[test]
    fn only_the_load_generator_s_user_agent_names_a_persona() {
        assert_eq!(persona("snackdrawer-load/0.1.0 (nosy)"), Some("nosy"));
        assert_eq!(persona("snackdrawer-load/0.1.0 (setup)"), Some("setup"));
        assert_eq!(persona("curl/8.5.0"), None);
        assert_eq!(persona("snackdrawer-load/0.1.0 (a b)"), None);
        assert_eq!(persona(&format!("snackdrawer-load/1 ({})", "x".repeat(33))), None);
    }

    #[test]
    fn outside_any_span_nothing_happens() {
        kept_read(false);
    }
}
