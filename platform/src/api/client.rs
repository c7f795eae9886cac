//! Who is on the other end of the connection: IP, user agent, correlation ID.

use std::sync::Arc;

use poem::{FromRequest, Request, RequestBody};

use std::net::IpAddr;

use crate::config::{IpNet, Settings};
use crate::state::AppState;

pub use crate::identity::{limit_key, ClientInfo};

impl ClientInfo {
    pub fn from_request_parts(req: &Request, settings: &Settings) -> Self {
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let ip = match peer {
            Some(peer) => client_ip(
                peer,
                req.headers()
                    .get_all("x-forwarded-for")
                    .iter()
                    .filter_map(|v| v.to_str().ok()),
                &settings.trusted_proxies,
            )
            .to_string(),
            None => "unknown".into(),
        };
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
        Ok(match req.data::<Arc<AppState>>() {
            Some(s) => Self::from_request_parts(req, &s.settings),
            None => Self::default(),
        })
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// `X-Forwarded-For` chain is walked from the right (the hop the nearest proxy added)
/// past every trusted proxy, and the first other address is the client. The left part of
/// the header is whatever the client sent, so it is never read past that point.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // Garbage where an address should be: the last proxy we trust added it.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| IpNet::parse(n).unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_read_only_behind_trusted_proxies() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1"]);
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Client -> proxy 10.0.0.2 -> proxy 127.0.0.1: the spoofed left part is skipped.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                ["6.6.6.6, 198.51.100.7, 10.0.0.2"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Several header lines read as one list.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                ["6.6.6.6", "198.51.100.7"].into_iter(),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Garbage: the proxy that passed it on is the client we know.
        assert_eq!(
            client_ip(
                ip("127.0.0.1"),
                ["nonsense, 10.0.0.2"].into_iter(),
                &trusted
            ),
            ip("10.0.0.2")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), std::iter::empty(), &trusted),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(limit_key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(limit_key("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(limit_key("192.0.2.1"), "192.0.2.1");
    }
}
