//! Behaviour tests for the documents module: security of the HTML, content of the PDF
//! and DOCX files (read back with real parsers), Markdown output, and robustness.

use std::io::{Cursor, Read};

use chrono::{NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::resume::{date_range, format_date};
use super::*;

const CSS_HREF: &str = "/assets/documents.css";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn meta() -> ReportMeta {
    ReportMeta {
        author: "Jane Doe".into(),
        period: (
            NaiveDate::from_ymd_opt(2024, 3, 4).unwrap(),
            NaiveDate::from_ymd_opt(2024, 3, 10).unwrap(),
        ),
        generated_at: Utc.with_ymd_and_hms(2024, 3, 11, 9, 30, 0).unwrap(),
        kind: ReportKind::Weekly,
        edited_at: None,
    }
}

const REPORT: &str = "## Highlights\n\n\
- Shipped the **billing export** to all tenants[^deploy]\n\
- Fixed the *flaky* `integration` suite[^ci]\n\
- Paired on the [retry policy](https://wiki.example.com/retry)[^deploy]\n\n\
## Next week\n\n\
1. Roll out retries\n\n\
[^ci]: 2024-03-07 — Quarantined flaky tests\n\
[^deploy]: 2024-03-05 — Billing export rollout\n";

fn sample_resume() -> Value {
    json!({
        "basics": {
            "name": "Jane Doe",
            "label": "Platform Engineer",
            "email": "jane@example.com",
            "phone": "+1 555 0100",
            "url": "https://jane.example.com",
            "summary": "Builds boring, reliable systems.",
            "location": { "city": "Lisbon", "countryCode": "PT" }
        },
        "work": [{
            "name": "Acme",
            "position": "Staff Engineer",
            "url": "https://acme.example",
            "startDate": "2024-03-01",
            "summary": "Leads the platform team.",
            "highlights": ["Cut deploy time by 80%", "Designed the job queue"]
        }],
        "education": [{
            "institution": "Uni",
            "area": "Computer Science",
            "studyType": "BSc",
            "startDate": "2012",
            "endDate": "2015"
        }],
        "skills": [{ "name": "Backend", "level": "Expert", "keywords": ["Rust", "Go"] }],
        "projects": [{ "name": "tinyqueue", "description": "A durable queue.", "startDate": "2023-01" }],
        "meta": { "version": "v1.0.0" }
    })
}

fn long_resume(highlights: usize) -> Value {
    let highlights: Vec<String> = (1..=highlights)
        .map(|i| {
            format!("Highlight number {i}: delivered a measurable improvement to the platform")
        })
        .collect();
    json!({
        "basics": { "name": "Jane Doe" },
        "work": [{ "name": "Acme", "position": "Engineer", "startDate": "2020-01", "highlights": highlights }]
    })
}

/// Text of every page and the page count, read back with lopdf.
fn pdf_text(bytes: &[u8]) -> (String, usize) {
    let doc = lopdf::Document::load_mem(bytes).expect("the PDF parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text is extractable");
    (text, pages.len())
}

/// A string entry of the PDF Info dictionary.
fn pdf_info(bytes: &[u8], key: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(bytes).expect("the PDF parses");
    let info_id = doc
        .trailer
        .get(b"Info")
        .and_then(lopdf::Object::as_reference)
        .expect("Info in trailer");
    let info = doc.get_dictionary(info_id).expect("Info dictionary");
    lopdf::decode_text_string(info.get(key).expect("key present")).expect("text string")
}

/// One part of a DOCX package as text, if present.
fn docx_part(bytes: &[u8], name: &str) -> Option<String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("DOCX is a zip");
    let mut file = archive.by_name(name).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).expect("part is UTF-8");
    Some(text)
}

