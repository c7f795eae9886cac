//! A small block/inline document model shared by the PDF, DOCX, HTML and Markdown writers.
//!
//! Resumes are built straight into this model; reports reach it from Markdown (for the
//! PDF). Text in the model is plain (never markup); each writer escapes it for its format.

use super::html::{anchor_open, push_escaped, safe_link_target};

/// A run of text with one style.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inline {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub code: bool,
    /// Link target, always vetted by [`safe_link_target`] before it gets here.
    pub link: Option<String>,
}

impl Inline {
    /// Unstyled text.
    pub fn plain(text: impl Into<String>) -> Self {
        Inline {
            text: text.into(),
            ..Inline::default()
        }
    }

    /// Bold text.
    pub fn bold(text: impl Into<String>) -> Self {
        Inline {
            text: text.into(),
            bold: true,
            ..Inline::default()
        }
    }

    /// Text linked to `target` when the target passes the link policy, plain otherwise.
    pub fn linked(text: impl Into<String>, target: &str) -> Self {
        Inline {
            text: text.into(),
            link: safe_link_target(target).map(str::to_owned),
            ..Inline::default()
        }
    }
}

/// What starts a list item line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Marker {
    Bullet,
    Number(u64),
    /// A further paragraph of the previous item: indented, no marker.
    Continuation,
}

/// One block of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// Document title (the person's name on a resume).
    Title(String),
    /// Line under the title (the resume label).
    Subtitle(String),
    /// Small muted line: contact details, report period, keywords.
    Meta(Vec<Inline>),
    Heading {
        level: u8,
        inlines: Vec<Inline>,
    },
    /// Heading of a dated entry (job, degree, project) with the dates set apart.
    Entry {
        title: Vec<Inline>,
        aside: String,
    },
    Paragraph(Vec<Inline>),
    Item {
        depth: u8,
        marker: Marker,
        inlines: Vec<Inline>,
    },
    /// Preformatted text, line breaks kept.
    Code(String),
    Quote(Vec<Inline>),
    Rule,
}

/// A document ready for a writer: metadata plus blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Document {
    /// Metadata title (PDF Info / DOCX core properties).
    pub title: String,
    /// Metadata author.
    pub author: String,
    pub blocks: Vec<Block>,
}

/// Collapses runs of whitespace (newlines included) into single spaces and trims.
///
/// Control characters are dropped: they have no business in a document and some
/// (NUL, form feed) break XML or confuse viewers.
pub(crate) fn clean_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !c.is_control() {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Splits free text into paragraphs at blank lines, each cleaned with [`clean_line`].
pub(crate) fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            push_paragraph(&mut out, &current);
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    push_paragraph(&mut out, &current);
    out
}

fn push_paragraph(out: &mut Vec<String>, raw: &str) {
    let cleaned = clean_line(raw);
    if !cleaned.is_empty() {
        out.push(cleaned);
    }
}

// ---------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------

/// Renders blocks as an HTML fragment; every piece of text is escaped.
pub(crate) fn blocks_to_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut lists = ListStack::default();
    let mut in_header = false;
    for block in blocks {
        let header_block = matches!(block, Block::Title(_) | Block::Subtitle(_) | Block::Meta(_));
        if !matches!(block, Block::Item { .. }) {
            lists.close_all(&mut out);
        }
        if header_block && !in_header && matches!(block, Block::Title(_)) {
            out.push_str("<header class=\"doc-header\">\n");
            in_header = true;
        } else if in_header && !header_block {
            out.push_str("</header>\n");
            in_header = false;
        }
        match block {
            Block::Title(text) => wrap(&mut out, "<h1 class=\"doc-title\">", text, "</h1>\n"),
            Block::Subtitle(text) => {
                wrap(&mut out, "<p class=\"doc-subtitle\">", text, "</p>\n");
            }
            Block::Meta(inlines) => {
                out.push_str("<p class=\"doc-meta\">");
                push_inlines_html(&mut out, inlines);
                out.push_str("</p>\n");
            }
            Block::Heading { level, inlines } => {
                let level = (*level).clamp(2, 6);
                out.push_str(&format!("<h{level}>"));
                push_inlines_html(&mut out, inlines);
                out.push_str(&format!("</h{level}>\n"));
            }
            Block::Entry { title, aside } => {
                out.push_str("<div class=\"entry-head\"><h3>");
                push_inlines_html(&mut out, title);
                out.push_str("</h3>");
                if !aside.is_empty() {
                    wrap(&mut out, "<span class=\"entry-dates\">", aside, "</span>");
                }
                out.push_str("</div>\n");
            }
            Block::Paragraph(inlines) => {
                out.push_str("<p>");
                push_inlines_html(&mut out, inlines);
                out.push_str("</p>\n");
            }
            Block::Item {
                depth,
                marker,
                inlines,
            } => lists.item(&mut out, usize::from(*depth), *marker, inlines),
            Block::Code(text) => wrap(&mut out, "<pre><code>", text, "</code></pre>\n"),
            Block::Quote(inlines) => {
                out.push_str("<blockquote><p>");
                push_inlines_html(&mut out, inlines);
                out.push_str("</p></blockquote>\n");
            }
            Block::Rule => out.push_str("<hr>\n"),
        }
    }
    lists.close_all(&mut out);
    if in_header {
        out.push_str("</header>\n");
    }
    out
}

