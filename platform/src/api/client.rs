//! Who is on the other end of the connection: IP, user agent, correlation ID.

use std::sync::Arc;

use poem::{FromRequest, Request, RequestBody};

use crate::config::Settings;
use crate::state::AppState;

/// Request metadata used for rate limiting and audit records.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    pub correlation_id: String,
    pub origin: Option<String>,
    pub host: Option<String>,
}

impl ClientInfo {
    pub fn from_request_parts(req: &Request, settings: &Settings) -> Self {
        let forwarded = settings
            .trust_proxy_headers
            .then(|| req.header("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.split(',').next())
            .map(|s| s.trim().to_string())
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
        let ip = forwarded.unwrap_or_else(|| {
            req.remote_addr()
                .as_socket_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_else(|| "unknown".into())
        });
        Self {
            ip,
            user_agent: req
                .header("user-agent")
                .map(|s| s.chars().take(512).collect()),
            correlation_id: crate::observability::current_correlation_id(),
            origin: req.header("origin").map(str::to_string),
            host: req.header("host").map(str::to_string),
        }
    }
}

impl<'a> FromRequest<'a> for ClientInfo {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let settings = req.data::<Arc<AppState>>().map(|s| s.settings.clone());
        Ok(match settings {
            Some(s) => Self::from_request_parts(req, &s),
            None => Self::default(),
        })
    }
}
