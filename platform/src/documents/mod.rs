//! Document rendering: reports (Markdown) and resumes (JSON Resume) to Markdown, HTML,
//! PDF and DOCX, in pure Rust with no external programs, fonts or network access.
//!
//! Entry points:
//! - reports: [`report_html`], [`report_pdf`], [`report_markdown`];
//! - resumes: [`resume_markdown`], [`resume_html`], [`resume_pdf`], [`resume_docx`];
//! - building blocks: [`markdown_to_html`], [`page_html`], [`standalone_html`], [`PRINT_CSS`].
//!
//! Every string that reaches these functions is treated as untrusted. HTML output is
//! built to be served from the application's origin under
//! `default-src 'self'; script-src 'self'; style-src 'self'`: raw HTML in Markdown is
//! shown as text, only `http(s)`/`mailto`/`#fragment` links survive, images are dropped,
//! and no `style` attribute or `<style>` element is emitted unless the caller asks for a
//! standalone download ([`CssMode::Embedded`]), which is meant to be opened from disk.
//!
//! Serving (for the export endpoints and the share page):
//! - serve [`PRINT_CSS`] at a fixed same-origin path such as `/assets/documents.css`
//!   (`text/css; charset=utf-8`) and pass that path as `CssMode::Linked(..)` for any page
//!   the app shows in the browser (the public share page);
//! - `format=html` downloads use `CssMode::Embedded` and `Content-Disposition: attachment`;
//! - media types: HTML `text/html; charset=utf-8`, Markdown `text/markdown; charset=utf-8`,
//!   PDF `application/pdf`, DOCX [`DOCX_MIME`].
//!
//! The PDF uses the base-14 fonts (no font files, nothing embedded); characters outside
//! Windows-1252 are approximated or shown as `?` in the PDF only (see `winansi`).

mod docx;
mod html;
mod markdown;
mod model;
mod pdf;
mod report;
mod resume;
mod winansi;

#[cfg(test)]
mod tests;

pub use html::{escape_html, page_html, standalone_html, CssMode, SafeHtml, PRINT_CSS};
pub use markdown::markdown_to_html;
pub use report::{report_html, report_markdown, report_pdf, ReportKind, ReportMeta};
pub use resume::{
    apply_template, resume_docx, resume_html, resume_html_as, resume_markdown, resume_pdf,
    resume_shared_html, ResumeTemplate,
};

/// Media type of the DOCX bytes returned by [`resume_docx`].
pub const DOCX_MIME: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Upper bound on the pages of one PDF, so a huge input fails fast instead of eating memory.
pub const MAX_PDF_PAGES: usize = 500;

/// Why a binary document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The laid-out document would exceed [`MAX_PDF_PAGES`].
    #[error("document too long: more than {max} pages")]
    TooLong {
        /// The page limit that was hit.
        max: usize,
    },
    /// Writing the DOCX (ZIP) package failed.
    #[error("could not write the DOCX package: {0}")]
    Package(String),
}
