//! Correlation IDs and structured logging.
//!
//! A correlation ID is accepted from `X-Correlation-ID` when it is a UUID, otherwise a
//! UUIDv4 is generated. The request middleware scopes it in a task-local *and* in a
//! tracing span, so every log line of the request carries it and errors can quote it.
//!
//! [`events`] is the Event timeline (job lifecycle, steps, LLM calls, system events)
//! with live delivery; [`metrics`] the Prometheus registry.

pub mod events;
pub mod metrics;

use tracing_subscriber::EnvFilter;

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// Runs `fut` with `id` as the current correlation ID.
pub async fn with_correlation_id<F: std::future::Future>(id: String, fut: F) -> F::Output {
    CORRELATION_ID.scope(id, fut).await
}

/// The current correlation ID, or an empty string outside a request.
pub fn current_correlation_id() -> String {
    CORRELATION_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Accepts a client-supplied ID only if it is a UUID (so logs can't be injected into).
pub fn correlation_id_from_header(value: Option<&str>) -> String {
    value
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .map(|u| u.hyphenated().to_string())
        .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string())
}

/// Installs the global subscriber: JSON lines by default (`LOG_FORMAT=pretty` for humans).
///
/// A one-shot command (`server == false`: `migrate`, `admin …`) prints its result and
/// real problems only: warnings and errors as text, unless `RUST_LOG` or `LOG_FORMAT`
/// say otherwise. It also hides slow-query warnings (migrations are slow by nature) and
/// the embedded database's complaint that its background tasks were cancelled, which it
/// logs whenever a process ends right after its work.
pub fn init_logging(server: bool) {
    let default = if server {
        "info,surrealdb=warn,surrealkv=warn,poem=warn"
    } else {
        "warn"
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    if !server {
        // Even under a `RUST_LOG` that names neither target.
        let asked = std::env::var("RUST_LOG").unwrap_or_default();
        for (target, directive) in [
            (
                "surrealdb_core::kvs::tasks",
                "surrealdb_core::kvs::tasks=off",
            ),
            (
                "afterresume::store::query",
                "afterresume::store::query=error",
            ),
        ] {
            if !asked.contains(target) {
                if let Ok(d) = directive.parse() {
                    filter = filter.add_directive(d);
                }
            }
        }
    }
    let pretty = std::env::var("LOG_FORMAT")
        .map(|v| v == "pretty")
        .unwrap_or(!server);
    // Logs go to stderr: stdout belongs to command output (`openapi`, `admin invite`
    // prints a passkey) that scripts capture.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let result = if pretty {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
    // A second init (tests) is harmless; the first subscriber stays.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuids_are_accepted() {
        let given = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(correlation_id_from_header(Some(given)), given);
        let generated = correlation_id_from_header(Some("x\ninjected"));
        assert_ne!(generated, "x\ninjected");
        assert_eq!(
            uuid::Uuid::parse_str(&generated).unwrap().get_version_num(),
            4
        );
        assert_eq!(correlation_id_from_header(None).len(), 36);
    }

    #[tokio::test]
    async fn scoped_id_is_visible() {
        assert_eq!(current_correlation_id(), "");
        let seen = with_correlation_id("abc".into(), async { current_correlation_id() }).await;
        assert_eq!(seen, "abc");
    }
}
