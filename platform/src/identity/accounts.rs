//! Users: validated input types and password hashing (argon2id).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

/// An account input that breaks a rule; `message` says which, to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub message: String,
}

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid {
        message: message.into(),
    }
}

/// Hashing a password failed (the blocking pool is gone, or argon2 refused).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashFailed(String);

/// argon2id parameters: OWASP's recommended 19 MiB, 2 passes, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params =
        Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A normalised e-mail address (trimmed, lower-cased, plausibly shaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && match s.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && !domain.is_empty()
                        && !domain.contains('@')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Self(s))
        } else {
            Err(invalid(format!("{raw:?} is not a valid e-mail address")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–100 characters after trimming, no control characters.
pub fn parse_display_name(raw: &str) -> Result<String, Invalid> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 || n > 100 || s.chars().any(char::is_control) {
        return Err(invalid("display_name must be 1–100 characters"));
    }
    Ok(s.to_string())
}

/// An IANA time zone name such as `Europe/Berlin`.
pub fn parse_timezone(raw: &str) -> Result<String, Invalid> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            invalid(format!(
                "{raw:?} is not an IANA time zone (e.g. Europe/Berlin)"
            ))
        })
}

/// Minimum and maximum password lengths, in characters.
pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 256;

/// Checks a new password's shape.
pub fn validate_password(password: &str, email: &Email) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(invalid(format!(
            "password must be at least {PASSWORD_MIN} characters"
        )));
    }
    if n > PASSWORD_MAX {
        return Err(invalid(format!(
            "password must be at most {PASSWORD_MAX} characters"
        )));
    }
    if password.eq_ignore_ascii_case(email.as_str()) {
        return Err(invalid("password must not be your e-mail address"));
    }
    Ok(())
}

/// Hashes a password with argon2id (PHC string). CPU-heavy: call from `spawn_blocking`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Verifies a password against a PHC hash. CPU-heavy: call from `spawn_blocking`.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Hashes on the blocking pool so the async runtime keeps serving.
pub async fn hash_password_async(password: String) -> Result<String, HashFailed> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| HashFailed(e.to_string()))?
        .map_err(|e| HashFailed(e.to_string()))
}

/// Verifies on the blocking pool.
pub async fn verify_password_async(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "", "ada", "@x.io", "ada@", "a b@x.io", "a@b@c", "ada@.x", "ada@x.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_round_trip_and_validate() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        let e = Email::parse("a@b.io").unwrap();
        assert!(validate_password("short", &e).is_err());
        assert!(validate_password("a@b.io", &e).is_err());
        assert!(validate_password("long enough pw", &e).is_ok());
    }

    #[test]
    fn names_and_zones() {
        assert_eq!(parse_display_name("  Ada ").unwrap(), "Ada");
        assert!(parse_display_name("   ").is_err());
        assert!(parse_display_name(&"x".repeat(101)).is_err());
        assert_eq!(parse_timezone("Europe/Berlin").unwrap(), "Europe/Berlin");
        assert!(parse_timezone("Mars/Olympus").is_err());
    }
}
