//! PDF writer: a small layout engine over `pdf-writer` for the block model.
//!
//! A4 pages, 20 mm side margins, Helvetica family for text and Courier for code, all
//! base-14 fonts (nothing embedded; see `winansi` for the Unicode mapping). Text is
//! measured with the fonts' AFM widths and wrapped greedily at spaces; words longer than
//! a line are split. Headings and entry titles are kept with the lines that follow them.
//! Every page gets a footer with the document title and "page N of M". Links become
//! link annotations. Content streams are Flate-compressed; text stays real text.

use std::io::Write;

use chrono::{DateTime, Datelike, Timelike, Utc};
use pdf_writer::types::{ActionType, AnnotationType};
use pdf_writer::{Content, Date, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::model::{Block, Document, Inline, Marker};
use super::winansi::{encode, encode_char, Face};
use super::{DocError, MAX_PDF_PAGES};

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 56.7;
const MARGIN_TOP: f32 = 56.7;
/// Bottom of the text area; the footer sits below it.
const MARGIN_BOTTOM: f32 = 62.0;
const FOOTER_BASELINE: f32 = 32.0;
const TEXT_W: f32 = PAGE_W - 2.0 * MARGIN_X;

const BODY: TextStyle = TextStyle {
    size: 10.5,
    leading: 14.5,
    gray: 0.1,
    bold: false,
    italic: false,
};
const LIST_INDENT: f32 = 16.0;
/// Colour of linked text (same blue as the HTML stylesheet).
const LINK_RGB: (f32, f32, f32) = (0.043, 0.361, 0.678);
/// Gap between an entry title and its right-aligned dates.
const ASIDE_GAP: f32 = 12.0;

/// Size, line height, colour and base weight of a block's text.
#[derive(Clone, Copy)]
struct TextStyle {
    size: f32,
    leading: f32,
    /// 0 = black, 1 = white.
    gray: f32,
    bold: bool,
    italic: bool,
}

/// Lays out `doc` and writes it as PDF bytes.
pub(crate) fn render(doc: &Document, created: Option<DateTime<Utc>>) -> Result<Vec<u8>, DocError> {
    let mut layout = Layout::new();
    for (i, block) in doc.blocks.iter().enumerate() {
        layout.block(block, doc.blocks.get(i + 1));
        if layout.overflow {
            return Err(DocError::TooLong { max: MAX_PDF_PAGES });
        }
    }
    let mut pages = layout.finish();
    let total = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        footer(page, &doc.title, i + 1, total);
    }
    Ok(write(&pages, doc, created))
}

// ---------------------------------------------------------------------------------------
// Page content
// ---------------------------------------------------------------------------------------

/// A piece of text in one face at a position.
struct TextRun {
    x: f32,
    baseline: f32,
    face: Face,
    size: f32,
    gray: f32,
    /// Linked text is drawn in the link colour instead of `gray`.
    link: bool,
    bytes: Vec<u8>,
}

struct Stroke {
    from: (f32, f32),
    to: (f32, f32),
    width: f32,
    gray: f32,
}

struct Fill {
    rect: (f32, f32, f32, f32),
    gray: f32,
}

struct LinkArea {
    rect: (f32, f32, f32, f32),
    url: String,
}

#[derive(Default)]
struct Page {
    /// Text grouped by line, so each line is one text object (extractors see line breaks).
    lines: Vec<Vec<TextRun>>,
    strokes: Vec<Stroke>,
    fills: Vec<Fill>,
    links: Vec<LinkArea>,
}

// ---------------------------------------------------------------------------------------
// Words and line breaking
// ---------------------------------------------------------------------------------------

/// Encoded text in one face, optionally linked.
#[derive(Clone)]
struct Segment {
    face: Face,
    bytes: Vec<u8>,
    link: Option<String>,
}

/// Text between break opportunities; may mix faces ("**bold**," is one word).
#[derive(Clone, Default)]
struct Word {
    segments: Vec<Segment>,
    space_before: bool,
    break_after: bool,
}

