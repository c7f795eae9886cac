//! Cross-cutting HTTP behaviour, outermost first:
//! correlation ID + access log → security headers → JSON error envelope → panic guard
//! → gate (body size, maintenance, service token, admin IP allowlist) → routes.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use super::client::ClientInfo;
use crate::error::{ApiError, ErrorCode};
use crate::identity::credentials;
use crate::observability;
use crate::state::AppState;

/// The correlation ID of the request, stored in its extensions.
#[derive(Clone)]
pub struct CorrelationId(pub String);

/// Assigns the correlation ID, scopes it for logs and errors, echoes it, logs the request.
pub async fn correlation<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let id = observability::correlation_id_from_header(req.header("x-correlation-id"));
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let method = super::routes::metric_method(req.method());
    let path = req.uri().path().to_string();
    let span =
        tracing::info_span!("request", correlation_id = %id, method = %req.method(), path = %path);
    let started = Instant::now();
    let result =
        observability::with_correlation_id(id.clone(), next.call(req).instrument(span.clone()))
            .await;
    let mut resp = match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-correlation-id", v);
    }
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        // RFC 9110: a 405 lists the methods the resource does support.
        if let Some(v) = super::routes::allowed_methods(&path).map(HeaderValue::from_static) {
            resp.headers_mut().insert(header::ALLOW, v);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let route = super::routes::metric_label(&path);
    let m = crate::observability::metrics::metrics();
    m.http_requests
        .with_label_values(&[method, route, resp.status().as_str()])
        .inc();
    m.http_latency
        .with_label_values(&[method, route])
        .observe(elapsed);
    span.in_scope(|| {
        tracing::info!(
            status = resp.status().as_u16(),
            latency_ms = elapsed * 1000.0,
            "request"
        )
    });
    Ok(resp)
}

/// Production flag for HSTS, captured once.
#[derive(Clone, Copy)]
pub struct HeaderPolicy {
    pub hsts: bool,
}

