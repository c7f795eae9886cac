//! DOCX writer (Office Open XML) for the block model, built with `docx-rs`.
//!
//! A4 with 2 cm margins; named paragraph styles (Title, Subtitle, heading 1–3, plus
//! Meta and Entry) so the document stays editable in Word/LibreOffice; bullets use a
//! real numbering definition; entry dates sit on a right-aligned tab stop; the footer
//! shows "page N of M" with PAGE/NUMPAGES fields. `docProps/core.xml` is written here
//! because docx-rs offers no public setter for the title and creator.

use std::io::Cursor;

use docx_rs::{
    AbstractNumbering, AlignmentType, BreakType, Docx, Footer, Hyperlink, HyperlinkType,
    IndentLevel, Level, LevelJc, LevelText, LineSpacing, NumPages, NumberFormat, Numbering,
    NumberingId, PageMargin, PageNum, Paragraph, Run, RunFonts, SpecialIndentType, Start, Style,
    StyleType, Tab, TabValueType,
};

use super::model::{Block, Document, Inline, Marker};
use super::DocError;

/// A4 in twentieths of a point.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
/// 2 cm.
const MARGIN: i32 = 1134;
const TEXT_W: usize = (PAGE_W as usize) - 2 * (MARGIN as usize);
/// Numbering id (and abstract numbering id) of the bullet list definition. Not 1:
/// docx-rs always writes a decimal definition with id 1 of its own.
const BULLETS: usize = 2;
const LIST_INDENT: i32 = 360;
const FONT: &str = "Calibri";
const MONO: &str = "Courier New";
const MUTED: &str = "59636E";
const LINK: &str = "0B5CAD";

/// Writes `doc` as DOCX bytes.
pub(crate) fn render(doc: &Document) -> Result<Vec<u8>, DocError> {
    let mut docx = Docx::new()
        .page_size(PAGE_W, PAGE_H)
        .page_margin(
            PageMargin::new()
                .top(MARGIN)
                .bottom(MARGIN)
                .left(MARGIN)
                .right(MARGIN)
                .header(567)
                .footer(567),
        )
        .default_fonts(RunFonts::new().ascii(FONT).hi_ansi(FONT).cs(FONT))
        // Sizes are in half-points: 10.5 pt body text.
        .default_size(21)
        .default_line_spacing(LineSpacing::new().after(80))
        .add_abstract_numbering(bullet_levels())
        .add_numbering(Numbering::new(BULLETS, BULLETS))
        .footer(footer());
    for style in styles() {
        docx = docx.add_style(style);
    }
    for block in &doc.blocks {
        docx = docx.add_paragraph(paragraph(block));
    }

    let mut xml = docx.build();
    xml.doc_props.core = core_properties(&doc.title, &doc.author).into_bytes();
    let mut out = Cursor::new(Vec::new());
    xml.pack(&mut out)
        .map_err(|e| DocError::Package(e.to_string()))?;
    Ok(out.into_inner())
}

fn styles() -> Vec<Style> {
    let paragraph = |id: &str, name: &str| Style::new(id, StyleType::Paragraph).name(name);
    vec![
        paragraph("Title", "Title")
            .size(48)
            .bold()
            .color("111111")
            .line_spacing(LineSpacing::new().after(40)),
        paragraph("Subtitle", "Subtitle")
            .size(26)
            .color("3D444D")
            .line_spacing(LineSpacing::new().after(40)),
        paragraph("Meta", "Meta")
            .size(18)
            .color(MUTED)
            .line_spacing(LineSpacing::new().after(160)),
        paragraph("Heading1", "heading 1")
            .size(28)
            .bold()
            .color("1F2328")
            .outline_lvl(0)
            .line_spacing(LineSpacing::new().before(280).after(80)),
        paragraph("Heading2", "heading 2")
            .size(23)
            .bold()
            .outline_lvl(1)
            .line_spacing(LineSpacing::new().before(200).after(60)),
        paragraph("Heading3", "heading 3")
            .size(21)
            .bold()
            .outline_lvl(2)
            .line_spacing(LineSpacing::new().before(160).after(40)),
        paragraph("Footer", "footer").size(16).color(MUTED),
        paragraph("Entry", "Entry")
            .size(22)
            .bold()
            .line_spacing(LineSpacing::new().before(200).after(40)),
    ]
}

/// Nine bullet levels, each indented a further quarter inch.
fn bullet_levels() -> AbstractNumbering {
    let symbols = ["•", "◦", "▪"];
    let mut numbering = AbstractNumbering::new(BULLETS);
    for level in 0..9usize {
        let left = LIST_INDENT * (level as i32 + 1);
        numbering = numbering.add_level(
            Level::new(
                level,
                Start::new(1),
                NumberFormat::new("bullet"),
                LevelText::new(symbols[level % symbols.len()]),
                LevelJc::new("left"),
            )
            .indent(
                Some(left),
                Some(SpecialIndentType::Hanging(270)),
                None,
                None,
            ),
        );
    }
    numbering
}

