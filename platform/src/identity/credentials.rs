//! Credentials: JWT access tokens, opaque refresh tokens, invitation passkeys and the
//! service-to-service HMAC token.

use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorCode};
use crate::identity::tenancy::Role;
use crate::store::TenantId;

type HmacSha256 = Hmac<Sha256>;

/// Issuer and audience pinned in every access token.
pub const ISSUER: &str = "afterresume";
pub const AUDIENCE: &str = "afterresume-api";

/// The claims of an access token.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    pub sub: String,
    /// Tenant id.
    pub tid: String,
    pub role: Role,
    pub staff: bool,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    /// The login (refresh-token family) this token belongs to: ending that login (logout,
    /// password change, reuse detection) ends its access tokens too, not at `exp`.
    /// Absent only in tokens minted before sessions were tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Derives a purpose-specific key from `SECRET_KEY`, so one leaked derived key
/// doesn't compromise the others.
fn derive_key(secret: &str, purpose: &str) -> Vec<u8> {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("hmac takes any key length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Signs and verifies HS256 access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Built once: every request verifies with the same rules.
    validation: Validation,
    ttl_secs: i64,
    /// Keys a refresh token's successor (see [`JwtKeys::successor_of`]).
    successor: Vec<u8>,
}

impl JwtKeys {
    pub fn new(secret_key: &str, ttl_secs: u64) -> Self {
        let key = derive_key(secret_key, "afterresume/jwt/v1");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(900),
            successor: derive_key(secret_key, "afterresume/refresh-successor/v1"),
        }
    }

    /// The refresh token that follows `presented` in its family. Derived, not random, so
    /// two concurrent refreshes of one token (two browser tabs) arrive at the same
    /// successor and the loser can be handed the winner's token without the store
    /// keeping any plaintext. Only the server can compute it: it is keyed by SECRET_KEY.
    pub fn successor_of(&self, presented: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.successor)
            .expect("hmac takes any key length");
        mac.update(presented.as_bytes());
        format!("rt_{}", hex::encode(mac.finalize().into_bytes()))
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Issues a token for a user in a tenant, belonging to login `sid`.
    pub fn issue(
        &self,
        user_id: &str,
        tenant_id: TenantId,
        role: Role,
        staff: bool,
        sid: &str,
    ) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            tid: tenant_id.to_string(),
            role,
            staff,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + self.ttl_secs,
            jti: uuid::Uuid::new_v4().to_string(),
            sid: Some(sid.to_string()),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Verifies signature (HS256 only), issuer, audience, expiry and not-before.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::new(ErrorCode::TokenExpired, "access token expired; refresh it")
                }
                _ => ApiError::new(ErrorCode::TokenInvalid, "access token is invalid"),
            })
    }
}

/// 32 random bytes, hex-encoded, with a readable prefix.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// SHA-256 hex digest: how refresh tokens and passkeys are stored.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A new opaque refresh token (plaintext goes in the cookie, the hash in the store).
pub fn new_refresh_token() -> String {
    random_token("rt_")
}

/// A new invitation passkey (shown once; only its SHA-256 is stored).
pub fn new_passkey() -> String {
    random_token("inv_")
}

/// A new share-link token (the link's secret; only its SHA-256 is stored).
pub fn new_share_token() -> String {
    random_token("shr_")
}

/// How long a service token stays valid.
pub const SERVICE_TOKEN_MAX_AGE_SECS: i64 = 300;

/// Builds `X-Service-Token: <unix_ts>:<hex hmac-sha256(secret, ts)>`.
pub fn service_token(secret: &str, unix_ts: i64) -> String {
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("hmac takes any key length");
    mac.update(unix_ts.to_string().as_bytes());
    format!("{unix_ts}:{}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a service token: well-formed, signed with `secret`, at most 5 minutes old
/// (and not more than 5 minutes in the future, for clock skew).
pub fn verify_service_token(secret: &str, token: &str, now: i64) -> Result<(), ApiError> {
    let malformed = || {
        ApiError::new(
            ErrorCode::ServiceTokenInvalid,
            "X-Service-Token is malformed",
        )
    };
    let (ts, sig) = token.trim().split_once(':').ok_or_else(malformed)?;
    let ts: i64 = ts.parse().map_err(|_| malformed())?;
    let sig = hex::decode(sig).map_err(|_| malformed())?;
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret.as_bytes()).expect("hmac takes any key length");
    mac.update(ts.to_string().as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&sig).map_err(|_| {
        ApiError::new(
            ErrorCode::ServiceTokenInvalid,
            "X-Service-Token signature is invalid",
        )
    })?;
    if (now - ts).abs() > SERVICE_TOKEN_MAX_AGE_SECS {
        return Err(ApiError::new(
            ErrorCode::ServiceTokenExpired,
            "X-Service-Token has expired",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_round_trip_and_rejections() {
        let keys = JwtKeys::new("0123456789abcdef0123456789abcdef", 900);
        let tenant = TenantId(uuid::Uuid::now_v7());
        let t = keys.issue("u1", tenant, Role::Member, false, "f1").unwrap();
        let c = keys.verify(&t).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.tid.clone(), c.role, c.sid.as_deref()),
            ("u1", tenant.to_string(), Role::Member, Some("f1"))
        );
        let other = JwtKeys::new("another secret another secret 123", 900);
        assert_eq!(other.verify(&t).unwrap_err().code, ErrorCode::TokenInvalid);
        let expired = JwtKeys::new("0123456789abcdef0123456789abcdef", 0);
        let mut claims = keys.verify(&t).unwrap();
        claims.exp = chrono::Utc::now().timestamp() - 60;
        let old = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &expired.encoding)
            .unwrap();
        assert_eq!(keys.verify(&old).unwrap_err().code, ErrorCode::TokenExpired);
        // alg=none and other algorithms are refused.
        let none = format!(
            "{}.{}.",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0",
            t.split('.').nth(1).unwrap()
        );
        assert!(keys.verify(&none).is_err());
        assert!(keys.verify("garbage").is_err());
    }

    #[test]
    fn service_tokens() {
        let now = 1_800_000_000;
        let tok = service_token("s3cret", now);
        assert!(verify_service_token("s3cret", &tok, now + 10).is_ok());
        assert_eq!(
            verify_service_token("s3cret", &tok, now + 301)
                .unwrap_err()
                .code,
            ErrorCode::ServiceTokenExpired
        );
        assert_eq!(
            verify_service_token("other", &tok, now).unwrap_err().code,
            ErrorCode::ServiceTokenInvalid
        );
        for bad in ["", "abc", "123:zz", "x:00", "123"] {
            assert_eq!(
                verify_service_token("s3cret", bad, now).unwrap_err().code,
                ErrorCode::ServiceTokenInvalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn successors_are_deterministic_and_keyed() {
        let keys = JwtKeys::new("0123456789abcdef0123456789abcdef", 900);
        let other = JwtKeys::new("another secret another secret 123", 900);
        let s = keys.successor_of("rt_a");
        assert!(s.starts_with("rt_") && s.len() == 67);
        assert_eq!(s, keys.successor_of("rt_a"));
        assert_ne!(s, keys.successor_of("rt_b"));
        assert_ne!(s, other.successor_of("rt_a"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_passkey();
        assert!(a.starts_with("inv_") && a.len() == 68);
        assert_ne!(a, new_passkey());
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
