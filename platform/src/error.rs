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
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    /// A quota (entries per hour, storage bytes, LLM tokens) is used up.
    QuotaExceeded,
    Maintenance,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The HTTP status each code answers with.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            BadRequest | ValidationFailed | InvalidJson | InvalidParameter => {
                StatusCode::BAD_REQUEST
            }
            Unauthorized | InvalidCredentials | TokenExpired | TokenInvalid | RefreshInvalid
            | RefreshExpired | RefreshReused | ServiceTokenMissing | ServiceTokenInvalid
            | ServiceTokenExpired => StatusCode::UNAUTHORIZED,
            AccountDisabled | CsrfFailed | Forbidden | IpNotAllowed => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | EmailTaken | LastOwner => StatusCode::CONFLICT,
            PasskeyUnknown | PasskeyUsed | PasskeyExpired | PasskeyRevoked => StatusCode::GONE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
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
    /// Per-field problems (validation).
    pub details: Option<Vec<FieldIssue>>,
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
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            code: ErrorCode::RateLimited,
            message: format!("too many requests; retry in {retry_after} s"),
            retry_after: Some(retry_after.max(1)),
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
        if let Some(secs) = self.retry_after {
            if let Ok(v) = secs.to_string().parse() {
                resp.headers_mut()
                    .insert(poem::http::header::RETRY_AFTER, v);
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
    /// Malformed input: bad JSON, wrong types, failed validation.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
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

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Conflict(msg) => Self::new(
                ErrorCode::Conflict,
                format!("concurrent update, please retry: {msg}"),
            ),
            other => Self::internal(other),
        }
    }
}

/// The result type of handlers and services.
pub type ApiResult<T> = Result<T, ApiError>;
