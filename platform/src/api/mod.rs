//! The HTTP API. Each module holds one group of routes (under `/api`):
//!
//! | module | routes |
//! |---|---|
//! | [`health`] | `/healthz`, `/readyz` |
//! | [`auth`] | `/auth/*`: token, refresh, logout, signup |
//! | [`me`] | `/me`, `/me/*`, `/status/bar` |
//! | [`tenant`] | `/tenant`, `/tenant/*`, `/invitations` |
//! | [`admin`] | `/admin/users`, `/admin/invitations`, `/admin/audit` |
//! | [`worklogs`] | `/worklogs`, `/worklogs/*` (entries, import, export, analysis) |
//! | [`attachments`] | `/worklogs/{id}/attachments`, `/artifacts/*` |
//! | [`skills`] | `/skills`, `/skills/*` |
//! | [`reports`] | `/reports`, `/reports/*` |
//! | [`resume`] | `/resume`, `/resume/*` |
//! | [`shares`] | `/share-links`, `/share-links/*`, the public `/share/{token}` |
//! | [`gamification`] | `/gamification/*` |
//! | [`admin_gamification`] | `/admin/gamification/*` (staff) |
//! | [`jobs`] | `/jobs`, `/jobs/*`, `/events` |
//! | [`system`] | `/system/*` (staff: jobs, events, metrics) |
//!
//! [`ai`] holds what the AI groups share; [`routes`] reads the path templates back from
//! the document (metrics labels, `Allow`).
//!
//! Handlers are thin: validate, call one service, respond. Authorization is
//! visible in signatures through the guards of [`security`].

pub mod admin;
pub mod admin_gamification;
pub mod ai;
pub mod attachments;
pub mod auth;
pub mod client;
pub mod download;
pub mod gamification;
pub mod health;
pub mod jobs;
pub mod me;
pub mod middleware;
pub mod multipart;
pub mod pagination;
pub mod report_drafts;
pub mod reports;
pub mod resume;
pub mod reward_numbers;
pub mod routes;
pub mod schema;
pub mod security;
pub mod shares;
pub mod skills;
pub mod system;
pub mod tenant;
pub mod text;
pub mod ui;
pub mod worklogs;

use std::sync::Arc;

use poem::middleware::{CatchPanic, NormalizePath, TrailingSlash};
use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::{OpenApiService, Tags};

use crate::state::AppState;

/// OpenAPI tags grouping the operations.
#[derive(Tags)]
pub enum Tag {
    /// Liveness and readiness.
    Health,
    /// Signup, login, token refresh, logout.
    Auth,
    /// Your own profile.
    Account,
    /// Your workspace: members, invitations, audit.
    Tenant,
    /// Platform staff.
    Admin,
    /// The daily work log: entries, search, attachments, import and export.
    Worklogs,
    /// Skills found in the work log, with evidence.
    Skills,
    /// Cited status, standup, weekly and custom reports; share links.
    Reports,
    /// The resume (JSON Resume) and its exports.
    Resume,
    /// Streaks, XP, levels, badges and weekly challenges.
    Gamification,
    /// Jobs (all AI work) and the Event timeline.
    Jobs,
    /// The operator dashboard: jobs of every tenant, queue, schedules, metrics (staff).
    System,
}

type Apis = (
    health::HealthApi,
    auth::AuthApi,
    me::MeApi,
    tenant::TenantApi,
    admin::AdminApi,
    (
        worklogs::WorklogsApi,
        attachments::AttachmentsApi,
        worklogs::WorklogAnalysisApi,
    ),
    skills::SkillsApi,
    (reports::ReportsApi, report_drafts::ReportDraftsApi),
    resume::ResumeApi,
    shares::SharesApi,
    (
        gamification::GamificationApi,
        reward_numbers::RewardNumbersApi,
    ),
    admin_gamification::AdminGamificationApi,
    jobs::JobsApi,
    system::SystemApi,
);

