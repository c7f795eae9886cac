//! `/api/auth/*`: signup, login, refresh, logout (public, rate limited).

use std::sync::Arc;

use poem::web::Data;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::client::ClientInfo;
use super::security::RoleName;
use super::text::Text;
use super::Tag;
use crate::config::Settings;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::identity::sessions::{self, IssuedSession, SignupInput};
use crate::state::AppState;

/// Name of the HttpOnly refresh-token cookie.
pub const REFRESH_COOKIE: &str = "ar_refresh";
/// The custom header cookie-authenticated calls must carry (a cross-site form can't).
pub const CSRF_HEADER: &str = "x-requested-with";

#[derive(Object)]
pub struct SignupRequest {
    /// The invitation passkey you were given.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub passkey: Text,
    #[oai(validator(max_length = 254))]
    pub email: Text,
    #[oai(validator(max_length = 256))]
    pub password: Text,
    /// 1–100 characters, not only white space.
    #[oai(validator(min_length = 1, max_length = 100, pattern = r"\S"))]
    pub display_name: Text,
    /// IANA time zone, e.g. `Europe/Berlin` (default `UTC`).
    #[oai(validator(max_length = 64))]
    #[oai(nullable)]
    pub timezone: Option<Text>,
    /// Name of the new workspace when the invitation creates one (at most 100
    /// characters; default "<display name>'s workspace").
    #[oai(validator(max_length = 100))]
    #[oai(nullable)]
    pub tenant_name: Option<Text>,
}

#[derive(Object)]
pub struct LoginRequest {
    #[oai(validator(max_length = 254))]
    pub email: Text,
    #[oai(validator(max_length = 256))]
    pub password: Text,
}

/// A new access token. The refresh token is set as an HttpOnly cookie.
#[derive(Object)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
    pub user_id: String,
    pub tenant_id: String,
    pub role: RoleName,
}

#[derive(ApiResponse)]
pub enum TokenResult {
    /// Logged in; `Set-Cookie` carries the refresh token.
    #[oai(status = 200)]
    Ok(Json<TokenResponse>, #[oai(header = "Set-Cookie")] String),
    /// Account created and logged in.
    #[oai(status = 201)]
    Created(Json<TokenResponse>, #[oai(header = "Set-Cookie")] String),
}

#[derive(ApiResponse)]
pub enum LogoutResult {
    /// Logged out; the cookie is cleared.
    #[oai(status = 204)]
    NoContent(#[oai(header = "Set-Cookie")] String),
}

fn cookie(settings: &Settings, value: &str, max_age: u64) -> String {
    let secure = if settings.is_production() {
        "; Secure"
    } else {
        ""
    };
    format!("{REFRESH_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/api/auth; Max-Age={max_age}{secure}")
}

fn token_body(s: &IssuedSession) -> Json<TokenResponse> {
    Json(TokenResponse {
        access_token: s.access_token.clone(),
        token_type: "Bearer".into(),
        expires_in: s.expires_in,
        user_id: s.user_id.clone(),
        tenant_id: s.tenant_id.to_string(),
        role: s.role.into(),
    })
}

fn refresh_cookie_value(req: &Request) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == REFRESH_COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}

/// Cookie-authenticated endpoints: the Origin must be trusted (or same-origin) and the
/// custom header present, so a cross-site page can't ride the cookie.
fn check_csrf(req: &Request, settings: &Settings) -> ApiResult<()> {
    let fail = |m: &str| Err(ApiError::new(ErrorCode::CsrfFailed, m.to_string()));
    if req
        .header(CSRF_HEADER)
        .map(str::trim)
        .unwrap_or("")
        .is_empty()
    {
        return fail("missing X-Requested-With header");
    }
    let Some(origin) = req.header("origin").map(|o| o.trim_end_matches('/')) else {
        return fail("missing Origin header");
    };
    if settings
        .csrf_trusted_origins
        .iter()
        .any(|t| t.eq_ignore_ascii_case(origin))
    {
        return Ok(());
    }
    let same_origin = match (url::Url::parse(origin), req.header("host")) {
        (Ok(u), Some(host)) => {
            let origin_host = match u.port() {
                Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                None => u.host_str().unwrap_or_default().to_string(),
            };
            origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    };
    if same_origin {
        Ok(())
    } else {
        fail("Origin is not trusted (see CSRF_TRUSTED_ORIGINS)")
    }
}

pub struct AuthApi;

#[OpenApi(prefix_path = "/auth", tag = "Tag::Auth")]
impl AuthApi {
    /// Sign up with an invitation passkey.
    ///
    /// A staff invitation creates a new workspace owned by you; a workspace admin's
    /// invitation joins that workspace with the invited role. Each passkey works once.
    #[oai(path = "/signup", method = "post", operation_id = "auth_signup")]
    async fn signup(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        body: Json<SignupRequest>,
    ) -> ApiResult<TokenResult> {
        let b = body.0;
        let s = sessions::signup(
            &state,
            &client,
            SignupInput {
                passkey: b.passkey.into_string(),
                email: b.email.into_string(),
                password: b.password.into_string(),
                display_name: b.display_name.into_string(),
                timezone: b.timezone.map(Text::into_string),
                tenant_name: b.tenant_name.map(Text::into_string),
            },
        )
        .await?;
        let c = cookie(
            &state.settings,
            &s.refresh_token,
            state.settings.refresh_token_ttl_secs,
        );
        Ok(TokenResult::Created(token_body(&s), c))
    }

    /// Log in with e-mail and password.
    #[oai(path = "/token", method = "post", operation_id = "auth_token")]
    async fn token(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        body: Json<LoginRequest>,
    ) -> ApiResult<TokenResult> {
        let s = sessions::login(&state, &client, &body.email, &body.password).await?;
        let c = cookie(
            &state.settings,
            &s.refresh_token,
            state.settings.refresh_token_ttl_secs,
        );
        Ok(TokenResult::Ok(token_body(&s), c))
    }

    /// Rotate the refresh-token cookie and get a new access token.
    ///
    /// Needs the `ar_refresh` cookie, a trusted `Origin` and an `X-Requested-With`
    /// header. Reusing an already-rotated token revokes the whole session family.
    #[oai(
        path = "/token/refresh",
        method = "post",
        operation_id = "auth_refresh"
    )]
    async fn refresh(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        req: &Request,
    ) -> ApiResult<TokenResult> {
        check_csrf(req, &state.settings)?;
        let presented = refresh_cookie_value(req).ok_or_else(|| {
            ApiError::new(ErrorCode::RefreshInvalid, "no refresh cookie; log in again")
        })?;
        let s = sessions::refresh(&state, &client, &presented).await?;
        let c = cookie(
            &state.settings,
            &s.refresh_token,
            state.settings.refresh_token_ttl_secs,
        );
        Ok(TokenResult::Ok(token_body(&s), c))
    }

    /// Log out: revoke this login's refresh tokens and clear the cookie.
    #[oai(path = "/logout", method = "post", operation_id = "auth_logout")]
    async fn logout(
        &self,
        state: Data<&Arc<AppState>>,
        client: ClientInfo,
        req: &Request,
    ) -> ApiResult<LogoutResult> {
        check_csrf(req, &state.settings)?;
        sessions::logout(&state, &client, refresh_cookie_value(req).as_deref()).await?;
        Ok(LogoutResult::NoContent(cookie(&state.settings, "", 0)))
    }
}
