//! Markdown → sanitised HTML, and Markdown → the block model used by the PDF writer.
//!
//! Parsing is CommonMark plus GFM tables, strikethrough and footnotes. The event stream
//! is sanitised once, before either writer sees it:
//! - raw HTML (blocks and inline tags) becomes text, so it is shown escaped, never run;
//! - links keep their target only when it passes the link policy
//!   (`http(s)`, `mailto`, `#fragment`); otherwise the link text stays as plain text;
//! - images are dropped and their alt text kept as plain text: a remote image would be
//!   blocked by the CSP anyway and could track readers of a shared page;
//! - table column alignment is discarded because the HTML renderer would emit it as an
//!   inline `style` attribute, which `style-src 'self'` forbids.
//!
//! Footnotes (`text[^entry-12]` … `[^entry-12]: 2024-03-04 — Fixed the flaky build`) are
//! the citation syntax: each reference renders as `[1]`, numbered in order of first use,
//! and the definitions are collected into a numbered "Sources" list at the end.

use std::collections::HashMap;

use pulldown_cmark::{
    html, Alignment, CowStr, Event, Options, Parser, Tag, TagEnd, TextMergeStream,
};

use super::html::{anchor_open, safe_link_target, SafeHtml};
use super::model::{Block, Inline, Marker};

/// Renders untrusted Markdown as a sanitised HTML fragment (see the module docs).
pub fn markdown_to_html(markdown: &str) -> SafeHtml {
    let parsed = Parsed::new(markdown);
    let mut events: Vec<Event<'_>> = Vec::with_capacity(parsed.body.len() + 16);
    push_html_events(&mut events, &parsed.body, &parsed.numbers);
    if !parsed.sources.is_empty() {
        events.push(Event::Html(CowStr::Borrowed(
            "<section class=\"sources\">\n<h2>Sources</h2>\n<ol>\n",
        )));
        for (index, source) in parsed.sources.iter().enumerate() {
            let n = index + 1;
            events.push(Event::Html(format!("<li id=\"source-{n}\">").into()));
            push_html_events(&mut events, source, &parsed.numbers);
            events.push(Event::Html(CowStr::Borrowed("</li>\n")));
        }
        events.push(Event::Html(CowStr::Borrowed("</ol>\n</section>\n")));
    }
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    SafeHtml::from_trusted(out)
}

/// Converts the sanitised stream to what `push_html` should print.
///
/// Links and citations are written as markup here (so the `rel` attribute and the
/// numbering are ours); every `Event::Html` in the result was produced by this module,
/// because user HTML was already turned into text by [`Parsed::new`].
fn push_html_events<'a>(
    out: &mut Vec<Event<'a>>,
    events: &[Event<'a>],
    numbers: &HashMap<String, usize>,
) {
    for event in events {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) => {
                let mut tag = String::new();
                anchor_open(&mut tag, dest_url);
                out.push(Event::Html(tag.into()));
            }
            Event::End(TagEnd::Link) => out.push(Event::Html(CowStr::Borrowed("</a>"))),
            Event::FootnoteReference(label) => {
                let cite = match numbers.get(&footnote_key(label)) {
                    Some(n) => {
                        format!("<sup class=\"cite\"><a href=\"#source-{n}\">[{n}]</a></sup>")
                    }
                    None => format!("[^{}]", super::html::escape_html(label)),
                };
                out.push(Event::InlineHtml(cite.into()));
            }
            other => out.push(other.clone()),
        }
    }
}

/// Sanitised Markdown events with footnotes pulled out as numbered sources.
pub(crate) struct Parsed<'a> {
    /// The document without footnote definitions.
    pub body: Vec<Event<'a>>,
    /// Footnote definitions in citation order: `sources[0]` is `[1]`.
    pub sources: Vec<Vec<Event<'a>>>,
    /// Footnote label (normalised) → citation number.
    pub numbers: HashMap<String, usize>,
}