fn wrap(out: &mut String, open: &str, text: &str, close: &str) {
    out.push_str(open);
    push_escaped(out, text);
    out.push_str(close);
}

/// Open `<ul>`/`<ol>` elements while rendering consecutive list items.
#[derive(Default)]
struct ListStack {
    /// Closing tag of each open list, innermost last; every open list has an open `<li>`.
    open: Vec<&'static str>,
}

impl ListStack {
    fn item(&mut self, out: &mut String, depth: usize, marker: Marker, inlines: &[Inline]) {
        if marker == Marker::Continuation && !self.open.is_empty() {
            out.push_str("<p>");
            push_inlines_html(out, inlines);
            out.push_str("</p>");
            return;
        }
        while self.open.len() > depth + 1 {
            self.close_one(out);
        }
        if self.open.len() == depth + 1 {
            out.push_str("</li>\n");
        }
        while self.open.len() < depth + 1 {
            match marker {
                Marker::Number(n) => {
                    out.push_str(&format!("<ol start=\"{n}\">\n"));
                    self.open.push("</ol>\n");
                }
                _ => {
                    out.push_str("<ul>\n");
                    self.open.push("</ul>\n");
                }
            }
        }
        out.push_str("<li>");
        push_inlines_html(out, inlines);
    }

    fn close_one(&mut self, out: &mut String) {
        if let Some(close) = self.open.pop() {
            out.push_str("</li>\n");
            out.push_str(close);
        }
    }

    fn close_all(&mut self, out: &mut String) {
        while !self.open.is_empty() {
            self.close_one(out);
        }
    }
}

