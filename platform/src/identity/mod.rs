//! Who someone is and what they may do: accounts and passwords ([`accounts`]),
//! credentials and tokens ([`credentials`]), logins and their refresh tokens
//! ([`sessions`]), the audit trail of all of it ([`auditing`]), and roles in a workspace
//! ([`tenancy`]). Nothing here reads a request: the API turns requests into these types
//! (the client's address and agent into [`ClientInfo`], for limits and the audit trail).

pub mod accounts;
pub mod auditing;
pub mod credentials;
pub mod sessions;
pub mod tenancy;

/// Request metadata used for rate limiting and audit records (read from the request by
/// the API).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: Option<String>,
    pub correlation_id: String,
    pub origin: Option<String>,
    pub host: Option<String>,
}