/// Every tag in `html` as (name, attribute names, href value). User text is always
/// escaped, so each literal `<` starts a tag the renderer wrote on purpose.
fn tags(html: &str) -> Vec<(String, Vec<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').expect("every tag is closed");
        let inner = &after[..end];
        rest = &after[end + 1..];
        if inner.starts_with('/') || inner.starts_with('!') {
            continue;
        }
        let mut parts = inner.splitn(2, char::is_whitespace);
        let name = parts
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut href = None;
        let mut attr_text = parts.next().unwrap_or("");
        while let Some(eq) = attr_text.find("=\"") {
            let attr = attr_text[..eq].trim().to_ascii_lowercase();
            let value_start = eq + 2;
            let value_end = attr_text[value_start..].find('"').expect("quoted value") + value_start;
            if attr == "href" {
                href = Some(attr_text[value_start..value_end].to_owned());
            }
            attrs.push(attr);
            attr_text = &attr_text[value_end + 1..];
        }
        out.push((name, attrs, href));
    }
    out
}

/// Asserts that a page only uses the tags and attributes this module is meant to write,
/// that links are vetted, and (for CSP pages) that nothing inline can run or style.
fn assert_safe_page(html: &str, csp: bool) {
    const TAGS: &[&str] = &[
        "html",
        "head",
        "meta",
        "title",
        "link",
        "style",
        "body",
        "main",
        "header",
        "footer",
        "article",
        "section",
        "div",
        "span",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "ul",
        "ol",
        "li",
        "strong",
        "em",
        "code",
        "pre",
        "blockquote",
        "a",
        "sup",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "hr",
        "br",
        "del",
    ];
    const ATTRS: &[&str] = &[
        "lang",
        "charset",
        "name",
        "content",
        "http-equiv",
        "rel",
        "href",
        "class",
        "id",
        "start",
    ];
    for (name, attrs, href) in tags(html) {
        assert!(
            TAGS.contains(&name.as_str()),
            "unexpected tag <{name}> in {html}"
        );
        for attr in &attrs {
            assert!(
                ATTRS.contains(&attr.as_str()),
                "unexpected attribute {attr} on <{name}>"
            );
        }
        if csp {
            assert_ne!(name, "style", "no <style> element in CSP mode");
        }
        if let (Some(href), true) = (href, name == "a") {
            let href = href.to_ascii_lowercase();
            assert!(
                href.starts_with("https://")
                    || href.starts_with("http://")
                    || href.starts_with("mailto:")
                    || href.starts_with('#'),
                "unsafe link target {href}"
            );
        }
    }
    assert!(!html.contains("<script"), "no script element");
    if csp {
        // Attribute names are checked per tag above (`style` is not allowed); escaped
        // user text may legitimately read "style=", so no substring test for it here.
        assert!(!html.contains("<style"), "no style element in CSP mode");
        assert!(html.contains(&format!("<link rel=\"stylesheet\" href=\"{CSS_HREF}\">")));
    }
}

// ---------------------------------------------------------------------------------------
// HTML security
// ---------------------------------------------------------------------------------------

#[test]
fn raw_html_in_markdown_is_escaped_not_passed_through() {
    let md = "<script>alert(1)</script>\n\nHello <img src=x onerror=alert(1)> and <b>bold</b>\n\n\
              <iframe src=\"https://evil.example\"></iframe>\n";
    let html = report_html("T", md, &meta(), CssMode::Linked(CSS_HREF));
    assert_safe_page(&html, true);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("<iframe"));
    assert!(!html.contains("<b>"));
}

#[test]
fn unsafe_link_targets_are_removed_and_safe_ones_kept() {
    let md = "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(2)) [c](&#106;avascript:alert(3)) \
              [d](data:text/html;base64,PHNjcmlwdD4=) [e](vbscript:msgbox) [f](//evil.example/x) \
              [g](/api/admin) <javascript:alert(4)> [h][ref] [i](<java\u{0009}script:alert(5)>)\n\n\
              [ok](https://example.com/a?b=1&c=2) [mail](mailto:jane@example.com) [frag](#sources) \
              <https://auto.example>\n\n[ref]: javascript:alert(6)\n";
    let html = markdown_to_html(md).into_string();
    let page = standalone_html("links", &markdown_to_html(md));
    assert_safe_page(&page, false);
    let hrefs: Vec<String> = tags(&html).into_iter().filter_map(|t| t.2).collect();
    assert_eq!(
        hrefs,
        vec![
            "https://example.com/a?b=1&amp;c=2",
            "mailto:jane@example.com",
            "#sources",
            "https://auto.example"
        ]
    );
    // The text of a refused link stays readable, as plain text.
    assert!(html.contains("<p>a b c d e f g javascript:alert(4) h i</p>"));
    assert!(html.contains("rel=\"nofollow noopener noreferrer\""));
}

