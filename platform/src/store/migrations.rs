//! Versioned schema migrations, applied on start and recorded so each runs once.
//!
//! The platform database and every tenant database have their own list. A migration is
//! SurrealQL; it runs together with the row that records it in one transaction, so a
//! crash never leaves a migration half-applied-but-recorded. Never edit a shipped
//! migration: append a new one.

use super::{Db, StoreError};

/// One schema step.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Global tables: accounts, tenancy, invitations, sessions, audit.
pub const PLATFORM: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts_tenancy_auth_audit",
        sql: r#"
DEFINE TABLE IF NOT EXISTS user SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS email ON user TYPE string;
DEFINE FIELD IF NOT EXISTS password_hash ON user TYPE string;
DEFINE FIELD IF NOT EXISTS display_name ON user TYPE string;
DEFINE FIELD IF NOT EXISTS timezone ON user TYPE string DEFAULT 'UTC';
DEFINE FIELD IF NOT EXISTS is_staff ON user TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS disabled ON user TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS created_at ON user TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS updated_at ON user TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS user_email ON user FIELDS email UNIQUE;

DEFINE TABLE IF NOT EXISTS tenant SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS name ON tenant TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON tenant TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS updated_at ON tenant TYPE datetime DEFAULT time::now();

DEFINE TABLE IF NOT EXISTS membership SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON membership TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON membership TYPE string;
DEFINE FIELD IF NOT EXISTS role ON membership TYPE string ASSERT $value IN ['owner', 'admin', 'member', 'read_only'];
DEFINE FIELD IF NOT EXISTS created_at ON membership TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS membership_user_tenant ON membership FIELDS user_id, tenant_id UNIQUE;
DEFINE INDEX IF NOT EXISTS membership_tenant ON membership FIELDS tenant_id;

DEFINE TABLE IF NOT EXISTS invitation SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS passkey_hash ON invitation TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON invitation TYPE option<string>;
DEFINE FIELD IF NOT EXISTS role ON invitation TYPE string ASSERT $value IN ['owner', 'admin', 'member', 'read_only'];
DEFINE FIELD IF NOT EXISTS email ON invitation TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_by ON invitation TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON invitation TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS expires_at ON invitation TYPE datetime;
DEFINE FIELD IF NOT EXISTS used_at ON invitation TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS used_by ON invitation TYPE option<string>;
DEFINE FIELD IF NOT EXISTS revoked_at ON invitation TYPE option<datetime>;
DEFINE INDEX IF NOT EXISTS invitation_passkey ON invitation FIELDS passkey_hash UNIQUE;
DEFINE INDEX IF NOT EXISTS invitation_tenant ON invitation FIELDS tenant_id;

DEFINE TABLE IF NOT EXISTS refresh_token SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS token_hash ON refresh_token TYPE string;
DEFINE FIELD IF NOT EXISTS family ON refresh_token TYPE string;
DEFINE FIELD IF NOT EXISTS user_id ON refresh_token TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON refresh_token TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON refresh_token TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS expires_at ON refresh_token TYPE datetime;
DEFINE FIELD IF NOT EXISTS used_at ON refresh_token TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS revoked_at ON refresh_token TYPE option<datetime>;
DEFINE INDEX IF NOT EXISTS refresh_token_hash ON refresh_token FIELDS token_hash UNIQUE;
DEFINE INDEX IF NOT EXISTS refresh_token_family ON refresh_token FIELDS family;
DEFINE INDEX IF NOT EXISTS refresh_token_user ON refresh_token FIELDS user_id;