impl<'a> Parsed<'a> {
    /// Parses and sanitises `markdown` (see the module docs for the rules).
    pub fn new(markdown: &'a str) -> Self {
        let options =
            Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH;
        let mut body = Vec::new();
        let mut definitions: Vec<(String, Vec<Event<'a>>)> = Vec::new();
        // Depth of footnote definitions we are inside; events there go to the definition.
        let mut definition_depth = 0usize;
        // One entry per open link: whether its Start was kept, so its End matches.
        let mut links: Vec<bool> = Vec::new();

        for event in TextMergeStream::new(Parser::new_ext(markdown, options)) {
            let event = match event {
                Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
                Event::InlineMath(text) | Event::DisplayMath(text) => Event::Code(text),
                Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
                Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }) => match safe_link_target(&dest_url) {
                    Some(_) => {
                        links.push(true);
                        Event::Start(Tag::Link {
                            link_type,
                            dest_url,
                            title,
                            id,
                        })
                    }
                    None => {
                        links.push(false);
                        continue;
                    }
                },
                Event::End(TagEnd::Link) => {
                    if links.pop().unwrap_or(false) {
                        Event::End(TagEnd::Link)
                    } else {
                        continue;
                    }
                }
                Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => continue,
                Event::Start(Tag::Table(alignments)) => {
                    Event::Start(Tag::Table(vec![Alignment::None; alignments.len()]))
                }
                Event::Start(Tag::FootnoteDefinition(label)) => {
                    if definition_depth == 0 {
                        definitions.push((footnote_key(&label), Vec::new()));
                    }
                    definition_depth += 1;
                    continue;
                }
                Event::End(TagEnd::FootnoteDefinition) => {
                    definition_depth = definition_depth.saturating_sub(1);
                    continue;
                }
                other => other,
            };
            match definitions.last_mut() {
                Some((_, events)) if definition_depth > 0 => events.push(event),
                _ => body.push(event),
            }
        }

        let (sources, numbers) = number_sources(&body, definitions);
        Parsed {
            body,
            sources,
            numbers,
        }
    }
}

/// Footnote labels match case-insensitively, as in GFM.
fn footnote_key(label: &str) -> String {
    label.to_lowercase()
}

