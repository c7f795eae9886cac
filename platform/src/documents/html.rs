//! HTML page templates, escaping, the link policy and the print stylesheet.
//!
//! Two ways to get the stylesheet into a page:
//! - [`CssMode::Linked`] / [`page_html`]: `<link rel="stylesheet" href=...>` pointing at
//!   [`PRINT_CSS`] served by the platform from its own origin. The page then contains no
//!   `style` attribute and no `<style>` element, so it renders under the app's CSP
//!   `default-src 'self'; script-src 'self'; style-src 'self'` (inline styles are blocked
//!   by `style-src 'self'`). Use this for anything served by the app, e.g. the share page.
//! - [`CssMode::Embedded`] / [`standalone_html`]: the stylesheet inside a `<style>` element,
//!   for downloads opened from disk where no server (and no CSP header) is involved. Such
//!   files carry their own `<meta http-equiv="Content-Security-Policy">` that forbids
//!   scripts and remote loads while allowing that one inline stylesheet. Do not serve
//!   them inline from the app's origin; send them as `Content-Disposition: attachment`.

use std::fmt;

/// The print-friendly stylesheet for every page this module renders.
///
/// Serve it from the app's own origin (for example at `/assets/documents.css`, with
/// `Content-Type: text/css`) and pass that path to [`page_html`] / [`CssMode::Linked`].
pub const PRINT_CSS: &str = r#"/* AfterResume documents: screen and print (A4). */
@page { size: A4; margin: 18mm 18mm 20mm; }
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #fff; color: #1f2328;
  font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif;
  font-size: 11pt; line-height: 1.5;
}
.doc { max-width: 52rem; margin: 0 auto; padding: 2.5rem 1.5rem 3rem; }
.doc-compact { font-size: 10pt; line-height: 1.35; padding-top: 1.5rem; }
.doc-compact h2 { margin-top: 0.9em; }
.doc-header { margin-bottom: 1.5rem; }
.doc-title { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .25rem; }
.doc-subtitle { font-size: 1.15rem; color: #3d444d; margin: 0 0 .35rem; }
.doc-meta { font-size: .85rem; color: #59636e; margin: 0 0 .35rem; }
.doc-meta a { color: inherit; }
.doc-footer { margin-top: 2.5rem; padding-top: .5rem; border-top: 1px solid #d1d9e0;
  font-size: .8rem; color: #59636e; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.4em 0 .5em; }
h2 { font-size: 1.3rem; padding-bottom: .2em; border-bottom: 1px solid #d1d9e0; }
h3 { font-size: 1.08rem; }
h4, h5, h6 { font-size: 1rem; }
p, ul, ol, pre, blockquote, table { margin: 0 0 .8em; }
ul, ol { padding-left: 1.5em; }
li { margin: .15em 0; }
li > p { margin: 0 0 .3em; }
a { color: #0b5cad; overflow-wrap: anywhere; }
code, pre { font-family: "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .88em; }
code { background: #f3f4f6; border-radius: 4px; padding: .1em .3em; }
pre { background: #f6f8fa; border-radius: 6px; padding: .75em 1em;
  white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
blockquote { margin-left: 0; padding: 0 1em; color: #3d444d; border-left: 3px solid #d1d9e0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
hr { border: 0; border-top: 1px solid #d1d9e0; margin: 1.5em 0; }
.cite { font-size: .75em; line-height: 0; }
.cite a { text-decoration: none; }
.sources { margin-top: 2rem; font-size: .9rem; }
.sources li:target { background: #fff8c5; }
.entry-head { display: flex; flex-wrap: wrap; justify-content: space-between;
  align-items: baseline; column-gap: 1rem; margin: 1em 0 .3em; }
.entry-head h3 { margin: 0; }
.entry-dates { color: #59636e; font-size: .9rem; white-space: nowrap; }
@media print {
  body { font-size: 10.5pt; }
  .doc { max-width: none; padding: 0; }
  a { color: inherit; text-decoration: none; }
  h1, h2, h3, h4, .entry-head { break-after: avoid; page-break-after: avoid; }
  li, pre, blockquote, tr { break-inside: avoid; page-break-inside: avoid; }
  .doc-footer { display: none; }
}
"#;

/// How a rendered page gets its stylesheet; see the module docs for the CSP trade-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CssMode<'a> {
    /// Link to [`PRINT_CSS`] served at this same-origin path (CSP-safe, for served pages).
    Linked(&'a str),
    /// Embed [`PRINT_CSS`] in a `<style>` element (for downloads opened from disk).
    Embedded,
}

/// An HTML fragment produced by this module from escaped or sanitised input.
///
/// Only this module can create one, so a value of this type is safe to insert into a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SafeHtml(String);

impl SafeHtml {
    /// Wraps markup that this module built itself (all user text already escaped).
    pub(crate) fn from_trusted(html: String) -> Self {
        SafeHtml(html)
    }

    /// The markup as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes text for use in HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    push_escaped(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped for HTML content and quoted attributes.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL is a parse error in HTML; browsers replace it anyway.
            '\0' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
}

/// Returns the link target if it is allowed in rendered output, `None` otherwise.
///
/// Allowed: `http://`, `https://`, `mailto:` and same-page `#fragment` links. Everything
/// else (`javascript:`, `data:`, `vbscript:`, protocol-relative `//host`, relative paths
/// into the app) is refused. Targets containing whitespace or control characters are
/// refused outright because browsers strip those before reading the scheme, which is
/// the classic `java\tscript:` bypass.
pub(crate) fn safe_link_target(raw: &str) -> Option<&str> {
    let url = raw.trim_matches(|c: char| c == ' ' || c == '\u{A0}');
    if url.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    if url.starts_with('#') && url.len() > 1 {
        return Some(url);
    }
    // The scheme must be followed by something: a bare `https://` is not a useful link.
    let allowed = ["https://", "http://", "mailto:"].iter().any(|scheme| {
        url.len() > scheme.len()
            && url
                .get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    });
    allowed.then_some(url)
}

/// Opening `<a>` tag for an already-vetted target; user links never get referrer data.
pub(crate) fn anchor_open(out: &mut String, href: &str) {
    out.push_str("<a href=\"");
    push_escaped(out, href);
    if href.starts_with('#') {
        out.push_str("\">");
    } else {
        out.push_str("\" rel=\"nofollow noopener noreferrer\">");
    }
}

/// Wraps a trusted body fragment in a full page that links the stylesheet at `css_href`.
///
/// The result contains no inline styles or scripts; it is safe under
/// `default-src 'self'; script-src 'self'; style-src 'self'` when `css_href` is same-origin.
pub fn page_html(title: &str, body: &SafeHtml, css_href: &str) -> String {
    render_page(title, body, CssMode::Linked(css_href))
}

/// Wraps a trusted body fragment in a self-contained page with [`PRINT_CSS`] embedded.
///
/// For downloads opened from disk only; see the module docs.
pub fn standalone_html(title: &str, body: &SafeHtml) -> String {
    render_page(title, body, CssMode::Embedded)
}

/// Builds the full page for either stylesheet mode.
pub(crate) fn render_page(title: &str, body: &SafeHtml, css: CssMode<'_>) -> String {
    let mut out = String::with_capacity(body.as_str().len() + PRINT_CSS.len() + 512);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    match css {
        CssMode::Linked(href) => {
            out.push_str(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            );
            out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
            push_escaped(&mut out, title);
            out.push_str("</title>\n<link rel=\"stylesheet\" href=\"");
            push_escaped(&mut out, href);
            out.push_str("\">\n");
        }
        CssMode::Embedded => {
            // A file opened from disk has no CSP header, so it brings its own: no scripts,
            // no remote loads, only the one inline stylesheet below.
            out.push_str(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
                 style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n",
            );
            out.push_str(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
            );
            out.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
            push_escaped(&mut out, title);
            out.push_str("</title>\n<style>\n");
            out.push_str(PRINT_CSS);
            out.push_str("</style>\n");
        }
    }
    out.push_str("</head>\n<body>\n");
    out.push_str(body.as_str());
    out.push_str("\n</body>\n</html>\n");
    out
}