#[test]
fn csp_pages_have_no_inline_styles_and_link_the_stylesheet() {
    // Column alignment would make the Markdown renderer emit style="text-align: ...".
    let md = "| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |\n\n~~old~~ text\n";
    let html = report_html("Aligned", md, &meta(), CssMode::Linked(CSS_HREF));
    assert_safe_page(&html, true);
    assert!(!html.contains("style="));
    assert!(html.contains("<table>"));
    assert!(html.contains("<td>3</td>"));

    let resume = resume_html(&sample_resume(), CssMode::Linked(CSS_HREF));
    assert_safe_page(&resume, true);
    assert!(!resume.contains("style="));

    let page = page_html("Page", &markdown_to_html("# Hi"), CSS_HREF);
    assert_safe_page(&page, true);
}

#[test]
fn stylesheet_href_is_escaped() {
    let page = page_html("t", &markdown_to_html("x"), "/a.css\"><script>x</script>");
    assert!(!page.contains("<script"));
    assert!(page.contains("href=\"/a.css&quot;&gt;&lt;script&gt;"));
}

#[test]
fn standalone_pages_embed_the_css_with_their_own_csp() {
    let html = report_html("Weekly", REPORT, &meta(), CssMode::Embedded);
    assert_safe_page(&html, false);
    assert!(html.contains("<style>\n"));
    assert!(html.contains(PRINT_CSS));
    assert!(!html.contains("<link rel=\"stylesheet\""));
    assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(html.contains("default-src 'none'"));

    let page = standalone_html("A & B", &markdown_to_html("text"));
    assert!(page.contains("<title>A &amp; B</title>"));
    assert!(page.contains(PRINT_CSS));
    assert!(
        !PRINT_CSS.contains("</style"),
        "the CSS cannot close its own element"
    );
}

#[test]
fn images_are_dropped_but_alt_text_kept() {
    let html =
        markdown_to_html("![tracking pixel](https://evil.example/p.gif) after").into_string();
    assert!(!html.contains("<img"));
    assert!(!html.contains("evil.example"));
    assert!(html.contains("tracking pixel after"));
}