/// Appends inlines as escaped HTML with `<strong>`, `<em>`, `<code>` and vetted links.
pub(crate) fn push_inlines_html(out: &mut String, inlines: &[Inline]) {
    for inline in inlines {
        if let Some(href) = &inline.link {
            anchor_open(out, href);
        }
        if inline.bold {
            out.push_str("<strong>");
        }
        if inline.italic {
            out.push_str("<em>");
        }
        if inline.code {
            out.push_str("<code>");
        }
        let mut lines = inline.text.split('\n');
        if let Some(first) = lines.next() {
            push_escaped(out, first);
        }
        for line in lines {
            out.push_str("<br>");
            push_escaped(out, line);
        }
        if inline.code {
            out.push_str("</code>");
        }
        if inline.italic {
            out.push_str("</em>");
        }
        if inline.bold {
            out.push_str("</strong>");
        }
        if inline.link.is_some() {
            out.push_str("</a>");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------

/// Renders blocks as CommonMark; user text is escaped so it reads back as the same text.
pub(crate) fn blocks_to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut previous_was_item = false;
    for block in blocks {
        let is_item = matches!(block, Block::Item { .. });
        // Items of one list sit on consecutive lines; everything else is blank-line separated.
        let continues_list = is_item && previous_was_item;
        if !out.is_empty() && !continues_list {
            out.push('\n');
        }
        previous_was_item = is_item;
        match block {
            Block::Title(text) => {
                out.push_str("# ");
                out.push_str(&escape_markdown(text));
                out.push('\n');
            }
            Block::Subtitle(text) => {
                out.push_str("**");
                out.push_str(&escape_markdown(text));
                out.push_str("**\n");
            }
            Block::Meta(inlines) | Block::Paragraph(inlines) => {
                out.push_str(&line_start_safe(&inlines_to_markdown(inlines)));
                out.push('\n');
            }
            Block::Heading { level, inlines } => {
                let level = usize::from((*level).clamp(1, 6));
                out.push_str(&"#".repeat(level));
                out.push(' ');
                out.push_str(&heading_markdown(inlines));
                out.push('\n');
            }
            Block::Entry { title, aside } => {
                out.push_str("### ");
                out.push_str(&heading_markdown(title));
                out.push('\n');
                if !aside.is_empty() {
                    out.push('_');
                    out.push_str(&escape_markdown(aside));
                    out.push_str("_\n");
                }
            }
            Block::Item {
                depth,
                marker,
                inlines,
            } => {
                let indent = "  ".repeat(usize::from(*depth));
                out.push_str(&indent);
                match marker {
                    Marker::Bullet => out.push_str("- "),
                    Marker::Number(n) => out.push_str(&format!("{n}. ")),
                    Marker::Continuation => out.push_str("  "),
                }
                out.push_str(&line_start_safe(&inlines_to_markdown(inlines)));
                out.push('\n');
            }
            Block::Code(text) => {
                let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
                out.push_str(&format!("{fence}\n{text}\n{fence}\n"));
            }
            Block::Quote(inlines) => {
                out.push_str("> ");
                out.push_str(&inlines_to_markdown(inlines));
                out.push('\n');
            }
            Block::Rule => out.push_str("---\n"),
        }
    }
    out
}

/// Heading text as CommonMark: headings are bold already, so bold marks are dropped.
fn heading_markdown(inlines: &[Inline]) -> String {
    let plain: Vec<Inline> = inlines
        .iter()
        .map(|i| Inline {
            bold: false,
            ..i.clone()
        })
        .collect();
    inlines_to_markdown(&plain)
}

/// Inline content as CommonMark.
pub(crate) fn inlines_to_markdown(inlines: &[Inline]) -> String {
    let mut out = String::new();
    for inline in inlines {
        let body = if inline.code {
            code_span(&inline.text)
        } else {
            escape_markdown(&inline.text)
        };
        // Emphasis delimiters must hug the text, so surrounding spaces go outside them.
        let trimmed = body.trim();
        if trimmed.is_empty() {
            out.push_str(&body);
            continue;
        }
        let lead = &body[..body.len() - body.trim_start().len()];
        let trail = &body[body.trim_end().len()..];
        let mut core = trimmed.to_owned();
        if inline.italic {
            core = format!("_{core}_");
        }
        if inline.bold {
            core = format!("**{core}**");
        }
        if let Some(url) = &inline.link {
            core = format!("[{core}]({})", markdown_url(url));
        }
        out.push_str(lead);
        out.push_str(&core);
        out.push_str(trail);
    }
    out
}

/// Backslash-escapes the characters that could start Markdown or HTML syntax.
///
/// `#` is escaped only where it could open or close a heading (after whitespace or at
/// the start), and `&` only where it could start an entity, so "C#" and "R&D" stay tidy.
pub(crate) fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut previous: Option<char> = None;
    for (i, c) in text.char_indices() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '#' if previous.is_none_or(char::is_whitespace) => out.push_str("\\#"),
            '&' if looks_like_entity(&text[i + 1..]) => out.push_str("\\&"),
            '\n' => out.push_str("  \n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
        previous = Some(c);
    }
    out
}

/// True when `rest` (the text after an `&`) would make it an HTML entity like `&amp;`.
fn looks_like_entity(rest: &str) -> bool {
    let name_len = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '#')
        .count();
    name_len > 0 && rest[name_len..].starts_with(';')
}

/// Escapes a leading `-`, `+` or `1.` that would otherwise turn a paragraph into a list.
fn line_start_safe(text: &str) -> String {
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    let rest = &text[digits..];
    if digits > 0
        && (rest.starts_with(". ") || rest.starts_with(") ") || rest == "." || rest == ")")
    {
        return format!("{}\\{}", &text[..digits], rest);
    }
    if text.starts_with("- ") || text.starts_with("+ ") || text == "-" || text == "+" {
        return format!("\\{text}");
    }
    text.to_owned()
}

/// A code span whose fence is longer than any backtick run inside it.
fn code_span(text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('\n', " "))
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut best, mut current) = (0, 0);
    for c in text.chars() {
        current = if c == ch { current + 1 } else { 0 };
        best = best.max(current);
    }
    best
}

/// Percent-encodes the characters that would end a Markdown link destination early.
fn markdown_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '\\' => out.push_str("%5C"),
            c => out.push(c),
        }
    }
    out
}

/// English three-letter month name for 1–12.
pub(crate) fn month_abbr(month: u32) -> Option<&'static str> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let index = usize::try_from(month).ok()?.checked_sub(1)?;
    MONTHS.get(index).copied()
}