impl Word {
    fn width(&self, size: f32) -> f32 {
        self.segments
            .iter()
            .map(|s| s.face.width(&s.bytes, size))
            .sum()
    }

    fn push(&mut self, face: Face, link: &Option<String>, bytes: &[u8]) {
        match self.segments.last_mut() {
            Some(last) if last.face == face && last.link == *link => {
                last.bytes.extend_from_slice(bytes)
            }
            _ => self.segments.push(Segment {
                face,
                bytes: bytes.to_vec(),
                link: link.clone(),
            }),
        }
    }

    fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.bytes.is_empty())
    }

    fn first_face(&self) -> Face {
        self.segments.first().map_or(Face::Regular, |s| s.face)
    }
}

/// Splits inlines into words; spaces are break opportunities, `\n` forces a break.
fn words(inlines: &[Inline], style: TextStyle) -> Vec<Word> {
    let mut out = Vec::new();
    let mut word = Word::default();
    let mut buf = Vec::with_capacity(4);
    for inline in inlines {
        let face = Face::for_style(
            style.bold || inline.bold,
            style.italic || inline.italic,
            inline.code,
        );
        for c in inline.text.chars() {
            if c == '\n' {
                word.break_after = true;
                out.push(std::mem::take(&mut word));
            } else if c.is_whitespace() && !matches!(c, '\u{A0}' | '\u{202F}' | '\u{2007}') {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                word.space_before = true;
            } else {
                buf.clear();
                encode_char(c, &mut buf);
                if !buf.is_empty() {
                    word.push(face, &inline.link, &buf);
                }
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Cuts a word wider than `max` into pieces that fit (at least one byte each).
fn split_word(word: Word, max: f32, size: f32) -> Vec<Word> {
    let mut pieces = Vec::new();
    let mut current = Word {
        space_before: word.space_before,
        ..Word::default()
    };
    let mut width = 0.0;
    for segment in word.segments {
        for &byte in &segment.bytes {
            let w = segment.face.width(&[byte], size);
            if width + w > max && !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
                width = 0.0;
            }
            current.push(segment.face, &segment.link, &[byte]);
            width += w;
        }
    }
    current.break_after = word.break_after;
    pieces.push(current);
    pieces
}

/// One laid-out line: words with whether a space precedes each.
struct Line {
    words: Vec<(bool, Word)>,
}

/// Greedy line breaking of `words` into lines at most `max` points wide.
fn break_lines(words: Vec<Word>, max: f32, size: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current: Vec<(bool, Word)> = Vec::new();
    let mut width = 0.0;
    for word in words {
        let pieces = if word.width(size) > max {
            split_word(word, max, size)
        } else {
            vec![word]
        };
        for piece in pieces {
            let piece_w = piece.width(size);
            let space = piece.space_before && !current.is_empty();
            let space_w = if space {
                piece.first_face().width(b" ", size)
            } else {
                0.0
            };
            if !current.is_empty() && width + space_w + piece_w > max {
                lines.push(Line {
                    words: std::mem::take(&mut current),
                });
                width = 0.0;
            }
            let space = piece.space_before && !current.is_empty();
            width += piece_w + if space { space_w } else { 0.0 };
            let hard_break = piece.break_after;
            current.push((space, piece));
            if hard_break {
                lines.push(Line {
                    words: std::mem::take(&mut current),
                });
                width = 0.0;
            }
        }
    }
    if !current.is_empty() {
        lines.push(Line { words: current });
    }
    lines
}

// ---------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------

struct Layout {
    done: Vec<Page>,
    page: Page,
    /// Top of the free space on the current page (PDF coordinates grow upwards).
    y: f32,
    /// Nothing placed on this page yet: vertical gaps are skipped here.
    at_top: bool,
    /// The page limit was reached; the caller stops and reports an error.
    overflow: bool,
}

impl Layout {
    fn new() -> Self {
        Layout {
            done: Vec::new(),
            page: Page::default(),
            y: PAGE_H - MARGIN_TOP,
            at_top: true,
            overflow: false,
        }
    }

    fn finish(mut self) -> Vec<Page> {
        self.done.push(self.page);
        self.done
    }

    fn new_page(&mut self) {
        if self.done.len() + 1 >= MAX_PDF_PAGES {
            // Keep drawing over the last page; the caller sees `overflow` and bails out.
            self.overflow = true;
        } else {
            self.done.push(std::mem::take(&mut self.page));
        }
        self.y = PAGE_H - MARGIN_TOP;
        self.at_top = true;
    }

    /// Vertical gap, dropped at the top of a page.
    fn gap(&mut self, points: f32) {
        if !self.at_top {
            self.y -= points;
        }
    }

    /// Starts a new page unless `height` still fits on this one.
    fn ensure(&mut self, height: f32) {
        if !self.at_top && self.y - height < MARGIN_BOTTOM {
            self.new_page();
        }
    }

    /// Short blocks (up to three lines) move to the next page whole instead of leaving
    /// a lone line behind; longer ones may split.
    fn keep_together(&mut self, lines: usize, style: TextStyle) {
        if lines <= 3 {
            self.ensure(lines as f32 * style.leading);
        }
    }

    /// Reserves one line of `style` and returns its baseline.
    fn next_line(&mut self, style: TextStyle) -> f32 {
        self.ensure(style.leading);
        let baseline = self.y - (style.leading * 0.5 + style.size * 0.35);
        self.y -= style.leading;
        self.at_top = false;
        baseline
    }

    fn block(&mut self, block: &Block, next: Option<&Block>) {
        match block {
            Block::Title(text) => {
                let style = TextStyle {
                    size: 22.0,
                    leading: 27.0,
                    gray: 0.0,
                    bold: true,
                    italic: false,
                };
                self.paragraph(&[Inline::plain(text.as_str())], style, MARGIN_X, TEXT_W);
                self.gap(3.0);
            }
            Block::Subtitle(text) => {
                let style = TextStyle {
                    size: 12.5,
                    leading: 16.0,
                    gray: 0.25,
                    ..BODY
                };
                self.paragraph(&[Inline::plain(text.as_str())], style, MARGIN_X, TEXT_W);
                self.gap(3.0);
            }
            Block::Meta(inlines) => {
                let style = TextStyle {
                    size: 9.0,
                    leading: 12.5,
                    gray: 0.35,
                    ..BODY
                };
                self.paragraph(inlines, style, MARGIN_X, TEXT_W);
                self.gap(8.0);
            }
            Block::Heading { level, inlines } => self.heading(*level, inlines),
            Block::Entry { title, aside } => self.entry(title, aside),
            Block::Paragraph(inlines) => {
                self.paragraph(inlines, BODY, MARGIN_X, TEXT_W);
                self.gap(6.0);
            }
            Block::Item {
                depth,
                marker,
                inlines,
            } => {
                self.item(usize::from(*depth), *marker, inlines);
                let list_continues = matches!(next, Some(Block::Item { .. }));
                self.gap(if list_continues { 2.0 } else { 8.0 });
            }
            Block::Code(text) => {
                self.code(text);
                self.gap(6.0);
            }
            Block::Quote(inlines) => {
                let style = TextStyle {
                    gray: 0.3,
                    italic: true,
                    ..BODY
                };
                let top = self.y;
                let first_page = self.done.len();
                self.paragraph(inlines, style, MARGIN_X + 12.0, TEXT_W - 12.0);
                // The bar only spans the part on this page when the quote broke across pages.
                let bar_top = if self.done.len() == first_page {
                    top
                } else {
                    PAGE_H - MARGIN_TOP
                };
                self.page.strokes.push(Stroke {
                    from: (MARGIN_X + 3.0, bar_top - 2.0),
                    to: (MARGIN_X + 3.0, self.y + 2.0),
                    width: 2.0,
                    gray: 0.8,
                });
                self.gap(6.0);
            }
            Block::Rule => {
                self.gap(4.0);
                self.ensure(8.0);
                self.at_top = false;
                self.page.strokes.push(Stroke {
                    from: (MARGIN_X, self.y - 4.0),
                    to: (PAGE_W - MARGIN_X, self.y - 4.0),
                    width: 0.6,
                    gray: 0.75,
                });
                self.y -= 8.0;
                self.gap(4.0);
            }
        }
    }

    fn heading(&mut self, level: u8, inlines: &[Inline]) {
        let (size, before, after) = match level {
            0 | 1 => (16.0, 16.0, 6.0),
            2 => (13.0, 14.0, 6.0),
            3 => (11.5, 10.0, 3.0),
            _ => (10.5, 8.0, 2.0),
        };
        let style = TextStyle {
            size,
            leading: size * 1.3,
            gray: 0.05,
            bold: true,
            italic: false,
        };
        self.gap(before);
        // Keep the heading with at least two lines of what follows.
        self.ensure(style.leading + 2.0 * BODY.leading + after);
        self.paragraph(inlines, style, MARGIN_X, TEXT_W);
        if level <= 2 {
            self.page.strokes.push(Stroke {
                from: (MARGIN_X, self.y - 1.0),
                to: (PAGE_W - MARGIN_X, self.y - 1.0),
                width: 0.5,
                gray: 0.8,
            });
            self.y -= 2.0;
        }
        self.gap(after);
    }

    /// Entry title on the left, dates right-aligned on its first line.
    fn entry(&mut self, title: &[Inline], aside: &str) {
        let style = TextStyle {
            size: 11.0,
            leading: 14.5,
            gray: 0.05,
            bold: true,
            italic: false,
        };
        let aside_style = TextStyle {
            size: 9.5,
            gray: 0.35,
            bold: false,
            ..style
        };
        let aside_bytes = encode(aside);
        let aside_w = Face::Regular.width(&aside_bytes, aside_style.size);
        // Long dates get at most half the line; the title wraps in what is left.
        let aside_w = aside_w.min(TEXT_W / 2.0);
        let title_w = if aside_bytes.is_empty() {
            TEXT_W
        } else {
            TEXT_W - aside_w - ASIDE_GAP
        };
        self.gap(9.0);
        self.ensure(style.leading + 2.0 * BODY.leading);
        let lines = break_lines(words(title, style), title_w, style.size);
        if lines.is_empty() && !aside_bytes.is_empty() {
            let baseline = self.next_line(style);
            self.aside(&aside_bytes, aside_style, baseline);
        }
        for (i, line) in lines.into_iter().enumerate() {
            let baseline = self.next_line(style);
            self.draw_line(line, style, MARGIN_X, baseline);
            if i == 0 && !aside_bytes.is_empty() {
                self.aside(&aside_bytes, aside_style, baseline);
            }
        }
        self.gap(2.0);
    }

    fn aside(&mut self, bytes: &[u8], style: TextStyle, baseline: f32) {
        let bytes = fit(bytes.to_vec(), Face::Regular, style.size, TEXT_W / 2.0);
        let w = Face::Regular.width(&bytes, style.size);
        self.page.lines.push(vec![TextRun {
            x: PAGE_W - MARGIN_X - w,
            baseline,
            face: Face::Regular,
            size: style.size,
            gray: style.gray,
            link: false,
            bytes,
        }]);
    }

    fn item(&mut self, depth: usize, marker: Marker, inlines: &[Inline]) {
        let indent = LIST_INDENT * (depth.min(6) as f32 + 1.0);
        let left = MARGIN_X + indent;
        let lines = break_lines(words(inlines, BODY), TEXT_W - indent, BODY.size);
        self.keep_together(lines.len(), BODY);
        for (i, line) in lines.into_iter().enumerate() {
            if self.overflow {
                return;
            }
            let baseline = self.next_line(BODY);
            if i == 0 {
                let (bytes, x) = match marker {
                    // WinAnsi 0x95 is the bullet glyph; depth > 0 uses an en dash.
                    Marker::Bullet if depth == 0 => (vec![0x95], left - 10.0),
                    Marker::Bullet => (vec![0x96], left - 10.0),
                    Marker::Number(n) => {
                        let bytes = format!("{n}.").into_bytes();
                        let w = Face::Regular.width(&bytes, BODY.size);
                        (bytes, left - 4.0 - w)
                    }
                    Marker::Continuation => (Vec::new(), left),
                };
                if !bytes.is_empty() {
                    self.page.lines.push(vec![TextRun {
                        x,
                        baseline,
                        face: Face::Regular,
                        size: BODY.size,
                        gray: BODY.gray,
                        link: false,
                        bytes,
                    }]);
                }
            }
            self.draw_line(line, BODY, left, baseline);
        }
    }

    /// Preformatted text in Courier on a light background; long lines wrap by character.
    fn code(&mut self, text: &str) {
        let style = TextStyle {
            size: 8.5,
            leading: 11.0,
            gray: 0.15,
            bold: false,
            italic: false,
        };
        let pad = 6.0;
        let max = TEXT_W - 2.0 * pad;
        let source_lines: Vec<&str> = text.split('\n').collect();
        let last_line = source_lines.len().saturating_sub(1);
        for (line_no, source_line) in source_lines.into_iter().enumerate() {
            let mut bytes = Vec::new();
            for c in source_line.chars() {
                match c {
                    // Tabs expand to four spaces so indentation survives.
                    '\t' => bytes.extend_from_slice(b"    "),
                    c => encode_char(c, &mut bytes),
                }
            }
            let per_line = ((max / (0.6 * style.size)).floor() as usize).max(1);
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[]]
            } else {
                bytes.chunks(per_line).collect()
            };
            let last_chunk = chunks.len().saturating_sub(1);
            for (chunk_no, chunk) in chunks.into_iter().enumerate() {
                if self.overflow {
                    return;
                }
                let first = line_no == 0 && chunk_no == 0;
                let last = line_no == last_line && chunk_no == last_chunk;
                // The first and last lines get a little padding inside the background.
                if first {
                    self.ensure(style.leading + 3.0);
                    self.y -= 3.0;
                }
                let baseline = self.next_line(style);
                let top_pad = if first { 3.0 } else { 0.0 };
                let bottom_pad = if last { 3.0 } else { 0.0 };
                self.page.fills.push(Fill {
                    rect: (
                        MARGIN_X,
                        self.y - bottom_pad,
                        TEXT_W,
                        style.leading + top_pad + bottom_pad,
                    ),
                    gray: 0.95,
                });
                self.y -= bottom_pad;
                if !chunk.is_empty() {
                    self.page.lines.push(vec![TextRun {
                        x: MARGIN_X + pad,
                        baseline,
                        face: Face::Mono,
                        size: style.size,
                        gray: style.gray,
                        link: false,
                        bytes: chunk.to_vec(),
                    }]);
                }
            }
        }
    }

    fn paragraph(&mut self, inlines: &[Inline], style: TextStyle, left: f32, width: f32) {
        let lines = break_lines(words(inlines, style), width, style.size);
        self.keep_together(lines.len(), style);
        for line in lines {
            if self.overflow {
                return;
            }
            let baseline = self.next_line(style);
            self.draw_line(line, style, left, baseline);
        }
    }

    /// Places one line's words as runs (one per face/link change) and records link areas.
    fn draw_line(&mut self, line: Line, style: TextStyle, left: f32, baseline: f32) {
        let mut runs: Vec<TextRun> = Vec::new();
        let mut x = left;
        for (space, word) in line.words {
            for (i, segment) in word.segments.into_iter().enumerate() {
                let leading_space = space && i == 0;
                let space_w = if leading_space {
                    segment.face.width(b" ", style.size)
                } else {
                    0.0
                };
                let seg_w = segment.face.width(&segment.bytes, style.size);
                if let Some(url) = &segment.link {
                    self.page.links.push(LinkArea {
                        rect: (
                            x + space_w,
                            baseline - style.size * 0.25,
                            x + space_w + seg_w,
                            baseline + style.size * 0.8,
                        ),
                        url: url.clone(),
                    });
                }
                let linked = segment.link.is_some();
                match runs.last_mut() {
                    // Same face and colour: extend the run; the space byte keeps words
                    // apart for text extraction and copy-paste.
                    Some(run) if run.face == segment.face && run.link == linked => {
                        if leading_space {
                            run.bytes.push(b' ');
                        }
                        run.bytes.extend_from_slice(&segment.bytes);
                    }
                    _ => {
                        let mut bytes = Vec::with_capacity(segment.bytes.len() + 1);
                        if leading_space {
                            bytes.push(b' ');
                        }
                        bytes.extend_from_slice(&segment.bytes);
                        runs.push(TextRun {
                            x,
                            baseline,
                            face: segment.face,
                            size: style.size,
                            gray: style.gray,
                            link: linked,
                            bytes,
                        });
                    }
                }
                x += space_w + seg_w;
            }
        }
        if !runs.is_empty() {
            self.page.lines.push(runs);
        }
    }
}

/// Truncates encoded text with an ellipsis so it fits in `max` points.
fn fit(mut bytes: Vec<u8>, face: Face, size: f32, max: f32) -> Vec<u8> {
    if face.width(&bytes, size) <= max {
        return bytes;
    }
    let ellipsis = face.width(&[0x85], size);
    while !bytes.is_empty() && face.width(&bytes, size) + ellipsis > max {
        bytes.pop();
    }
    bytes.push(0x85);
    bytes
}

/// Footer: document title on the left, "page N of M" on the right.
fn footer(page: &mut Page, title: &str, number: usize, total: usize) {
    let size = 8.0;
    let gray = 0.45;
    let label = format!("page {number} of {total}").into_bytes();
    let label_w = Face::Regular.width(&label, size);
    page.lines.push(vec![TextRun {
        x: PAGE_W - MARGIN_X - label_w,
        baseline: FOOTER_BASELINE,
        face: Face::Regular,
        size,
        gray,
        link: false,
        bytes: label,
    }]);
    let title = fit(encode(title), Face::Regular, size, TEXT_W - label_w - 24.0);
    if !title.is_empty() {
        page.lines.push(vec![TextRun {
            x: MARGIN_X,
            baseline: FOOTER_BASELINE,
            face: Face::Regular,
            size,
            gray,
            link: false,
            bytes: title,
        }]);
    }
}

// ---------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------

/// Sequential object ids; pdf-writer panics on a reused id, so ids come only from here.
struct Ids(i32);

impl Ids {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

fn write(pages: &[Page], doc: &Document, created: Option<DateTime<Utc>>) -> Vec<u8> {
    let mut ids = Ids(0);
    let catalog_id = ids.next();
    let tree_id = ids.next();
    let info_id = ids.next();
    let fonts: Vec<(Face, Ref)> = Face::ALL.iter().map(|f| (*f, ids.next())).collect();
    let page_ids: Vec<(Ref, Ref, Vec<Ref>)> = pages
        .iter()
        .map(|p| {
            let page = ids.next();
            let content = ids.next();
            let annotations = p.links.iter().map(|_| ids.next()).collect();
            (page, content, annotations)
        })
        .collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _, _)| *page))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));

    for (page, (page_id, content_id, annotation_ids)) in pages.iter().zip(&page_ids) {
        let mut writer = pdf.page(*page_id);
        writer
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree_id)
            .contents(*content_id);
        {
            let mut resources = writer.resources();
            let mut font_dict = resources.fonts();
            for (face, id) in &fonts {
                font_dict.pair(Name(face.resource()), *id);
            }
        }
        if !annotation_ids.is_empty() {
            writer.annotations(annotation_ids.iter().copied());
        }
        writer.finish();

        let content = page_content(page);
        match deflate(&content) {
            Some(compressed) => {
                pdf.stream(*content_id, &compressed)
                    .filter(Filter::FlateDecode);
            }
            None => {
                pdf.stream(*content_id, &content);
            }
        }

        for (link, id) in page.links.iter().zip(annotation_ids) {
            let (x1, y1, x2, y2) = link.rect;
            let mut annotation = pdf.annotation(*id);
            annotation
                .subtype(AnnotationType::Link)
                .rect(Rect::new(x1, y1, x2, y2))
                .border(0.0, 0.0, 0.0, None);
            annotation
                .action()
                .action_type(ActionType::Uri)
                .uri(Str(link.url.as_bytes()));
        }
    }

    for (face, id) in &fonts {
        pdf.type1_font(*id)
            .base_font(Name(face.base_font()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }

    let mut info = pdf.document_info(info_id);
    info.title(TextStr(&doc.title))
        .author(TextStr(&doc.author))
        .creator(TextStr("AfterResume"))
        .producer(TextStr("AfterResume documents"));
    if let Some(at) = created {
        info.creation_date(pdf_date(at));
    }
    info.finish();
    pdf.finish()
}

fn page_content(page: &Page) -> Vec<u8> {
    let mut content = Content::new();
    for fill in &page.fills {
        let (x, y, w, h) = fill.rect;
        content.set_fill_gray(fill.gray);
        content.rect(x, y, w, h);
        content.fill_nonzero();
    }
    for stroke in &page.strokes {
        content.set_stroke_gray(stroke.gray);
        content.set_line_width(stroke.width);
        content.move_to(stroke.from.0, stroke.from.1);
        content.line_to(stroke.to.0, stroke.to.1);
        content.stroke();
    }
    for line in &page.lines {
        content.begin_text();
        for run in line {
            content.set_font(Name(run.face.resource()), run.size);
            if run.link {
                content.set_fill_rgb(LINK_RGB.0, LINK_RGB.1, LINK_RGB.2);
            } else {
                content.set_fill_gray(run.gray);
            }
            content.set_text_matrix([1.0, 0.0, 0.0, 1.0, run.x, run.baseline]);
            content.show(Str(&run.bytes));
        }
        content.end_text();
    }
    content.finish().to_vec()
}

/// Zlib-compresses a content stream; `None` falls back to an uncompressed stream.
fn deflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::default(),
    );
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

