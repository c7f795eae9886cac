//! Work-log entries: the pure domain rules.
//!
//! No I/O, no storage, no async: the API layer calls these functions and the store
//! persists what they return.
//!
//! - [`entry`]: [`EntryDraft`] → [`validate`] → [`ValidEntry`]; [`EntryPatch`] and
//!   [`apply_patch`] for PATCH; [`derive_title`]; the length and date limits.
//! - [`tags`]: tag normalisation and de-duplication.
//! - [`import`]: [`parse_import`] for JSON, CSV and Markdown into per-row results (the
//!   `dry_run` preview), [`import_key`] for de-duplication, [`plan_import`].
//! - [`export`]: [`Exporter`] writes JSON, CSV or Markdown as header / rows / footer so
//!   the response can be streamed.
//! - [`markdown`]: the Markdown dialect (documented there, with an example).
//! - [`mod@sniff`]: attachment type detection from bytes against [`ALLOWED_TYPES`], and safe
//!   download filenames.
//! - [`error`]: [`FieldError`] and its stable [`codes`].
//!
//! Every public function is deterministic; "today" is always passed in (the user's
//! calendar day in their time zone), never read from a clock.

// Every public item is part of the API the platform builds on; keep them documented.
#![warn(missing_docs)]

pub mod entry;
pub mod error;
pub mod export;
pub mod import;
pub mod markdown;
pub mod range;
pub mod sniff;
pub mod tags;

#[cfg(test)]
mod tests;

pub use entry::{apply_patch, derive_title, validate, EntryDraft, EntryPatch, ValidEntry};
pub use error::{codes, FieldError};
pub use export::{export_all, ExportEntry, ExportError, ExportFormat, Exporter};
pub use import::{
    author_import_key, import_key, parse_import, plan_import, stored_keys_of, ImportError,
    ImportFormat, ImportPlan, ImportRow, UnknownFormat,
};
pub use range::{DateRange, InvertedRange};
pub use sniff::{
    content_disposition, document_filename, download_filename, safe_filename, sniff, AllowedType,
    Rejected, Sniffed, ALLOWED_TYPES,
};
pub use tags::{normalise_tag, normalise_tags};