DEFINE TABLE IF NOT EXISTS auth_event SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS kind ON auth_event TYPE string;
DEFINE FIELD IF NOT EXISTS user_id ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS tenant_id ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS email ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS ip ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS user_agent ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS correlation_id ON auth_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS detail ON auth_event TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD IF NOT EXISTS created_at ON auth_event TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS auth_event_tenant ON auth_event FIELDS tenant_id;
"#,
    },
    Migration {
        version: 2,
        name: "system_events_and_metrics",
        sql: r#"
DEFINE TABLE IF NOT EXISTS system_event SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS kind ON system_event TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON system_event TYPE string;
DEFINE FIELD IF NOT EXISTS job_id ON system_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS correlation_id ON system_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS message ON system_event TYPE string DEFAULT '';
DEFINE FIELD IF NOT EXISTS data ON system_event TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD IF NOT EXISTS created_at ON system_event TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS system_event_job ON system_event FIELDS job_id;

DEFINE TABLE IF NOT EXISTS metrics_snapshot SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS computed_at ON metrics_snapshot TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS job_id ON metrics_snapshot TYPE option<string>;
DEFINE FIELD IF NOT EXISTS data ON metrics_snapshot TYPE object FLEXIBLE DEFAULT {};
"#,
    },
    Migration {
        version: 3,
        name: "reward_config",
        sql: r#"
-- Versioned reward rules, editable by staff; version 1 (the defaults) is published by
-- the server on first use. Rows are never changed, only added.
DEFINE TABLE IF NOT EXISTS reward_config SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS version ON reward_config TYPE int;
DEFINE FIELD IF NOT EXISTS config ON reward_config TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS created_by ON reward_config TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_at ON reward_config TYPE datetime DEFAULT time::now() READONLY;
"#,
    },
    Migration {
        version: 4,
        name: "share_links",
        sql: r#"
-- Public links to a report or resume. The token is never stored, only its SHA-256.
DEFINE TABLE IF NOT EXISTS share_link SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS token_hash ON share_link TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON share_link TYPE string;
DEFINE FIELD IF NOT EXISTS kind ON share_link TYPE string ASSERT $value IN ['report', 'resume'];
DEFINE FIELD IF NOT EXISTS doc_id ON share_link TYPE string;
DEFINE FIELD IF NOT EXISTS created_by ON share_link TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON share_link TYPE datetime DEFAULT time::now() READONLY;
DEFINE FIELD IF NOT EXISTS expires_at ON share_link TYPE datetime;
DEFINE FIELD IF NOT EXISTS revoked_at ON share_link TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS views ON share_link TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS last_viewed_at ON share_link TYPE option<datetime>;
DEFINE INDEX IF NOT EXISTS share_link_token ON share_link FIELDS token_hash UNIQUE;
DEFINE INDEX IF NOT EXISTS share_link_tenant ON share_link FIELDS tenant_id;
"#,
    },
    Migration {
        version: 5,
        name: "ended_sessions",
        sql: r#"
-- Logins ended within the last access-token lifetime, so their unexpired access tokens
-- are refused (the principal loads them with the user row).
DEFINE FIELD IF NOT EXISTS ended_sessions ON user TYPE option<array<object>>;
DEFINE FIELD IF NOT EXISTS ended_sessions.*.family ON user TYPE string;
DEFINE FIELD IF NOT EXISTS ended_sessions.*.at ON user TYPE datetime;
"#,
    },
];