/// The OpenAPI service (used by the server and by `afterresume openapi`).
pub fn openapi_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            health::HealthApi,
            auth::AuthApi,
            me::MeApi,
            tenant::TenantApi,
            admin::AdminApi,
            (
                worklogs::WorklogsApi,
                attachments::AttachmentsApi,
                worklogs::WorklogAnalysisApi,
            ),
            skills::SkillsApi,
            (reports::ReportsApi, report_drafts::ReportDraftsApi),
            resume::ResumeApi,
            shares::SharesApi,
            (
                gamification::GamificationApi,
                reward_numbers::RewardNumbersApi,
            ),
            admin_gamification::AdminGamificationApi,
            jobs::JobsApi,
            system::SystemApi,
        ),
        "AfterResume API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(description())
    .server("/api")
}

/// The document's `info.description`: the guide, with the table of every error code.
fn description() -> String {
    let codes: Vec<String> = crate::error::ErrorCode::ALL
        .iter()
        .map(|c| {
            format!(
                "| `{}` | {} | {} |",
                c.as_str(),
                c.status().as_u16(),
                c.meaning()
            )
        })
        .collect();
    include_str!("guide.md").replace("{{ERROR_CODES}}", &codes.join("\n"))
}

/// The OpenAPI document as pretty JSON (what `openapi/openapi.json` holds).
pub fn openapi_json() -> String {
    openapi_service().spec()
}

/// The whole application with its middleware stack.
pub fn app(state: Arc<AppState>) -> impl poem::Endpoint {
    let api = openapi_service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    let headers = middleware::security_headers(middleware::HeaderPolicy {
        hsts: state.settings.is_production(),
    });
    let routes = Route::new()
        .at(
            ai::DOCUMENT_CSS_PATH,
            poem::endpoint::make_sync(|_| {
                poem::Response::builder()
                    .content_type("text/css; charset=utf-8")
                    .header("cache-control", "public, max-age=3600")
                    .body(crate::documents::PRINT_CSS)
            }),
        )
        .nest("/api/docs", docs)
        .at("/api/openapi.json", spec)
        .nest("/api", api)
        .at("/*path", ui::UiFiles::new(state.settings.ui_dir.clone()))
        .at("/", ui::UiFiles::new(state.settings.ui_dir.clone()))
        .into_endpoint()
        .around(middleware::gate)
        .with(CatchPanic::new())
        .around(middleware::envelope);
    routes
        .around(move |next, req| {
            let headers = headers.clone();
            async move {
                let docs = req.uri().path().starts_with("/api/docs");
                let resp = next.call(req).await?;
                Ok(headers(poem::IntoResponse::into_response(resp), docs))
            }
        })
        .around(middleware::correlation)
        .with(NormalizePath::new(TrailingSlash::Trim))
        .data(state)
}

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode;

    /// The guide's error table lists every code the document's `ErrorCode` enum has.
    #[test]
    fn the_guide_lists_every_error_code() {
        let doc: serde_json::Value = serde_json::from_str(&super::openapi_json()).unwrap();
        let listed: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let declared: Vec<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, declared);
        let description = doc["info"]["description"].as_str().unwrap();
        for c in ErrorCode::ALL {
            let row = format!("| `{}` | {} |", c.as_str(), c.status().as_u16());
            assert!(description.contains(&row), "{row}");
        }
        for section in [
            "## Authentication",
            "## Errors",
            "## Pagination",
            "## Rate limits",
            "## Idempotency",
            "## Versioning",
        ] {
            assert!(description.contains(section), "{section}");
        }
        // Every operation has a summary and every parameter a description.
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                assert!(op["summary"].is_string(), "{method} {path}: no summary");
                for p in op["parameters"].as_array().into_iter().flatten() {
                    assert!(
                        p["description"].as_str().is_some_and(|d| !d.is_empty()),
                        "{method} {path}: parameter {} has no description",
                        p["name"]
                    );
                }
            }
        }
    }
}
