//! The one error type of the API, with stable machine-readable codes.
//!
//! Every failure a client can see becomes `{"error":{"code","message","correlation_id"}}`.
//! Handlers return [`ApiError`]; anything else that escapes (poem's own parse errors,
//! unknown routes, panics caught upstream) is mapped by [`crate::api::middleware`]
//! into the same envelope, so the contract holds on every path.

use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object};

use crate::observability;

/// Stable error codes; the UI translates these, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Serialize, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    ValidationFailed,
    InvalidJson,
    InvalidParameter,
    Unauthorized,
    InvalidCredentials,
    TokenExpired,
    TokenInvalid,
    RefreshInvalid,
    RefreshExpired,
    RefreshReused,
    AccountDisabled,
    CsrfFailed,
    ServiceTokenMissing,
    ServiceTokenInvalid,
    ServiceTokenExpired,
    Forbidden,
    IpNotAllowed,
    NotFound,
    MethodNotAllowed,
    Conflict,
    EmailTaken,
    LastOwner,
    PasskeyUnknown,
    PasskeyUsed,
    PasskeyExpired,
    PasskeyRevoked,
    /// The invitation names an e-mail address and the signup used another.
    PasskeyEmailMismatch,
    PayloadTooLarge,
    /// The request body stalled longer than `BODY_READ_TIMEOUT_SECS`.
    RequestTimeout,
    UnsupportedMediaType,
    RateLimited,
    /// A quota (entries per hour, storage bytes, LLM tokens) is used up.
    QuotaExceeded,
    Maintenance,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, in the order the API document lists them.
    pub const ALL: &'static [ErrorCode] = &[
        Self::BadRequest,
        Self::ValidationFailed,
        Self::InvalidJson,
        Self::InvalidParameter,
        Self::Unauthorized,
        Self::InvalidCredentials,
        Self::TokenExpired,
        Self::TokenInvalid,
        Self::RefreshInvalid,
        Self::RefreshExpired,
        Self::RefreshReused,
        Self::AccountDisabled,
        Self::CsrfFailed,
        Self::ServiceTokenMissing,
        Self::ServiceTokenInvalid,
        Self::ServiceTokenExpired,
        Self::Forbidden,
        Self::IpNotAllowed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Conflict,
        Self::EmailTaken,
        Self::LastOwner,
        Self::PasskeyUnknown,
        Self::PasskeyUsed,
        Self::PasskeyExpired,
        Self::PasskeyRevoked,
        Self::PasskeyEmailMismatch,
        Self::PayloadTooLarge,
        Self::RequestTimeout,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::Maintenance,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The code as it is sent (`validation_failed`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// What the code means, for the API document.
    pub fn meaning(self) -> &'static str {
        use ErrorCode::*;
        match self {
            BadRequest => "The request is malformed in a way no other code names.",
            ValidationFailed => {
                "The request fits the document but a value breaks a rule; `details` lists each field with its own code."
            }
            InvalidJson => "The body is not JSON, has a wrong type or misses a required field.",
            InvalidParameter => "A path or query parameter is malformed (a date, a cursor, an id).",
            Unauthorized => "No `Authorization: Bearer` token, or not one of ours.",
            InvalidCredentials => "Wrong e-mail or password.",
            TokenExpired => "The access token expired: refresh it or log in again.",
            TokenInvalid => "The access token is malformed or its signature is wrong.",
            RefreshInvalid => "No usable refresh cookie: log in again.",
            RefreshExpired => "The refresh token expired: log in again.",
            RefreshReused => {
                "An already-rotated refresh token was presented; the whole session was revoked."
            }
            AccountDisabled => "The account is disabled by staff.",
            CsrfFailed => {
                "A cookie-authenticated call lacks `X-Requested-With` or a trusted `Origin`."
            }
            ServiceTokenMissing => "`X-Service-Token` is required on this deployment.",
            ServiceTokenInvalid => "`X-Service-Token` has a wrong signature.",
            ServiceTokenExpired => "`X-Service-Token` is older than 5 minutes.",
            Forbidden => "Authenticated, but your role does not allow this.",
            IpNotAllowed => "Admin endpoints are not reachable from your address.",
            NotFound => {
                "No such record in your workspace (another workspace's records are 404 too)."
            }
            MethodNotAllowed => "The path exists but not with this method; see `Allow`.",
            Conflict => {
                "The record changed since you read it (`version`), or the state forbids it."
            }
            EmailTaken => "An account with this e-mail exists.",
            LastOwner => "The workspace would be left without an owner.",
            PasskeyUnknown => "No invitation has this passkey.",
            PasskeyUsed => "The invitation was already used.",
            PasskeyExpired => "The invitation expired.",
            PasskeyRevoked => "The invitation was revoked.",
            PasskeyEmailMismatch => "The invitation is for another e-mail address.",
            PayloadTooLarge => "The body is larger than this operation accepts.",
            RequestTimeout => "The body stopped arriving; send it again without pausing.",
            UnsupportedMediaType => "The body's `Content-Type` is not one this operation reads.",
            RateLimited => "Too many requests; see `Retry-After` and `RateLimit`.",
            QuotaExceeded => "A quota (entries per hour, storage, LLM tokens) is used up.",
            Maintenance => "The service is in maintenance mode; see `Retry-After`.",
            Unavailable => "A dependency is down; try again later.",
            Internal => "A server fault; quote the `correlation_id` when reporting it.",
        }
    }

    /// The HTTP status each code answers with.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            BadRequest | InvalidJson | InvalidParameter => StatusCode::BAD_REQUEST,
            // Well-formed by the document, refused by a rule: 422, so that a 400 always
            // means the request disagrees with the document (the contract check in CI
            // relies on that split).
            ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
            Unauthorized | InvalidCredentials | TokenExpired | TokenInvalid | RefreshInvalid
            | RefreshExpired | RefreshReused | ServiceTokenMissing | ServiceTokenInvalid
            | ServiceTokenExpired => StatusCode::UNAUTHORIZED,
            AccountDisabled | CsrfFailed | Forbidden | IpNotAllowed | PasskeyEmailMismatch => {
                StatusCode::FORBIDDEN
            }
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | EmailTaken | LastOwner => StatusCode::CONFLICT,
            PasskeyUnknown | PasskeyUsed | PasskeyExpired | PasskeyRevoked => StatusCode::GONE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RateLimited | QuotaExceeded => StatusCode::TOO_MANY_REQUESTS,
            Maintenance | Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for machines (`code`) and people (`message`).