/// Per-tenant tables. Issue-by-issue capabilities append their own migrations here.
pub const TENANT: &[Migration] = &[
    Migration {
        version: 1,
        name: "event_timeline",
        sql: r#"
DEFINE TABLE IF NOT EXISTS event SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS kind ON event TYPE string;
DEFINE FIELD IF NOT EXISTS tenant_id ON event TYPE string;
DEFINE FIELD IF NOT EXISTS job_id ON event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS correlation_id ON event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS message ON event TYPE string DEFAULT '';
DEFINE FIELD IF NOT EXISTS data ON event TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD IF NOT EXISTS created_at ON event TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS event_job ON event FIELDS job_id;
"#,
    },
    Migration {
        version: 2,
        name: "event_correlation_and_diagnostics",
        sql: r#"
DEFINE INDEX IF NOT EXISTS event_correlation ON event FIELDS correlation_id;

-- Effects of `diagnostics.echo` jobs: one row per job, keyed by the job id, so a
-- re-run of the same job can never apply its effect twice.
DEFINE TABLE IF NOT EXISTS diagnostic SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS job_id ON diagnostic TYPE string;
DEFINE FIELD IF NOT EXISTS message ON diagnostic TYPE string;
DEFINE FIELD IF NOT EXISTS attempt ON diagnostic TYPE int;
DEFINE FIELD IF NOT EXISTS created_at ON diagnostic TYPE datetime DEFAULT time::now();
DEFINE TABLE IF NOT EXISTS diagnostic_counter SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS applied ON diagnostic_counter TYPE int DEFAULT 0;
"#,
    },
    Migration {
        version: 3,
        name: "worklogs_and_attachments",
        sql: r#"
DEFINE ANALYZER IF NOT EXISTS worklog_text TOKENIZERS class FILTERS lowercase, ascii, snowball(english);

DEFINE TABLE IF NOT EXISTS worklog SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS author_id ON worklog TYPE string;
DEFINE FIELD IF NOT EXISTS date ON worklog TYPE string ASSERT $value = /^\d{4}-\d{2}-\d{2}$/;
DEFINE FIELD IF NOT EXISTS title ON worklog TYPE string;
DEFINE FIELD IF NOT EXISTS content ON worklog TYPE string;
DEFINE FIELD IF NOT EXISTS tags ON worklog TYPE array<string> DEFAULT [];
DEFINE FIELD IF NOT EXISTS outcome ON worklog TYPE option<string>;
DEFINE FIELD IF NOT EXISTS project ON worklog TYPE option<string>;
DEFINE FIELD IF NOT EXISTS version ON worklog TYPE int DEFAULT 1;
DEFINE FIELD IF NOT EXISTS attachment_count ON worklog TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS import_key ON worklog TYPE option<string>;
DEFINE FIELD IF NOT EXISTS analysis ON worklog TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS created_at ON worklog TYPE datetime DEFAULT time::now() READONLY;
DEFINE FIELD IF NOT EXISTS updated_at ON worklog TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS worklog_date ON worklog FIELDS date;
DEFINE INDEX IF NOT EXISTS worklog_author_created ON worklog FIELDS author_id, created_at;
DEFINE INDEX IF NOT EXISTS worklog_tags ON worklog FIELDS tags;
DEFINE INDEX IF NOT EXISTS worklog_project ON worklog FIELDS project;
DEFINE INDEX IF NOT EXISTS worklog_import_key ON worklog FIELDS import_key UNIQUE;
DEFINE INDEX IF NOT EXISTS worklog_ft_title ON worklog FIELDS title FULLTEXT ANALYZER worklog_text BM25;
DEFINE INDEX IF NOT EXISTS worklog_ft_content ON worklog FIELDS content FULLTEXT ANALYZER worklog_text BM25;
DEFINE INDEX IF NOT EXISTS worklog_ft_outcome ON worklog FIELDS outcome FULLTEXT ANALYZER worklog_text BM25;

DEFINE TABLE IF NOT EXISTS attachment SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS entry_id ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS author_id ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS filename ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS content_type ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS size ON attachment TYPE int;
DEFINE FIELD IF NOT EXISTS sha256 ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS storage_key ON attachment TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON attachment TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS attachment_entry ON attachment FIELDS entry_id;
"#,
    },
    Migration {
        version: 4,
        name: "gamification",
        sql: r#"
DEFINE TABLE IF NOT EXISTS gamification_user SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS state ON gamification_user TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS rev ON gamification_user TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS quiet_mode ON gamification_user TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS updated_at ON gamification_user TYPE datetime DEFAULT time::now();

DEFINE TABLE IF NOT EXISTS gamification_entry SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON gamification_entry TYPE string;
DEFINE FIELD IF NOT EXISTS record ON gamification_entry TYPE object FLEXIBLE;

DEFINE TABLE IF NOT EXISTS xp_event SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON xp_event TYPE string;
DEFINE FIELD IF NOT EXISTS idempotency_key ON xp_event TYPE string;
DEFINE FIELD IF NOT EXISTS amount ON xp_event TYPE int;
DEFINE FIELD IF NOT EXISTS day ON xp_event TYPE string;
DEFINE FIELD IF NOT EXISTS occurred_at ON xp_event TYPE datetime;
DEFINE FIELD IF NOT EXISTS config_version ON xp_event TYPE int;
DEFINE FIELD IF NOT EXISTS rule ON xp_event TYPE string;
DEFINE FIELD IF NOT EXISTS source ON xp_event TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS job_id ON xp_event TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_at ON xp_event TYPE datetime DEFAULT time::now() READONLY;
DEFINE INDEX IF NOT EXISTS xp_event_key ON xp_event FIELDS user_id, idempotency_key UNIQUE;
DEFINE INDEX IF NOT EXISTS xp_event_day ON xp_event FIELDS day;

DEFINE TABLE IF NOT EXISTS badge_award SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON badge_award TYPE string;
DEFINE FIELD IF NOT EXISTS code ON badge_award TYPE string;
DEFINE FIELD IF NOT EXISTS awarded_at ON badge_award TYPE datetime;
DEFINE FIELD IF NOT EXISTS entry_id ON badge_award TYPE option<string>;
DEFINE FIELD IF NOT EXISTS entry_version ON badge_award TYPE option<int>;
DEFINE FIELD IF NOT EXISTS config_version ON badge_award TYPE int;
DEFINE FIELD IF NOT EXISTS revoked_at ON badge_award TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS revoked_by ON badge_award TYPE option<string>;
DEFINE FIELD IF NOT EXISTS revoke_reason ON badge_award TYPE option<string>;
DEFINE INDEX IF NOT EXISTS badge_award_user ON badge_award FIELDS user_id;

DEFINE TABLE IF NOT EXISTS challenge_history SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON challenge_history TYPE string;
DEFINE FIELD IF NOT EXISTS week_start ON challenge_history TYPE string;
DEFINE FIELD IF NOT EXISTS challenge ON challenge_history TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS result ON challenge_history TYPE any;
DEFINE INDEX IF NOT EXISTS challenge_history_user ON challenge_history FIELDS user_id, week_start;

DEFINE TABLE IF NOT EXISTS reward_evaluation SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON reward_evaluation TYPE string;
DEFINE FIELD IF NOT EXISTS entry_id ON reward_evaluation TYPE string;
DEFINE FIELD IF NOT EXISTS entry_version ON reward_evaluation TYPE int;
DEFINE FIELD IF NOT EXISTS config_version ON reward_evaluation TYPE int;
DEFINE FIELD IF NOT EXISTS job_id ON reward_evaluation TYPE option<string>;
DEFINE FIELD IF NOT EXISTS outcome ON reward_evaluation TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS evaluated_at ON reward_evaluation TYPE datetime DEFAULT time::now();
"#,
    },
    Migration {
        version: 5,
        name: "llm_usage",
        sql: r#"
-- Tokens used per calendar month (UTC), keyed `YYYY-MM`: the monthly LLM quota.
DEFINE TABLE IF NOT EXISTS llm_usage SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS prompt_tokens ON llm_usage TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS completion_tokens ON llm_usage TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS calls ON llm_usage TYPE int DEFAULT 0;
"#,
    },
    Migration {
        version: 6,
        name: "skills_reports_resume",
        sql: r#"
DEFINE TABLE IF NOT EXISTS skill SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user_id ON skill TYPE string;
DEFINE FIELD IF NOT EXISTS name ON skill TYPE string;
DEFINE FIELD IF NOT EXISTS category ON skill TYPE string;
DEFINE FIELD IF NOT EXISTS level ON skill TYPE option<string>;
DEFINE FIELD IF NOT EXISTS confidence ON skill TYPE number DEFAULT 0;
DEFINE FIELD IF NOT EXISTS status ON skill TYPE string ASSERT $value IN ['suggested', 'confirmed', 'rejected'];
DEFINE FIELD IF NOT EXISTS keys ON skill TYPE array<string> DEFAULT [];
DEFINE FIELD IF NOT EXISTS evidence_count ON skill TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS created_at ON skill TYPE datetime DEFAULT time::now() READONLY;
DEFINE FIELD IF NOT EXISTS updated_at ON skill TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS skill_user ON skill FIELDS user_id;
DEFINE INDEX IF NOT EXISTS skill_keys ON skill FIELDS keys;

DEFINE TABLE IF NOT EXISTS skill_evidence SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS skill_id ON skill_evidence TYPE string;
DEFINE FIELD IF NOT EXISTS entry_id ON skill_evidence TYPE string;
DEFINE FIELD IF NOT EXISTS quote ON skill_evidence TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON skill_evidence TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS skill_evidence_skill ON skill_evidence FIELDS skill_id;
DEFINE INDEX IF NOT EXISTS skill_evidence_entry ON skill_evidence FIELDS entry_id;

DEFINE TABLE IF NOT EXISTS report SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS author_id ON report TYPE string;
DEFINE FIELD IF NOT EXISTS kind ON report TYPE string ASSERT $value IN ['status', 'standup', 'weekly', 'custom'];
DEFINE FIELD IF NOT EXISTS period_from ON report TYPE string;
DEFINE FIELD IF NOT EXISTS period_to ON report TYPE string;
DEFINE FIELD IF NOT EXISTS audience ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS instructions ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS status ON report TYPE string DEFAULT 'pending';
DEFINE FIELD IF NOT EXISTS title ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS markdown ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS citations ON report TYPE array<string> DEFAULT [];
DEFINE FIELD IF NOT EXISTS citation_report ON report TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS job_id ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS error ON report TYPE option<string>;
DEFINE FIELD IF NOT EXISTS created_at ON report TYPE datetime DEFAULT time::now() READONLY;
DEFINE FIELD IF NOT EXISTS updated_at ON report TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS report_author ON report FIELDS author_id;

DEFINE TABLE IF NOT EXISTS resume SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS generated ON resume TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS manual ON resume TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS job_id ON resume TYPE option<string>;
DEFINE FIELD IF NOT EXISTS refreshed_at ON resume TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS updated_at ON resume TYPE datetime DEFAULT time::now();
"#,
    },
    Migration {
        version: 7,
        name: "worklog_search_text",
        // One full-text index over a computed field instead of three OR-ed ones (see
        // `store::worklogs::where_clause`). The UPDATE recomputes the field for existing
        // entries; `updated_at` is untouched because only an explicit SET changes it.
        sql: r#"
DEFINE FIELD IF NOT EXISTS search_text ON worklog TYPE string
    VALUE string::join(' ', title, title, content, outcome ?? '');
DEFINE INDEX IF NOT EXISTS worklog_ft_search ON worklog FIELDS search_text FULLTEXT ANALYZER worklog_text BM25;
UPDATE worklog SET search_text = '';
REMOVE INDEX IF EXISTS worklog_ft_title ON worklog;
REMOVE INDEX IF EXISTS worklog_ft_content ON worklog;
REMOVE INDEX IF EXISTS worklog_ft_outcome ON worklog;
"#,
    },
    Migration {
        version: 8,
        name: "worklog_tags_per_element",
        // The query planner uses an index on `tags` (the whole array) for none of
        // `CONTAINS`, `CONTAINSANY` or `IN`: a tag filter read the whole table. Indexed
        // per element (`tags.*`), a tag's count is an index-only count and a tag with a
        // date range intersects the two indexes.
        sql: r#"
REMOVE INDEX IF EXISTS worklog_tags ON worklog;
DEFINE INDEX IF NOT EXISTS worklog_tag ON worklog FIELDS tags.*;
"#,
    },
    Migration {
        version: 9,
        name: "worklog_count",
        // The unfiltered total of every first page: `SELECT count() FROM worklog GROUP
        // ALL` sums this index's per-write deltas instead of counting every key, and
        // concurrent creates don't conflict on it (each writes its own delta).
        sql: r#"
DEFINE INDEX IF NOT EXISTS worklog_count ON worklog COUNT;
"#,
    },
    Migration {
        version: 10,
        name: "worklog_listing_indexes",
        // Keyset pages on one key (`sort_key` = `date|id`), read through compound
        // indexes whose pinned first column makes a scan stop at the page's LIMIT
        // (`store::worklogs::Prefix` says why `listed` exists). They replace the
        // single-column date, tag and project indexes the listings used. The UPDATE
        // computes the two new fields for existing entries (`updated_at` is untouched:
        // only an explicit SET changes it).
        sql: r#"
DEFINE FIELD IF NOT EXISTS listed ON worklog TYPE bool VALUE true;
DEFINE FIELD IF NOT EXISTS sort_key ON worklog TYPE string VALUE date + '|' + record::id(id);
UPDATE worklog SET listed = true RETURN NONE;
DEFINE INDEX IF NOT EXISTS worklog_list ON worklog FIELDS listed, sort_key;
DEFINE INDEX IF NOT EXISTS worklog_tag_list ON worklog FIELDS tags.*, sort_key;
DEFINE INDEX IF NOT EXISTS worklog_author_list ON worklog FIELDS author_id, sort_key;
DEFINE INDEX IF NOT EXISTS worklog_project_list ON worklog FIELDS project, sort_key;
REMOVE INDEX IF EXISTS worklog_date ON worklog;
REMOVE INDEX IF EXISTS worklog_tag ON worklog;
REMOVE INDEX IF EXISTS worklog_project ON worklog;
"#,
    },
    Migration {
        version: 11,
        name: "worklog_date_without_regex",
        // SurrealDB keeps field definitions as text and compiles them again whenever a
        // statement touches the table: the `/^\d{4}-\d{2}-\d{2}$/` assertion cost a
        // regex compilation (~0.3 ms, two thirds of a point lookup) on every query of
        // `worklog`. The cast checks the same, and rejects impossible days as well.
        sql: r#"
DEFINE FIELD OVERWRITE date ON worklog TYPE string
    ASSERT time::format(<datetime> ($value + 'T00:00:00Z'), '%Y-%m-%d') = $value;
"#,
    },
    Migration {
        version: 12,
        name: "rewards_seen_and_xp_by_day",
        // When the user last saw their unlocks (badges, challenges shown once), and the
        // index for one user's XP per day.
        sql: r#"
DEFINE FIELD IF NOT EXISTS rewards_seen_at ON gamification_user TYPE option<datetime>;
DEFINE INDEX IF NOT EXISTS xp_event_user_day ON xp_event FIELDS user_id, day;
"#,
    },
    Migration {
        version: 13,
        name: "report_versions",
        // A report's draft as sections of bullets (who wrote each, what it cites), its
        // version number and last edit; every version kept, to compare and restore.
        sql: r#"
DEFINE FIELD IF NOT EXISTS draft ON report TYPE option<object> FLEXIBLE;
DEFINE FIELD IF NOT EXISTS version ON report TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS edited_at ON report TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS edited_by ON report TYPE option<string>;

DEFINE TABLE IF NOT EXISTS report_version SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS report_id ON report_version TYPE string;
DEFINE FIELD IF NOT EXISTS version ON report_version TYPE int;
DEFINE FIELD IF NOT EXISTS draft ON report_version TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS title ON report_version TYPE string;
DEFINE FIELD IF NOT EXISTS markdown ON report_version TYPE string;
DEFINE FIELD IF NOT EXISTS by ON report_version TYPE string ASSERT $value IN ['model', 'user'];
DEFINE FIELD IF NOT EXISTS user_id ON report_version TYPE option<string>;
DEFINE FIELD IF NOT EXISTS note ON report_version TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON report_version TYPE datetime DEFAULT time::now() READONLY;
DEFINE INDEX IF NOT EXISTS report_version_key ON report_version FIELDS report_id, version UNIQUE;
"#,
    },
];