fn footer() -> Footer {
    // Size and colour come from the Footer style so the field runs inherit them too.
    Footer::new().add_paragraph(
        Paragraph::new()
            .style("Footer")
            .align(AlignmentType::Right)
            .add_run(Run::new().add_text("page "))
            .add_page_num(PageNum::new())
            .add_run(Run::new().add_text(" of "))
            .add_num_pages(NumPages::new()),
    )
}

fn paragraph(block: &Block) -> Paragraph {
    match block {
        Block::Title(text) => Paragraph::new()
            .style("Title")
            .add_run(Run::new().add_text(xml_text(text))),
        Block::Subtitle(text) => Paragraph::new()
            .style("Subtitle")
            .add_run(Run::new().add_text(xml_text(text))),
        Block::Meta(inlines) => with_inlines(Paragraph::new().style("Meta"), inlines),
        Block::Heading { level, inlines } => {
            let style = match level {
                0..=2 => "Heading1",
                3 => "Heading2",
                _ => "Heading3",
            };
            with_inlines(Paragraph::new().style(style).keep_next(true), inlines)
        }
        Block::Entry { title, aside } => {
            let mut p = with_inlines(
                Paragraph::new()
                    .style("Entry")
                    .keep_next(true)
                    .add_tab(Tab::new().val(TabValueType::Right).pos(TEXT_W)),
                title,
            );
            if !aside.is_empty() {
                p = p.add_run(
                    Run::new()
                        .add_tab()
                        .add_text(xml_text(aside))
                        .disable_bold()
                        .size(19)
                        .color(MUTED),
                );
            }
            p
        }
        Block::Paragraph(inlines) => with_inlines(Paragraph::new(), inlines),
        Block::Item {
            depth,
            marker,
            inlines,
        } => {
            let depth = usize::from(*depth).min(8);
            let left = LIST_INDENT * (depth as i32 + 1);
            match marker {
                Marker::Bullet => with_inlines(
                    Paragraph::new().numbering(NumberingId::new(BULLETS), IndentLevel::new(depth)),
                    inlines,
                ),
                // Numbers are written out so the source's numbering is kept exactly.
                Marker::Number(n) => with_inlines(
                    Paragraph::new()
                        .indent(
                            Some(left),
                            Some(SpecialIndentType::Hanging(360)),
                            None,
                            None,
                        )
                        .add_run(Run::new().add_text(format!("{n}.")).add_tab()),
                    inlines,
                ),
                Marker::Continuation => with_inlines(
                    Paragraph::new().indent(Some(left), None, None, None),
                    inlines,
                ),
            }
        }
        Block::Code(text) => {
            let mut run = Run::new()
                .fonts(RunFonts::new().ascii(MONO).hi_ansi(MONO).cs(MONO))
                .size(18);
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    run = run.add_break(BreakType::TextWrapping);
                }
                run = run.add_text(xml_text(line));
            }
            Paragraph::new().add_run(run)
        }
        Block::Quote(inlines) => with_inlines(
            Paragraph::new()
                .indent(Some(567), None, None, None)
                .italic(),
            inlines,
        ),
        Block::Rule => Paragraph::new(),
    }
}

fn with_inlines(mut paragraph: Paragraph, inlines: &[Inline]) -> Paragraph {
    for inline in inlines {
        let run = run(inline);
        paragraph = match &inline.link {
            Some(url) => paragraph.add_hyperlink(
                Hyperlink::new(xml_text(url), HyperlinkType::External)
                    .add_run(run.color(LINK).underline("single")),
            ),
            None => paragraph.add_run(run),
        };
    }
    paragraph
}

fn run(inline: &Inline) -> Run {
    let mut run = Run::new();
    for (i, line) in inline.text.split('\n').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(xml_text(line));
    }
    if inline.bold {
        run = run.bold();
    }
    if inline.italic {
        run = run.italic();
    }
    if inline.code {
        run = run.fonts(RunFonts::new().ascii(MONO).hi_ansi(MONO).cs(MONO));
    }
    run
}

/// Drops characters that XML 1.0 forbids (docx-rs escapes markup but keeps these).
fn xml_text(text: &str) -> String {
    text.chars().filter(|&c| xml_allowed(c)).collect()
}

fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `docProps/core.xml` with the document title and creator.
fn core_properties(title: &str, author: &str) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <cp:coreProperties \
         xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
    );
    xml.push_str("<dc:title>");
    push_xml_escaped(&mut xml, title);
    xml.push_str("</dc:title><dc:creator>");
    push_xml_escaped(&mut xml, author);
    xml.push_str("</dc:creator><cp:lastModifiedBy>AfterResume</cp:lastModifiedBy>");
    xml.push_str("<cp:revision>1</cp:revision></cp:coreProperties>");
    xml
}

fn push_xml_escaped(out: &mut String, text: &str) {
    for c in text.chars().filter(|&c| xml_allowed(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}
