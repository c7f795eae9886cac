//! AfterResume platform: API server, job runner and CLI.
//!
//! Layering (SPEC §3): `api` → (domain modules | `jobs`) → `store`. Domain modules
//! (`accounts`, `tenancy`) are pure; `sessions` orchestrates the auth lifecycle.

pub mod accounts;
pub mod agents;
pub mod api;
pub mod artifacts;
pub mod auditing;
pub mod auth;
pub mod cli;
pub mod config;
pub mod documents;
pub mod error;
pub mod gamification;
pub mod jobs;
pub mod llm;
pub mod observability;
pub mod principals;
pub mod server;
pub mod sessions;
pub mod state;
pub mod store;
pub mod tenancy;
pub mod workflows;
pub mod worklog;
