//! The API's path templates, read once from the OpenAPI document: which template a
//! request path matches (the bounded `route` label of the HTTP metrics) and which methods
//! it has (the `Allow` header of a 405).

use std::sync::OnceLock;

struct Template {
    /// `/api/worklogs/{id}`, the metrics label.
    label: String,
    /// Its segments; `None` stands for a `{parameter}`.
    segments: Vec<Option<String>>,
    /// `GET, HEAD, PATCH, DELETE`.
    allow: String,
}

fn templates() -> &'static [Template] {
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(&super::openapi_json()).unwrap_or_default();
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else {
            return Vec::new();
        };
        paths
            .iter()
            .map(|(path, ops)| {
                let label = format!("/api{path}");
                let segments = label
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string()))
                    .collect();
                let mut methods: Vec<String> = ops
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_uppercase()).collect())
                    .unwrap_or_default();
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                Template {
                    label,
                    segments,
                    allow: methods.join(", "),
                }
            })
            .collect()
    })
}

/// The template `path` matches (runs on every request, for the metrics label: no
/// allocation).
fn matching(path: &str) -> Option<&'static Template> {
    let segments = path.split('/').count();
    templates().iter().find(|t| {
        t.segments.len() == segments
            && t.segments
                .iter()
                .zip(path.split('/'))
                .all(|(t, p)| match t {
                    Some(fixed) => fixed == p,
                    None => !p.is_empty(),
                })
    })
}

/// The `Allow` header for a request path, when it names an API resource.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    matching(path).map(|t| t.allow.as_str())
}

/// The metrics label of a request path: its API template, one label per group of
/// non-API paths, or `unmatched`; never the raw path, so that requests to random paths
/// cannot add time series.
pub fn metric_label(path: &str) -> &'static str {
    if let Some(t) = matching(path) {
        return t.label.as_str();
    }
    if path == "/api/openapi.json" {
        "/api/openapi.json"
    } else if path.starts_with("/api/docs") {
        "/api/docs"
    } else if path.starts_with("/api/") || path == "/api" {
        "unmatched"
    } else {
        // The single-page app and its assets.
        "ui"
    }
}

/// The metrics label of a method: the ones HTTP defines, or `other`.
pub fn metric_method(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_templates() {
        assert_eq!(
            metric_label("/api/jobs/0190a5f2-5b7e-7c3d-8e9f-0a1b2c3d4e5f/events"),
            "/api/jobs/{id}/events"
        );
        assert_eq!(
            metric_label("/api/share/AbCdEfGhIjKlMnOpQrSt"),
            "/api/share/{token}"
        );
        assert_eq!(metric_label("/api/worklogs"), "/api/worklogs");
        assert_eq!(metric_label("/api/no/such/route/42"), "unmatched");
        assert_eq!(metric_label("/some/page"), "ui");
        assert_eq!(allowed_methods("/api/healthz"), Some("GET, HEAD"));
        assert_eq!(allowed_methods("/api/nope"), None);
        let odd = poem::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(metric_method(&odd), "other");
    }
}
