//! Record ids: UUIDv7 strings, time-ordered, so `ORDER BY id DESC` is newest first and
//! an id is a stable pagination cursor. The rule lives outside the store because the
//! API checks ids (paths, filters, cursors) before anything reaches the store.

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The form every id takes: a hyphenated UUID (what [`new_id`] makes).
pub const ID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Whether `s` has the form of [`ID_PATTERN`] (the other UUID spellings do not).
pub fn is_id(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}