// `blob:` images: previews of attachments the app fetched itself (with the session's
// token) and shows from memory.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; \
connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// The interactive API docs page ships inline bootstrap code; only it gets this policy.
const DOCS_CSP: &str =
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// Adds the security headers (CSP, frame, sniffing, referrer, HSTS in production) to
/// every response, errors included.
pub fn security_headers(
    policy: HeaderPolicy,
) -> impl Fn(Response, bool) -> Response + Clone + Send + Sync {
    move |mut resp: Response, docs: bool| {
        let h = resp.headers_mut();
        let mut set = |name: &'static str, value: &'static str| {
            h.insert(name, HeaderValue::from_static(value));
        };
        set("content-security-policy", if docs { DOCS_CSP } else { CSP });
        set("x-frame-options", "DENY");
        set("x-content-type-options", "nosniff");
        set("x-xss-protection", "1; mode=block");
        set("referrer-policy", "strict-origin-when-cross-origin");
        set(
            "permissions-policy",
            "geolocation=(), camera=(), microphone=(), payment=(), usb=()",
        );
        if policy.hsts {
            set(
                "strict-transport-security",
                "max-age=31536000; includeSubDomains; preload",
            );
        }
        if !h.contains_key(header::CACHE_CONTROL) {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        resp
    }
}

/// Maps a poem error that is not an [`ApiError`] to an error code.
fn classify(e: &poem::Error) -> ApiError {
    use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
    if let Some(api) = e.downcast_ref::<ApiError>() {
        return api.clone();
    }
    let msg = e.to_string();
    if e.is::<ParseRequestPayloadError>() {
        // poem-openapi reports validator failures as "verification failed"; everything
        // else (syntax, wrong types, missing fields, unknown enum values) is a bad body.
        let code = if msg.contains("verification failed") {
            ErrorCode::ValidationFailed
        } else {
            ErrorCode::InvalidJson
        };
        return ApiError::new(code, msg);
    }
    if e.is::<ParseParamError>() || e.is::<ParsePathError>() {
        return ApiError::new(ErrorCode::InvalidParameter, msg);
    }
    let code = match e.status() {
        StatusCode::BAD_REQUEST => ErrorCode::BadRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => return ApiError::new(ErrorCode::NotFound, "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_client_error() => ErrorCode::BadRequest,
        _ => return ApiError::internal(msg),
    };
    let msg = if code == ErrorCode::Unauthorized && msg.to_lowercase().contains("authorization") {
        "missing or malformed Authorization: Bearer header".to_string()
    } else {
        msg
    };
    ApiError::new(code, msg)
}

/// Turns every error into the JSON envelope (with the correlation ID).
pub async fn envelope<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let cid = req
        .extensions()
        .get::<CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    match next.call(req).await {
        Ok(r) => {
            let resp = r.into_response();
            // Errors poem turns into plain responses (e.g. a caught panic) get the envelope too.
            if resp.status().is_server_error() && !is_json(&resp) {
                return Ok(ApiError::internal("server error without body").to_response(&cid));
            }
            Ok(resp)
        }
        Err(e) => Ok(classify(&e).to_response(&cid)),
    }
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// Paths that never need a service token and stay up in maintenance.
fn is_public(path: &str) -> bool {
    path.starts_with("/api/auth/")
        || path == "/api/healthz"
        || path == "/api/readyz"
        || path.starts_with("/api/share/")
        || path == "/api/billing/webhook"
}

fn is_admin(path: &str) -> bool {
    path.starts_with("/api/admin") || path.starts_with("/api/system")
}

/// The largest body a path accepts: uploads and imports have their own limits (the
/// upload handler also counts streamed bytes, since a chunked body declares no length).
fn body_limit(path: &str, s: &crate::config::Settings) -> usize {
    if path.starts_with("/api/worklogs/") && path.ends_with("/attachments") {
        // Multipart framing adds a little around the file itself.
        usize::try_from(s.quotas.attachment_max_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(64 * 1024)
    } else if path == "/api/worklogs/import" {
        s.quotas.import_max_bytes
    } else {
        s.max_body_bytes
    }
}

/// Extra bytes a refused body may have beyond twice its limit and still be drained.
const DRAIN_SLACK: usize = 4 * 1024 * 1024;

/// Reads and discards up to `max` bytes of a refused request body within a few seconds,
/// so that the client reads the error instead of a reset connection.
pub async fn drain(body: impl tokio::io::AsyncRead + Send + Unpin, max: u64) {
    use tokio::io::AsyncReadExt;
    let mut limited = body.take(max);
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::io::copy(&mut limited, &mut tokio::io::sink()),
    )
    .await;
}

/// Request gate: body size, maintenance mode, service token, admin IP allowlist.
pub async fn gate<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let Some(state) = req.data::<Arc<AppState>>().cloned() else {
        return Err(ApiError::internal("AppState missing").into());
    };
    let s = &state.settings;
    let path = req.uri().path().to_string();

    let declared = req
        .header("content-length")
        .and_then(|v| v.parse::<usize>().ok());
    let limit = body_limit(&path, s);
    if let Some(n) = declared.filter(|n| *n > limit) {
        // A client still writing its body when the connection closes sees a broken pipe
        // instead of this answer, so moderately oversized bodies are read and discarded
        // first (bounded in bytes and time); absurd ones are refused straight away.
        if n <= limit.saturating_mul(2).saturating_add(DRAIN_SLACK) {
            let mut req = req;
            drain(req.take_body().into_async_read(), n as u64).await;
        }
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )
        .into());
    }

    // Per-IP limits of the auth endpoints are decided before a byte of the body is read:
    // an anonymous client cannot make the server buffer bodies it would refuse anyway.
    // A refresh is limited per login instead (once its token is known), so a household
    // or an office behind one address reloading pages is not refused; per address only
    // refused tokens count.
    if path.starts_with("/api/auth/") && req.method() == poem::http::Method::POST {
        let client = ClientInfo::from_request_parts(&req, s);
        if path == "/api/auth/token/refresh" {
            state.limits.refresh_ip(&client.ip)?;
        } else {
            state.limits.auth_ip(&client.ip)?;
        }
    }

    // The declared length is only a hint (a chunked body declares none): the limit and
    // the idle timeout hold on the bytes as they are read.
    // GET and HEAD handlers never read a body, so theirs (if any) is left unread.
    let outcome = Arc::new(std::sync::atomic::AtomicU8::new(BODY_OK));
    let mut req = req;
    if !matches!(
        *req.method(),
        poem::http::Method::GET | poem::http::Method::HEAD
    ) {
        let body = req.take_body();
        req.set_body(bounded_body(
            body,
            limit,
            std::time::Duration::from_secs(s.body_read_timeout_secs),
            outcome.clone(),
        ));
    }

    // The UI shell stays reachable in maintenance so it can show the API's notice.
    if s.maintenance_mode
        && path.starts_with("/api")
        && path != "/api/healthz"
        && path != "/api/readyz"
        && !path.starts_with("/api/auth/token")
    {
        let staff = req
            .header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| state.jwt.verify(t).ok())
            .is_some_and(|c| c.staff);
        if !staff {
            let mut e = ApiError::new(
                ErrorCode::Maintenance,
                "AfterResume is down for maintenance; please try again later",
            );
            e.retry_after = Some(300);
            return Err(e.into());
        }
    }

    if s.require_service_token
        && !s.skip_service_auth
        && path.starts_with("/api/")
        && !is_public(&path)
    {
        let token = req.header("x-service-token").ok_or_else(|| {
            ApiError::new(
                ErrorCode::ServiceTokenMissing,
                "X-Service-Token header is required",
            )
        })?;
        credentials::verify_service_token(
            &s.service_secret,
            token,
            chrono::Utc::now().timestamp(),
        )?;
    }

    if is_admin(&path) && !s.admin_ip_allowlist.is_empty() {
        let client = ClientInfo::from_request_parts(&req, s);
        let allowed = client
            .ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| s.admin_ip_allowlist.iter().any(|n| n.contains(ip)));
        if !allowed {
            return Err(ApiError::new(
                ErrorCode::IpNotAllowed,
                "admin endpoints are not reachable from your address",
            )
            .into());
        }
    }

    let result = next.call(req).await.map(IntoResponse::into_response);
    // Whatever the handler made of the cut-off body (a parse error, usually), the client
    // learns why it was cut off.
    match outcome.load(std::sync::atomic::Ordering::Acquire) {
        BODY_TOO_LARGE => Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )
        .into()),
        BODY_STALLED => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body sent nothing for {} s",
                s.body_read_timeout_secs
            ),
        )
        .into()),
        _ => result,
    }
}

