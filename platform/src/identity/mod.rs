//! Who someone is and what they may do: accounts and passwords ([`accounts`]),
//! credentials and tokens ([`credentials`]), logins and their refresh tokens
//! ([`sessions`]), the audit trail of all of it ([`auditing`]), and roles in a workspace
//! ([`tenancy`]). Nothing here reads a request: the API turns requests into these types
//! (the client's address and agent into [`ClientInfo`], for limits and the audit trail).

pub mod accounts;
pub mod auditing;
pub mod credentials;
pub mod principal;
pub mod sessions;
pub mod tenancy;

use std::net::IpAddr;

/// The workspace a principal acts in (its data lives in its own database).
pub use crate::store::TenantId;
pub use principal::Principal;

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

/// The key under which per-IP limits count an address: IPv6 clients usually hold a
/// whole /64, so one is counted as one client.
pub fn limit_key(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(|| ip.to_string(), |v4| v4.to_string()),
        _ => ip.to_string(),
    }
}