#[derive(Debug, Clone, Object, serde::Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// The request's correlation ID, to quote in a bug report.
    pub correlation_id: String,
    /// Per-field problems of a rejected input (validation errors), when there are any.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Vec<FieldIssue>>,
}

/// One problem with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq, Object, serde::Serialize, serde::Deserialize)]
pub struct FieldIssue {
    /// The field, e.g. `content` or `tags` (`row 3: content` in imports).
    pub field: String,
    /// A stable machine-readable code, e.g. `content_too_long`.
    pub code: String,
    pub message: String,
}

/// A failure that answers the client with a status and a JSON error body.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, sent as `Retry-After` on 429 and 503.
    pub retry_after: Option<u64>,
    /// The rate limit that refused the request, sent as `RateLimit-Policy`/`RateLimit`.
    pub policy: Option<RatePolicy>,
    /// Per-field problems (validation).
    pub details: Option<Vec<FieldIssue>>,
}

/// A named rate limit: `quota` requests per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RatePolicy {
    pub name: &'static str,
    pub quota: u32,
    pub window_secs: u32,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            policy: None,
            details: None,
        }
    }

    /// A validation failure listing every field problem.
    pub fn fields(issues: Vec<FieldIssue>) -> Self {
        let message = issues
            .iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            details: Some(issues),
            ..Self::new(ErrorCode::ValidationFailed, message)
        }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationFailed, message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    pub fn rate_limited(policy: RatePolicy, retry_after: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: format!(
                "too many requests (limit {}: {} per {} s); retry in {retry_after} s",
                policy.name, policy.quota, policy.window_secs
            ),
            retry_after: Some(retry_after.max(1)),
            policy: Some(policy),
            details: None,
        }
    }
    /// An unexpected failure: the detail goes to the log, the client gets a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            ErrorCode::Internal,
            "internal error; quote the correlation id when reporting it",
        )
    }

    /// The JSON response for this error, stamped with `correlation_id`.
    pub fn to_response(&self, correlation_id: &str) -> poem::Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message.clone(),
                correlation_id: correlation_id.to_string(),
                details: self.details.clone(),
            },
        };
        let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = poem::Response::builder()
            .status(self.code.status())
            .content_type("application/json; charset=utf-8")
            .body(json);
        let h = resp.headers_mut();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = secs.to_string().parse() {
                h.insert(poem::http::header::RETRY_AFTER, v);
            }
        }
        // The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers):
        // the policy, and what is left of it (nothing) until `t` seconds from now.
        if let (Some(p), Some(secs)) = (self.policy, self.retry_after) {
            let policy = format!("\"{}\";q={};w={}", p.name, p.quota, p.window_secs);
            let left = format!("\"{}\";r=0;t={secs}", p.name);
            if let (Ok(policy), Ok(left)) = (policy.parse(), left.parse()) {
                h.insert("ratelimit-policy", policy);
                h.insert("ratelimit", left);
            }
        }
        resp
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.code.status()
    }

    fn as_response(&self) -> poem::Response {
        self.to_response(&observability::current_correlation_id())
    }
}

