//! The use cases: one function per user action, composing the domain rules (`worklog`,
//! `gamification::rules`, `agents`, `documents`), the store, the job queue and the
//! artifact store. Handlers in `api/` validate a request, call one function here and
//! turn its result into a response; nothing here knows about HTTP (no request, no
//! response type, no status). Services take the caller as an [`identity::Principal`]
//! and decide what it may do with the rules on it (`may_change`, `may_edit_content_of`).
//!
//! Services return the application's [`crate::error::ApiError`] (a stable code and a
//! message; the API alone turns it into a status and a body). The store's and the
//! domain's errors become it through `From` impls, so use cases read top to bottom
//! with `?`.
//!
//! [`identity::Principal`]: crate::identity::Principal

pub mod attachments;
pub mod imports;
pub mod jobs;
pub mod me;
pub mod rewards;
pub mod system;
pub mod tenant;
pub mod users;
pub mod worklogs;

// The AI resources: what they share (`ai`), then one module per resource.
pub mod ai;
pub mod reports;
pub mod resume;
pub mod shares;
pub mod skills;