#[test]
fn resume_html_escapes_every_json_value() {
    let resume = json!({
        "basics": {
            "name": "<script>alert('name')</script>",
            "label": "\"><img src=x onerror=alert(1)>",
            "email": "x@example.com\" onmouseover=\"alert(1)",
            "url": "javascript:alert(1)",
            "summary": "<b>bold</b> & </main>",
            "profiles": [{ "network": "<i>net</i>", "url": "data:text/html,<script>x</script>" }]
        },
        "work": [{ "name": "<a href=x>Co</a>", "position": "Dev", "highlights": ["<script>h()</script>"] }],
        "skills": [{ "name": "<style>*{}</style>", "keywords": ["<u>k</u>"] }]
    });
    for css in [CssMode::Linked(CSS_HREF), CssMode::Embedded] {
        let html = resume_html(&resume, css);
        assert_safe_page(&html, matches!(css, CssMode::Linked(_)));
        assert!(html.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
        assert!(html.contains("&lt;b&gt;bold&lt;/b&gt; &amp; &lt;/main&gt;"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("<i>"));
        // The unsafe URL is shown as text, not linked.
        assert!(html.contains("javascript:alert(1)"));
        assert!(!html.contains("href=\"javascript"));
    }
}

// ---------------------------------------------------------------------------------------
// Report content
// ---------------------------------------------------------------------------------------

#[test]
fn report_html_has_title_headings_citations_and_sources() {
    let html = report_html(
        "Weekly <report>",
        REPORT,
        &meta(),
        CssMode::Linked(CSS_HREF),
    );
    assert!(html.contains("<title>Weekly &lt;report&gt;</title>"));
    assert!(html.contains("<h1 class=\"doc-title\">Weekly &lt;report&gt;</h1>"));
    assert!(html.contains("Weekly report · 4–10 Mar 2024 · Jane Doe"));
    assert!(html.contains("<h2>Highlights</h2>"));
    assert!(html.contains("<h2>Next week</h2>"));
    assert!(html.contains("<strong>billing export</strong>"));
    assert!(html.contains("<em>flaky</em>"));
    assert!(html.contains("<code>integration</code>"));
    assert!(html.contains("<a href=\"https://wiki.example.com/retry\""));
    // Citations are numbered by first use: "deploy" is cited first, so it is [1].
    assert!(html.contains("tenants<sup class=\"cite\"><a href=\"#source-1\">[1]</a></sup>"));
    assert!(html.contains("suite<sup class=\"cite\"><a href=\"#source-2\">[2]</a></sup>"));
    assert!(html.contains("<section class=\"sources\">\n<h2>Sources</h2>"));
    let first = html.find("<li id=\"source-1\">").expect("source 1");
    let second = html.find("<li id=\"source-2\">").expect("source 2");
    assert!(first < second);
    assert!(html[first..second].contains("Billing export rollout"));
    assert!(html[second..].contains("Quarantined flaky tests"));
    assert!(html.contains("Generated by AfterResume on 2024-03-11 09:30 UTC"));
}

#[test]
fn plain_markdown_sources_section_is_kept() {
    let md = "- Did a thing [1]\n\n## Sources\n\n1. 2024-03-05 — Entry one\n";
    let html = markdown_to_html(md).into_string();
    assert!(html.contains("Did a thing [1]"));
    assert!(html.contains("<h2>Sources</h2>\n<ol>\n<li>2024-03-05 — Entry one</li>"));
}

#[test]
fn uncited_and_undefined_footnotes_are_handled() {
    let md = "Claim[^missing] and[^a]\n\n[^a]: first\n[^b]: never cited\n";
    let html = markdown_to_html(md).into_string();
    assert!(html.contains("[^missing]"));
    assert!(html.contains("<li id=\"source-1\">"));
    assert!(
        html.contains("<li id=\"source-2\">"),
        "uncited definitions are still listed"
    );
    assert!(html.contains("never cited"));
}

#[test]
fn report_markdown_has_front_matter_title_and_body() {
    let md = report_markdown("Weekly \"ops\"\nreport", REPORT, &meta());
    let expected_head = "---\n\
        title: \"Weekly \\\"ops\\\" report\"\n\
        kind: weekly\n\
        author: \"Jane Doe\"\n\
        period_start: 2024-03-04\n\
        period_end: 2024-03-10\n\
        generated_at: 2024-03-11T09:30:00Z\n\
        generator: AfterResume\n\
        ---\n\n\
        # Weekly \"ops\" report\n\n\
        _Weekly report · 4–10 Mar 2024 · Jane Doe_\n\n";
    assert!(md.starts_with(expected_head), "{md}");
    assert!(md.ends_with(REPORT));
}

#[test]
fn an_edited_report_says_when_in_its_meta_line() {
    let m = ReportMeta {
        edited_at: Some(Utc.with_ymd_and_hms(2024, 3, 12, 8, 0, 0).unwrap()),
        ..meta()
    };
    let html = report_html("Weekly report", REPORT, &m, CssMode::Embedded);
    assert!(html.contains("Weekly report · 4–10 Mar 2024 · Jane Doe · edited 12 Mar 2024"));
    assert!(report_markdown("Weekly report", REPORT, &m).contains("· edited 12 Mar 2024_"));
}

#[test]
fn blank_report_title_falls_back_to_the_kind() {
    let m = ReportMeta {
        kind: ReportKind::Standup,
        ..meta()
    };
    assert!(report_html("  ", "", &m, CssMode::Embedded).contains("<title>Standup</title>"));
    assert!(report_markdown("", "", &m).contains("# Standup\n"));
}

#[test]
fn report_pdf_contains_title_headings_bullets_and_sources() {
    let pdf = report_pdf("Weekly report", REPORT, &meta()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let (text, pages) = pdf_text(&pdf);
    assert_eq!(pages, 1);
    for expected in [
        "Weekly report",
        "4–10 Mar 2024",
        "Highlights",
        "Shipped the",
        "billing export",
        "[1]",
        "[2]",
        "Sources",
        "Billing export rollout",
        "Roll out retries",
        "page 1 of 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert_eq!(pdf_info(&pdf, b"Title"), "Weekly report");
    assert_eq!(pdf_info(&pdf, b"Author"), "Jane Doe");
}

#[test]
fn oversized_documents_fail_instead_of_growing_without_bound() {
    let md = "paragraph\n\n".repeat(40_000);
    match report_pdf("Huge", &md, &meta()) {
        Err(DocError::TooLong { max }) => assert_eq!(max, MAX_PDF_PAGES),
        other => panic!("expected TooLong, got {:?}", other.map(|b| b.len())),
    }
}

// ---------------------------------------------------------------------------------------
// Resume content
// ---------------------------------------------------------------------------------------

#[test]
fn resume_markdown_layout() {
    let expected = "\
# Jane Doe

**Platform Engineer**

[jane@example.com](mailto:jane@example.com) · +1 555 0100 · [jane.example.com](https://jane.example.com) · Lisbon, PT

## Summary

Builds boring, reliable systems.

## Experience

### Staff Engineer — [Acme](https://acme.example)
_Mar 2024 – present_

Leads the platform team.

- Cut deploy time by 80%
- Designed the job queue

## Skills

- **Backend** (Expert): Rust, Go

## Projects

### tinyqueue
_Jan 2023 – present_

A durable queue.

## Education

### BSc, Computer Science — Uni
_2012 – 2015_
";
    assert_eq!(resume_markdown(&sample_resume()), expected);
}

#[test]
fn resume_markdown_escapes_markdown_syntax_in_values() {
    let resume = json!({
        "basics": { "name": "*Jane* [x](javascript:y) <b>", "summary": "- not a list\n\n1. nor this" },
        "work": [{ "name": "C# & R&D &amp; co", "highlights": ["`code` _under_"] }]
    });
    let md = resume_markdown(&resume);
    assert!(
        md.starts_with("# \\*Jane\\* \\[x\\](javascript:y) \\<b\\>\n"),
        "{md}"
    );
    assert!(md.contains("\\- not a list"));
    assert!(md.contains("1\\. nor this"));
    assert!(md.contains("C# & R&D \\&amp; co"));
    assert!(md.contains("- \\`code\\` \\_under\\_"));
    // Read back as Markdown, none of it turns into markup.
    let html = markdown_to_html(&md).into_string();
    assert!(!html.contains("<a "));
    assert!(!html.contains("<em>"));
    assert!(!html.contains("<b>"));
    assert!(html.contains("*Jane* [x](javascript:y) &lt;b&gt;"));
}

#[test]
fn resume_html_layout() {
    let html = resume_html(&sample_resume(), CssMode::Linked(CSS_HREF));
    assert!(html.contains("<title>Jane Doe — Resume</title>"));
    assert!(html.contains("<h1 class=\"doc-title\">Jane Doe</h1>"));
    assert!(html.contains("<p class=\"doc-subtitle\">Platform Engineer</p>"));
    assert!(html.contains("<a href=\"mailto:jane@example.com\""));
    assert!(html.contains("<h2>Experience</h2>"));
    assert!(html.contains(
        "<div class=\"entry-head\"><h3><strong>Staff Engineer</strong><strong> — </strong>"
    ));
    assert!(html.contains("<span class=\"entry-dates\">Mar 2024 – present</span>"));
    assert!(html.contains("<li>Cut deploy time by 80%</li>"));
    assert!(html.contains("<li><strong>Backend</strong> (Expert): Rust, Go</li>"));
    let experience = html.find("<h2>Experience</h2>").unwrap();
    let skills = html.find("<h2>Skills</h2>").unwrap();
    let education = html.find("<h2>Education</h2>").unwrap();
    assert!(experience < skills && skills < education);
}

#[test]
fn dates_render_as_month_year_with_present() {
    assert_eq!(format_date("2024-03-15"), "Mar 2024");
    assert_eq!(format_date("2024-03"), "Mar 2024");
    assert_eq!(format_date("2024"), "2024");
    assert_eq!(format_date("2024-03-15T10:00:00Z"), "Mar 2024");
    assert_eq!(format_date("Present"), "present");
    assert_eq!(format_date("spring 2020"), "spring 2020");
    assert_eq!(format_date("2024-13"), "2024-13");
    assert_eq!(
        date_range(Some("2024-03"), None).as_deref(),
        Some("Mar 2024 – present")
    );
    assert_eq!(
        date_range(Some("2019-01"), Some("2021-12-31")).as_deref(),
        Some("Jan 2019 – Dec 2021")
    );
    assert_eq!(
        date_range(Some("2020"), Some("2020")).as_deref(),
        Some("2020")
    );
    assert_eq!(date_range(None, Some("2021")).as_deref(), Some("2021"));
    assert_eq!(date_range(Some(""), None), None);
}

#[test]
fn resume_pdf_contains_name_heading_and_highlight() {
    let pdf = resume_pdf(&sample_resume()).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let (text, pages) = pdf_text(&pdf);
    assert_eq!(pages, 1);
    for expected in [
        "Jane Doe",
        "Platform Engineer",
        "jane@example.com",
        "Experience",
        "Staff Engineer",
        "Mar 2024 – present",
        "Cut deploy time by 80%",
        "Skills",
        "Education",
        "page 1 of 1",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in {text}");
    }
    assert_eq!(pdf_info(&pdf, b"Title"), "Jane Doe — Resume");
    assert_eq!(pdf_info(&pdf, b"Author"), "Jane Doe");
}

#[test]
fn long_resume_breaks_across_pages_with_page_numbers() {
    let pdf = resume_pdf(&long_resume(100)).unwrap();
    let (text, pages) = pdf_text(&pdf);
    assert!(pages >= 2, "expected several pages, got {pages}");
    assert!(text.contains("page 2 of"));
    assert!(text.contains(&format!("page {pages} of {pages}")));
    assert!(text.contains("Highlight number 1:"));
    assert!(text.contains("Highlight number 100:"));
}

#[test]
fn pdf_maps_unicode_to_the_base_fonts() {
    let resume = json!({
        "basics": { "name": "Łukasz “Lu” Brontë – Ærø", "label": "東京 🚀 Engineer\u{200B}" },
        "work": [{ "name": "Café", "highlights": ["Cut costs by 30 % → saved €2M… ✓"] }]
    });
    let pdf = resume_pdf(&resume).unwrap();
    let (text, _) = pdf_text(&pdf);
    // Latin-1 and WinAnsi punctuation survive; other Latin letters lose the accent.
    assert!(text.contains("Lukasz “Lu” Brontë – Ærø"), "{text}");
    assert!(text.contains("Café"));
    assert!(text.contains("-> saved €2M… [x]"), "{text}");
    // Scripts the base fonts cannot show become '?'; invisible characters disappear.
    assert!(text.contains("?? ? Engineer"), "{text}");
    // Metadata keeps the full Unicode text.
    assert_eq!(
        pdf_info(&pdf, b"Title"),
        "Łukasz “Lu” Brontë – Ærø — Resume"
    );
}

// ---------------------------------------------------------------------------------------
// DOCX
// ---------------------------------------------------------------------------------------

#[test]
fn resume_docx_is_an_office_open_xml_package() {
    let docx = resume_docx(&sample_resume()).unwrap();
    assert!(docx.starts_with(b"PK"));
    let content_types = docx_part(&docx, "[Content_Types].xml").expect("content types");
    assert!(content_types.contains("wordprocessingml.document.main+xml"));
    let document = docx_part(&docx, "word/document.xml").expect("document part");
    assert!(document.contains("<w:pStyle w:val=\"Title\" />"));
    assert!(document.contains(">Jane Doe</w:t>"));
    assert!(document.contains(">Cut deploy time by 80%</w:t>"));
    assert!(document.contains("<w:pStyle w:val=\"Heading1\" />"));
    assert!(document.contains(">Experience</w:t>"));
    assert!(
        document.contains("<w:numId w:val=\"2\" />"),
        "bullets use numbering 2"
    );
    let numbering = docx_part(&docx, "word/numbering.xml").expect("numbering part");
    assert!(numbering.contains("<w:num w:numId=\"2\"><w:abstractNumId w:val=\"2\" />"));
    let bullets = numbering
        .split("<w:abstractNum ")
        .find(|def| def.starts_with("w:abstractNumId=\"2\""))
        .expect("bullet definition");
    assert!(bullets
        .contains("<w:lvl w:ilvl=\"0\"><w:start w:val=\"1\" /><w:numFmt w:val=\"bullet\" />"));
    let styles = docx_part(&docx, "word/styles.xml").expect("styles part");
    assert!(styles.contains("w:styleId=\"Title\""));
    assert!(styles.contains("<w:name w:val=\"heading 1\" />"));
    let core = docx_part(&docx, "docProps/core.xml").expect("core properties");
    assert!(core.contains("<dc:title>Jane Doe — Resume</dc:title>"));
    assert!(core.contains("<dc:creator>Jane Doe</dc:creator>"));
    let rels = docx_part(&docx, "word/_rels/document.xml.rels").expect("relationships");
    assert!(rels.contains("Target=\"https://acme.example\""));
    let footer = docx_part(&docx, "word/footer1.xml").expect("footer");
    assert!(footer.contains("NUMPAGES"));
}

#[test]
fn docx_escapes_markup_and_drops_invalid_xml_characters() {
    let resume = json!({
        "basics": { "name": "A<B & \"C\" \u{1}\u{FFFE}D" },
        "work": [{ "name": "</w:t><w:t>x", "url": "javascript:alert(1)", "highlights": ["]]>"] }]
    });
    let docx = resume_docx(&resume).unwrap();
    let document = docx_part(&docx, "word/document.xml").unwrap();
    assert!(
        document.contains("A&lt;B &amp; &quot;C&quot; D"),
        "{document}"
    );
    assert!(document.contains("&lt;/w:t&gt;&lt;w:t&gt;x"));
    assert!(!document.contains('\u{1}'));
    let core = docx_part(&docx, "docProps/core.xml").unwrap();
    assert!(core.contains("<dc:creator>A&lt;B &amp; &quot;C&quot; D</dc:creator>"));
    let rels = docx_part(&docx, "word/_rels/document.xml.rels").unwrap();
    assert!(!rels.contains("javascript"));
}

// ---------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------

fn render_everything(resume: &Value) {
    let _ = resume_markdown(resume);
    let html = resume_html(resume, CssMode::Linked(CSS_HREF));
    assert_safe_page(&html, true);
    let _ = resume_html(resume, CssMode::Embedded);
    let pdf = resume_pdf(resume).expect("PDF renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let docx = resume_docx(resume).expect("DOCX renders");
    assert!(docx.starts_with(b"PK"));
}

#[test]
fn malformed_or_partial_resumes_do_not_panic() {
    let cases = [
        json!(null),
        json!([]),
        json!(42),
        json!("resume"),
        json!({}),
        json!({ "basics": 5 }),
        json!({ "basics": { "name": 5, "location": "Paris", "profiles": "x", "summary": ["a"] } }),
        json!({ "basics": { "name": "", "email": "not an email", "url": "example.com" } }),
        json!({ "work": "x", "skills": {}, "education": null, "projects": 3 }),
        json!({ "work": [null, 1, "s", [], {}, { "highlights": "single" }, { "highlights": [null, 1, {}, ""] }] }),
        json!({ "work": [{ "company": "Old schema", "website": "https://old.example", "startDate": "garbage" }] }),
        json!({ "skills": [{ "keywords": "rust" }, { "name": null, "level": 3 }, { "keywords": [] }] }),
        json!({ "education": [{}], "projects": [{ "roles": "lead", "keywords": [1, 2] }] }),
        json!({ "basics": { "name": "x".repeat(5000) }, "work": [{ "highlights": ["y".repeat(20_000)] }] }),
    ];
    for case in &cases {
        render_everything(case);
    }
    let empty_title = resume_markdown(&json!({}));
    assert!(empty_title.starts_with("# Resume\n"));
}

#[test]
fn empty_and_degenerate_reports_do_not_panic() {
    for md in [
        "",
        "\n\n",
        "#",
        "- ",
        "[^]: x",
        "|",
        "```",
        "> > >",
        "1.\n2.",
        "\u{0}\u{FEFF}",
    ] {
        let html = report_html("t", md, &meta(), CssMode::Linked(CSS_HREF));
        assert_safe_page(&html, true);
        assert!(report_pdf("t", md, &meta()).unwrap().starts_with(b"%PDF-"));
        let _ = report_markdown("t", md, &meta());
    }
}

/// Markdown-ish input: syntax fragments mixed with arbitrary Unicode.
fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("# ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("- ".to_owned()),
        Just("1. ".to_owned()),
        Just("> ".to_owned()),
        Just("```\n".to_owned()),
        Just("`".to_owned()),
        Just("**".to_owned()),
        Just("_".to_owned()),
        Just("| a | b |\n|:-|-:|\n".to_owned()),
        Just("[^n]".to_owned()),
        Just("[^n]: ".to_owned()),
        Just("[x](javascript:alert(1))".to_owned()),
        Just("[y](https://ok.example)".to_owned()),
        Just("<script>".to_owned()),
        Just("<div style=\"x\">".to_owned()),
        Just("![i](https://img.example/a.png)".to_owned()),
        any::<String>(),
        "\\PC{0,40}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_unicode_in_resumes_never_panics(
        name in any::<String>(),
        label in "\\PC*",
        highlight in any::<String>(),
        url in any::<String>(),
    ) {
        let resume = json!({
            "basics": { "name": name, "label": label, "url": url, "summary": highlight },
            "work": [{ "name": label, "position": name, "startDate": highlight, "highlights": [highlight, name] }],
            "skills": [{ "name": highlight, "keywords": [name] }]
        });
        render_everything(&resume);
    }

    #[test]
    fn arbitrary_markdown_reports_never_panic(markdown in markdownish(), title in any::<String>()) {
        let html = report_html(&title, &markdown, &meta(), CssMode::Linked(CSS_HREF));
        assert_safe_page(&html, true);
        let pdf = report_pdf(&title, &markdown, &meta()).expect("PDF renders");
        prop_assert!(pdf.starts_with(b"%PDF-"));
        let (_, pages) = pdf_text(&pdf);
        prop_assert!(pages >= 1);
        let md = report_markdown(&title, &markdown, &meta());
        prop_assert!(md.starts_with("---\ntitle: \""));
    }
}

#[test]
fn the_compact_template_keeps_one_page_of_the_resume() {
    let mut resume = sample_resume();
    resume["work"][0]["highlights"] = json!(["one", "two", "three", "four", "five"]);
    let compact = apply_template(&resume, ResumeTemplate::Compact);
    assert_eq!(
        compact["work"][0]["highlights"],
        json!(["one", "two", "three"])
    );
    assert!(compact["work"][0].get("summary").is_none());
    let skills = compact["skills"].as_array().unwrap();
    assert_eq!(skills.len(), 1);
    assert_eq!(skills[0]["name"], "Skills");
    assert_eq!(apply_template(&resume, ResumeTemplate::Classic), resume);
    let html = resume_html_as(&resume, CssMode::Embedded, ResumeTemplate::Compact);
    assert!(html.contains("class=\"doc doc-resume doc-compact\""));
    assert!(!html.contains("<li>four</li>"));
    let md = resume_markdown(&compact);
    assert!(md.contains("three") && !md.contains("five"));
}

#[test]
fn a_shared_resume_says_when_it_was_last_updated() {
    let at = Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap();
    let html = resume_shared_html(&sample_resume(), CssMode::Linked(CSS_HREF), at);
    assert!(
        html.contains("<footer class=\"doc-footer\">Last updated 8 Dec 2026</footer>"),
        "{html}"
    );
}