/// Documents the error responses every operation may give (one schema, many statuses).
#[derive(ApiResponse)]
#[allow(dead_code)]
enum ErrorResponses {
    /// The request disagrees with this document: not JSON, a wrong type, a missing
    /// required field, a malformed parameter.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// The request fits the document, but a value breaks a rule (`validation_failed`,
    /// with `details` per field): a bound, a date in range, `from` not after `to`, an
    /// expiry in the future.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Missing, invalid or expired credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Authenticated but not allowed (role, CSRF, IP allowlist, disabled account).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such record in your tenant.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the current state.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The invitation passkey can no longer be used.
    #[oai(status = 410)]
    Gone(Json<ErrorBody>),
    /// The body is larger than allowed.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// The body stopped arriving before it was complete.
    #[oai(status = 408)]
    RequestTimeout(Json<ErrorBody>),
    /// The body's `Content-Type` is not one the operation reads.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Rate limited or over quota; see `Retry-After`.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>),
    /// Unexpected server failure.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// Maintenance mode or a dependency is down.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiResponse for ApiError {
    fn meta() -> poem_openapi::registry::MetaResponses {
        ErrorResponses::meta()
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ErrorResponses::register(registry);
    }
}

impl From<crate::jobs::queue::QueueError> for ApiError {
    fn from(e: crate::jobs::queue::QueueError) -> Self {
        use crate::jobs::queue::QueueError;
        match e {
            QueueError::TenantFull(_) => ApiError::new(ErrorCode::QuotaExceeded, e.to_string()),
            QueueError::NotFound => ApiError::not_found("job"),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        // The business rules a transaction checks and throws (`AR:<code>`) that mean the
        // same wherever they are thrown.
        if e.thrown() == Some("last_owner") {
            return Self::new(
                ErrorCode::LastOwner,
                "a workspace must keep at least one owner",
            );
        }
        match e {
            crate::store::StoreError::Conflict(msg) => Self::new(
                ErrorCode::Conflict,
                format!("concurrent update, please retry: {msg}"),
            ),
            other => Self::internal(other),
        }
    }
}

/// A rejected entry: every field problem, as `validation_failed` with `details`.
impl From<Vec<crate::worklog::FieldError>> for ApiError {
    fn from(errors: Vec<crate::worklog::FieldError>) -> Self {
        Self::fields(
            errors
                .into_iter()
                .map(|e| FieldIssue {
                    field: e.field.to_string(),
                    code: e.code.to_string(),
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl From<crate::artifacts::ArtifactError> for ApiError {
    fn from(e: crate::artifacts::ArtifactError) -> Self {
        use crate::artifacts::ArtifactError;
        match e {
            ArtifactError::TooLarge { limit } => ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("the file is larger than the {limit}-byte limit"),
            ),
            ArtifactError::Empty => ApiError::validation("the file is empty"),
            ArtifactError::Rejected(why) => ApiError::new(ErrorCode::UnsupportedMediaType, why),
            ArtifactError::Client(why) => ApiError::new(ErrorCode::BadRequest, why),
            ArtifactError::NotFound => ApiError::not_found("file"),
            ArtifactError::Storage(e) => ApiError::internal(e),
        }
    }
}

impl From<crate::worklog::InvertedRange> for ApiError {
    fn from(e: crate::worklog::InvertedRange) -> Self {
        ApiError::validation(e.to_string())
    }
}

impl From<crate::identity::accounts::Invalid> for ApiError {
    fn from(e: crate::identity::accounts::Invalid) -> Self {
        ApiError::validation(e.message)
    }
}

impl From<crate::identity::accounts::HashFailed> for ApiError {
    fn from(e: crate::identity::accounts::HashFailed) -> Self {
        ApiError::internal(e)
    }
}

/// A rendering failure: a document too long to render is the client's to shorten.
impl From<crate::documents::DocError> for ApiError {
    fn from(e: crate::documents::DocError) -> Self {
        match e {
            crate::documents::DocError::TooLong { .. } => {
                ApiError::new(ErrorCode::PayloadTooLarge, e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

/// The result type of handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;
