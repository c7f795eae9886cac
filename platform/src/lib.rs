//! AfterResume platform: API server, job runner and CLI.
//!
//! Layering: `api` → (domain modules | `identity` | `jobs`) → `store`; nothing imports
//! upward. `identity` holds accounts, credentials, sessions, the audit trail and roles
//! (`identity::accounts` and `identity::tenancy` are pure; `identity::sessions` runs the
//! login lifecycle).

pub mod agents;
pub mod api;
pub mod artifacts;
pub mod cli;
pub mod config;
pub mod deps;
pub mod documents;
pub mod error;
pub mod gamification;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod llm;
pub mod observability;
pub mod principals;
pub mod server;
pub mod services;
pub mod slots;
pub mod state;
pub mod store;
pub mod workflows;
pub mod worklog;
