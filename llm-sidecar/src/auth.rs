//! `X-Service-Token: <unix_ts>:<hex hmac-sha256(secret, ts)>`, the same scheme
//! the platform signs with: valid for 5 minutes either side of now; malformed, expired
//! and badly signed tokens are rejected; the signature is compared in constant time.

use crate::error::ApiError;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How long a service token stays valid (and how far in the future it may be).
pub const MAX_AGE_SECS: i64 = 300;

/// Paths reachable without a token: probes and the Prometheus scrape, which can't sign
/// requests and expose no prompts or outputs.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Paths of the operator routes, checked with the admin secret (LLM_ADMIN_SECRET)
/// instead of the service secret. poem routes on the raw request path (no decoding or
/// dot-segment removal), so this prefix covers every path that can reach an admin
/// handler; the handlers check that this was applied as well (see `api::admin_only`).
pub fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

fn mac(secret: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!())
}

/// Signs a token for `unix_ts` (what the platform sends; used by tests and the bench).
pub fn sign(secret: &str, unix_ts: i64) -> String {
    let mut m = mac(secret);
    m.update(unix_ts.to_string().as_bytes());
    format!("{unix_ts}:{}", hex::encode(m.finalize().into_bytes()))
}

/// Checks a token against `secret` at time `now`.
pub fn verify(secret: &str, token: Option<&str>, now: i64) -> Result<(), ApiError> {
    let token = token.ok_or_else(|| {
        ApiError::unauthorized(
            "service_token_missing",
            "X-Service-Token header is required",
        )
    })?;
    let malformed =
        || ApiError::unauthorized("service_token_invalid", "X-Service-Token is malformed");
    let (ts, sig) = token.trim().split_once(':').ok_or_else(malformed)?;
    // Only canonical decimal timestamps: the signature covers the digits as sent.
    if ts.is_empty() || ts.len() > 19 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let ts_num: i64 = ts.parse().map_err(|_| malformed())?;
    let sig = hex::decode(sig).map_err(|_| malformed())?;
    let mut m = mac(secret);
    m.update(ts.as_bytes());
    // verify_slice compares in constant time.
    m.verify_slice(&sig).map_err(|_| {
        ApiError::unauthorized(
            "service_token_invalid",
            "X-Service-Token signature is invalid",
        )
    })?;
    if (now - ts_num).abs() > MAX_AGE_SECS {
        return Err(ApiError::unauthorized(
            "service_token_expired",
            "X-Service-Token has expired",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_paths() {
        for p in ["/admin", "/admin/models", "/admin/models/load", "/admin/"] {
            assert!(is_admin(p), "{p}");
        }
        for p in [
            "/administrator",
            "/v1/models",
            "/v1/admin/models",
            "/healthz",
        ] {
            assert!(!is_admin(p), "{p}");
        }
    }

    #[test]
    fn accepts_fresh_rejects_expired_bad_and_malformed() {
        let now = 1_700_000_000;
        let tok = sign("s3cret", now);
        assert!(verify("s3cret", Some(&tok), now + 10).is_ok());
        assert!(verify("s3cret", Some(&tok), now - 10).is_ok());
        let code = |r: Result<(), ApiError>| r.unwrap_err().code;
        assert_eq!(
            code(verify("s3cret", Some(&tok), now + 301)),
            "service_token_expired"
        );
        assert_eq!(
            code(verify("other", Some(&tok), now)),
            "service_token_invalid"
        );
        assert_eq!(code(verify("s3cret", None, now)), "service_token_missing");
        for bad in ["", "abc", "123", "123:zz", ":00", "-5:00", "+1700000000:00"] {
            assert_eq!(
                code(verify("s3cret", Some(bad), now)),
                "service_token_invalid",
                "{bad}"
            );
        }
        // A valid signature over a different timestamp is still a bad signature.
        let (_, sig) = tok.split_once(':').unwrap();
        let forged = format!("{}:{sig}", now + 1);
        assert_eq!(
            code(verify("s3cret", Some(&forged), now)),
            "service_token_invalid"
        );
    }
}