#[derive(serde::Deserialize)]
struct Applied {
    version: u32,
}

/// Applies every migration of `list` not yet recorded in `db`.
pub async fn apply(db: &Db, list: &[Migration]) -> anyhow::Result<()> {
    db.query(
        "DEFINE TABLE IF NOT EXISTS migration SCHEMAFULL;
         DEFINE FIELD IF NOT EXISTS version ON migration TYPE int;
         DEFINE FIELD IF NOT EXISTS name ON migration TYPE string;
         DEFINE FIELD IF NOT EXISTS applied_at ON migration TYPE datetime DEFAULT time::now();",
        serde_json::json!({}),
    )
    .await?;
    let applied: Vec<Applied> = db
        .query("SELECT version FROM migration;", serde_json::json!({}))
        .await?
        .take(0)?;
    for m in list {
        if applied.iter().any(|a| a.version == m.version) {
            continue;
        }
        let sql = format!(
            "BEGIN TRANSACTION;\n{}\nCREATE type::record('migration', $version) CONTENT {{ version: $version, name: $name }};\nCOMMIT TRANSACTION;",
            m.sql
        );
        match db
            .query(
                &sql,
                serde_json::json!({"version": m.version, "name": m.name}),
            )
            .await
        {
            Ok(_) => tracing::info!(version = m.version, name = m.name, "migration applied"),
            // Another process (or a concurrent first use) recorded it first.
            Err(StoreError::Unique(_)) | Err(StoreError::Conflict(_)) => {}
            Err(e) => anyhow::bail!("migration {} ({}) failed: {e}", m.version, m.name),
        }
    }
    Ok(())
}