const BODY_OK: u8 = 0;
const BODY_TOO_LARGE: u8 = 1;
const BODY_STALLED: u8 = 2;

/// Bytes of a refused body still read (and dropped) so that the client, still sending,
/// reads the 413 instead of a reset connection; beyond them the connection is dropped.
const OVERSIZE_DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// How long that draining may take.
const OVERSIZE_DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// `body`, failing once more than `limit` bytes arrived or once it sends nothing for
/// `idle`; `outcome` records which. Past the limit the rest is read and discarded (up to
/// [`OVERSIZE_DRAIN_BYTES`] within [`OVERSIZE_DRAIN_TIME`]) before the error, so memory
/// holds at most `limit` bytes of it.
fn bounded_body(
    body: poem::Body,
    limit: usize,
    idle: std::time::Duration,
    outcome: Arc<std::sync::atomic::AtomicU8>,
) -> poem::Body {
    use futures::StreamExt;
    use std::sync::atomic::Ordering;
    let stream = body.into_bytes_stream();
    let error = |kind: std::io::ErrorKind, msg: &str| std::io::Error::new(kind, msg.to_string());
    let chunks = futures::stream::unfold(
        (stream, 0usize, false),
        move |(mut stream, mut seen, done)| {
            let outcome = outcome.clone();
            async move {
                if done {
                    return None;
                }
                let next = match tokio::time::timeout(idle, stream.next()).await {
                    Err(_) => {
                        outcome.store(BODY_STALLED, Ordering::Release);
                        let e = error(std::io::ErrorKind::TimedOut, "request body stalled");
                        return Some((Err(e), (stream, seen, true)));
                    }
                    Ok(next) => next,
                };
                match next {
                    None => None,
                    Some(Err(e)) => Some((Err(e), (stream, seen, true))),
                    Some(Ok(chunk)) if seen + chunk.len() <= limit => {
                        seen += chunk.len();
                        Some((Ok(chunk), (stream, seen, false)))
                    }
                    Some(Ok(_)) => {
                        outcome.store(BODY_TOO_LARGE, Ordering::Release);
                        let deadline = tokio::time::Instant::now() + OVERSIZE_DRAIN_TIME;
                        let mut drained = 0usize;
                        while drained < OVERSIZE_DRAIN_BYTES {
                            match tokio::time::timeout_at(deadline, stream.next()).await {
                                Ok(Some(Ok(c))) => drained += c.len(),
                                _ => break,
                            }
                        }
                        let e = error(std::io::ErrorKind::InvalidData, "request body too large");
                        Some((Err(e), (stream, seen, true)))
                    }
                }
            }
        },
    );
    poem::Body::from_bytes_stream(chunks)
}