/// Numbers footnote definitions by first citation (body first, then citations inside
/// sources), then appends uncited definitions in the order they were written.
fn number_sources<'a>(
    body: &[Event<'a>],
    definitions: Vec<(String, Vec<Event<'a>>)>,
) -> (Vec<Vec<Event<'a>>>, HashMap<String, usize>) {
    let mut by_label: HashMap<String, Vec<Event<'a>>> = HashMap::new();
    let mut written_order = Vec::new();
    for (label, events) in definitions {
        // A repeated label keeps its first definition, like most Markdown renderers.
        if let std::collections::hash_map::Entry::Vacant(slot) = by_label.entry(label.clone()) {
            written_order.push(label);
            slot.insert(events);
        }
    }

    let mut order: Vec<String> = Vec::new();
    let mut numbers: HashMap<String, usize> = HashMap::new();
    let mut cite = |label: &str, order: &mut Vec<String>| {
        let key = footnote_key(label);
        if by_label.contains_key(&key) && !numbers.contains_key(&key) {
            order.push(key.clone());
            numbers.insert(key, order.len());
        }
    };
    for event in body {
        if let Event::FootnoteReference(label) = event {
            cite(label, &mut order);
        }
    }
    // Sources may cite other sources; walk them in order until no new label appears.
    let mut next = 0;
    while next < order.len() {
        let nested: Vec<String> = by_label
            .get(&order[next])
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| match e {
                        Event::FootnoteReference(label) => Some(label.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for label in nested {
            cite(&label, &mut order);
        }
        next += 1;
    }
    for label in written_order {
        cite(&label, &mut order);
    }
    let sources = order
        .iter()
        .map(|label| by_label.remove(label).unwrap_or_default())
        .collect();
    (sources, numbers)
}

/// Converts sanitised Markdown to blocks for the PDF writer, sources last.
pub(crate) fn to_blocks(parsed: &Parsed<'_>) -> Vec<Block> {
    let mut builder = BlockBuilder::new(&parsed.numbers);
    for event in &parsed.body {
        builder.event(event);
    }
    builder.flush();
    if !parsed.sources.is_empty() {
        builder.blocks.push(Block::Heading {
            level: 2,
            inlines: vec![Inline::plain("Sources")],
        });
        for (index, source) in parsed.sources.iter().enumerate() {
            // Each source is one numbered item; its paragraphs become continuations.
            builder.reset_nesting();
            builder.lists.push(Some(index as u64 + 1));
            builder.item_fresh = true;
            for event in source {
                builder.event(event);
            }
            builder.flush();
        }
        builder.reset_nesting();
    }
    builder.blocks
}

/// What the inline buffer will become when it is flushed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pending {
    Text,
    Heading(u8),
}

/// Walks Markdown events and emits blocks; a small state machine over nesting.
struct BlockBuilder<'n> {
    numbers: &'n HashMap<String, usize>,
    blocks: Vec<Block>,
    inlines: Vec<Inline>,
    pending: Pending,
    bold: u32,
    italic: u32,
    links: Vec<String>,
    /// Open lists, innermost last: `Some(next number)` for ordered lists.
    lists: Vec<Option<u64>>,
    /// The current list item has not produced its marker line yet.
    item_fresh: bool,
    quote: u32,
    code: Option<String>,
    /// Cells of the table row being read; `None` outside tables.
    row: Option<Vec<Vec<Inline>>>,
    in_table_head: bool,
}

impl<'n> BlockBuilder<'n> {
    fn new(numbers: &'n HashMap<String, usize>) -> Self {
        BlockBuilder {
            numbers,
            blocks: Vec::new(),
            inlines: Vec::new(),
            pending: Pending::Text,
            bold: 0,
            italic: 0,
            links: Vec::new(),
            lists: Vec::new(),
            item_fresh: false,
            quote: 0,
            code: None,
            row: None,
            in_table_head: false,
        }
    }

    /// Forgets list/quote nesting between independent event sequences.
    fn reset_nesting(&mut self) {
        self.flush();
        self.lists.clear();
        self.item_fresh = false;
        self.quote = 0;
        self.bold = 0;
        self.italic = 0;
        self.links.clear();
    }

    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(*tag),
            Event::Text(text) => match &mut self.code {
                Some(code) => code.push_str(text),
                None => self.text(text, false),
            },
            Event::Code(text) => self.text(text, true),
            Event::SoftBreak => self.text(" ", false),
            Event::HardBreak => self.text("\n", false),
            Event::Rule => {
                self.flush();
                self.blocks.push(Block::Rule);
            }
            Event::FootnoteReference(label) => {
                let cite = match self.numbers.get(&footnote_key(label)) {
                    Some(n) => format!("[{n}]"),
                    None => format!("[^{label}]"),
                };
                self.text(&cite, false);
            }
            Event::TaskListMarker(done) => self.text(if *done { "[x] " } else { "[ ] " }, false),
            // Sanitisation turned these into text already; kept for completeness.
            Event::Html(text) | Event::InlineHtml(text) => self.text(text, false),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(text, true),
        }
    }

    fn start(&mut self, tag: &Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => {
                if !self.in_cell() {
                    self.flush();
                }
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.pending = Pending::Heading(*level as u8);
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.quote += 1;
            }
            Tag::CodeBlock(_) => {
                // The fence's info string (language) is not content, so it is not kept.
                self.flush();
                self.code = Some(String::new());
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(*start);
            }
            Tag::Item => {
                self.flush();
                self.item_fresh = true;
            }
            Tag::Table(_) => {
                self.flush();
                self.row = Some(Vec::new());
            }
            Tag::TableHead => {
                self.in_table_head = true;
                self.row = Some(Vec::new());
            }
            Tag::TableRow => self.row = Some(Vec::new()),
            Tag::TableCell => self.inlines.clear(),
            Tag::Emphasis => self.italic += 1,
            Tag::Strong => self.bold += 1,
            Tag::Link { dest_url, .. } => self.links.push(dest_url.to_string()),
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Image { .. }
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock => {
                if !self.in_cell() {
                    self.flush();
                }
            }
            TagEnd::Heading(_) => self.flush(),
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.quote = self.quote.saturating_sub(1);
            }
            TagEnd::CodeBlock => {
                if let Some(code) = self.code.take() {
                    let code = code.trim_end_matches('\n').to_owned();
                    self.blocks.push(Block::Code(code));
                }
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.item_fresh = false;
            }
            TagEnd::Item => {
                self.flush();
                self.item_fresh = false;
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inlines);
                if let Some(row) = &mut self.row {
                    row.push(cell);
                }
            }
            TagEnd::TableHead | TagEnd::TableRow => {
                let cells = self.row.replace(Vec::new()).unwrap_or_default();
                self.push_row(cells);
                self.in_table_head = false;
            }
            TagEnd::Table => self.row = None,
            TagEnd::Emphasis => self.italic = self.italic.saturating_sub(1),
            TagEnd::Strong => self.bold = self.bold.saturating_sub(1),
            TagEnd::Link => {
                self.links.pop();
            }
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Image
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    fn in_cell(&self) -> bool {
        self.row.is_some()
    }

    /// A table row becomes one line with cells separated by a vertical bar.
    fn push_row(&mut self, cells: Vec<Vec<Inline>>) {
        let mut line = Vec::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if i > 0 {
                line.push(Inline::plain("  |  "));
            }
            for mut inline in cell {
                inline.bold |= self.in_table_head;
                line.push(inline);
            }
        }
        if !line.is_empty() {
            self.blocks.push(Block::Paragraph(line));
        }
    }

    fn text(&mut self, text: &str, code: bool) {
        if text.is_empty() {
            return;
        }
        let inline = Inline {
            text: text.to_owned(),
            bold: self.bold > 0 || matches!(self.pending, Pending::Heading(_)),
            italic: self.italic > 0,
            code,
            link: self.links.last().cloned(),
        };
        // Merge with the previous run when the style matches, to keep runs few.
        if let Some(last) = self.inlines.last_mut() {
            if last.bold == inline.bold
                && last.italic == inline.italic
                && last.code == inline.code
                && last.link == inline.link
            {
                last.text.push_str(&inline.text);
                return;
            }
        }
        self.inlines.push(inline);
    }

    /// Turns the inline buffer into a block according to the current nesting.
    fn flush(&mut self) {
        let pending = std::mem::replace(&mut self.pending, Pending::Text);
        if self.inlines.iter().all(|i| i.text.trim().is_empty()) {
            self.inlines.clear();
            return;
        }
        let inlines = std::mem::take(&mut self.inlines);
        let block = if let Pending::Heading(level) = pending {
            Block::Heading { level, inlines }
        } else if !self.lists.is_empty() {
            let depth = u8::try_from(self.lists.len() - 1).unwrap_or(u8::MAX);
            let list = self.lists.last_mut();
            let marker = if std::mem::take(&mut self.item_fresh) {
                match list {
                    Some(Some(n)) => {
                        let marker = Marker::Number(*n);
                        *n = n.saturating_add(1);
                        marker
                    }
                    _ => Marker::Bullet,
                }
            } else {
                Marker::Continuation
            };
            Block::Item {
                depth,
                marker,
                inlines,
            }
        } else if self.quote > 0 {
            Block::Quote(inlines)
        } else {
            Block::Paragraph(inlines)
        };
        self.blocks.push(block);
    }
}