fn pdf_date(at: DateTime<Utc>) -> Date {
    // PDF dates carry a 16-bit year; anything outside 0..=9999 is not worth recording.
    let year = u16::try_from(at.year().clamp(0, 9999)).unwrap_or(1970);
    Date::new(year)
        .month(at.month() as u8)
        .day(at.day() as u8)
        .hour(at.hour() as u8)
        .minute(at.minute() as u8)
        .second(at.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_width(line: &Line, size: f32) -> f32 {
        line.words
            .iter()
            .map(|(space, word)| {
                let space_w = if *space {
                    word.first_face().width(b" ", size)
                } else {
                    0.0
                };
                space_w + word.width(size)
            })
            .sum()
    }

    #[test]
    fn lines_never_exceed_the_measure() {
        let text = "Cut median deploy time from 42 min to 6 min by replacing the bespoke CI \
                    with a cached, hermetic pipeline; WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW \
                    iiiiiiiiiiiiii and a supercalifragilisticexpialidocious-but-very-long-token";
        let inlines = [Inline::plain(text), Inline::bold(" bold tail")];
        for max in [40.0, 120.0, 300.0, TEXT_W] {
            let lines = break_lines(words(&inlines, BODY), max, BODY.size);
            assert!(lines.len() > 1);
            for line in &lines {
                assert!(
                    line_width(line, BODY.size) <= max + 0.01,
                    "line wider than {max}"
                );
            }
        }
    }

    #[test]
    fn measuring_uses_font_metrics() {
        // "iiii" is much narrower than "WWWW" in Helvetica; a character count would not know.
        let narrow = Face::Regular.width(b"iiii", 10.0);
        let wide = Face::Regular.width(b"WWWW", 10.0);
        assert!((narrow - 8.88).abs() < 0.01);
        assert!((wide - 37.76).abs() < 0.01);
        assert!(Face::Bold.width(b"a", 10.0) > 0.0);
        assert!((Face::Mono.width(b"iW", 10.0) - 12.0).abs() < 0.01);
    }

    #[test]
    fn hard_breaks_and_spaces_are_kept_apart() {
        let lines = break_lines(
            words(&[Inline::plain("one two\nthree")], BODY),
            TEXT_W,
            BODY.size,
        );
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].words.len(), 2);
        assert!(!lines[0].words[0].0 && lines[0].words[1].0);
    }
}
