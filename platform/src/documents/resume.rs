//! JSON Resume (jsonresume.org, schema v1.0.0) → Markdown, HTML, PDF and DOCX.
//!
//! The input is a `serde_json::Value` read leniently: missing fields are skipped, fields
//! of the wrong type are ignored, unknown fields are ignored, numbers are accepted where
//! text is expected, and the pre-1.0 names `work[].company` and `work[].website` are
//! honoured. All values are plain text (JSON Resume has no markup), so each writer
//! escapes them for its own format.
//!
//! Layout: name as title, label, contact line, Summary, Experience (position — company,
//! dates, summary, highlights), Skills (category: keywords), Projects, Education,
//! Certificates, Languages; each section only when it has content.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::html::{push_escaped, render_page, CssMode, SafeHtml};
use super::model::{
    blocks_to_html, blocks_to_markdown, clean_line, month_abbr, paragraphs, Block, Document,
    Inline, Marker,
};
use super::{docx, pdf, DocError};

/// Renders a JSON Resume document as Markdown.
pub fn resume_markdown(resume: &Value) -> String {
    blocks_to_markdown(&build(resume).blocks)
}

/// A print template: which content a resume shows, and how densely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumeTemplate {
    /// Everything the resume holds.
    #[default]
    Classic,
    /// One page: the summary's first paragraph, three highlights per role, projects
    /// without descriptions (four at most, two highlights each), skills on one line,
    /// set tighter in HTML.
    Compact,
}

/// Most highlights per role in the compact template.
const COMPACT_WORK_HIGHLIGHTS: usize = 3;
/// Most projects, and highlights per project, in the compact template.
const COMPACT_PROJECTS: usize = 4;
const COMPACT_PROJECT_HIGHLIGHTS: usize = 2;

/// The resume as `template` shows it (every format renders the result).
pub fn apply_template(resume: &Value, template: ResumeTemplate) -> Value {
    if template == ResumeTemplate::Classic {
        return resume.clone();
    }
    let mut doc = resume.clone();
    if let Some(summary) = doc.pointer_mut("/basics/summary") {
        if let Some(first) = summary
            .as_str()
            .and_then(|s| paragraphs(s).into_iter().next())
        {
            *summary = Value::String(first);
        }
    }
    let truncate = |item: &mut Value, key: &str, n: usize| {
        if let Some(list) = item.get_mut(key).and_then(Value::as_array_mut) {
            list.truncate(n);
        }
    };
    if let Some(work) = doc.get_mut("work").and_then(Value::as_array_mut) {
        for job in work {
            truncate(job, "highlights", COMPACT_WORK_HIGHLIGHTS);
            if let Some(o) = job.as_object_mut() {
                o.remove("summary");
            }
        }
    }
    if let Some(projects) = doc.get_mut("projects").and_then(Value::as_array_mut) {
        projects.truncate(COMPACT_PROJECTS);
        for project in projects {
            truncate(project, "highlights", COMPACT_PROJECT_HIGHLIGHTS);
            if let Some(o) = project.as_object_mut() {
                o.remove("description");
            }
        }
    }
    let names: Vec<Value> = items(resume, "skills")
        .filter_map(|s| text(s, "name").map(Value::String))
        .collect();
    if !names.is_empty() {
        doc["skills"] = serde_json::json!([{"name": "Skills", "keywords": names}]);
    }
    doc
}

/// Renders a JSON Resume document as a full HTML page (see [`CssMode`]).
pub fn resume_html(resume: &Value, css: CssMode<'_>) -> String {
    resume_html_as(resume, css, ResumeTemplate::Classic)
}

/// [`resume_html`] in a print template.
pub fn resume_html_as(resume: &Value, css: CssMode<'_>, template: ResumeTemplate) -> String {
    resume_page(resume, css, template, None)
}

/// The resume as a shared page: [`resume_html`] with when it was last updated.
pub fn resume_shared_html(resume: &Value, css: CssMode<'_>, updated: DateTime<Utc>) -> String {
    resume_page(resume, css, ResumeTemplate::Classic, Some(updated))
}

fn resume_page(
    resume: &Value,
    css: CssMode<'_>,
    template: ResumeTemplate,
    updated: Option<DateTime<Utc>>,
) -> String {
    let doc = build(&apply_template(resume, template));
    let class = match template {
        ResumeTemplate::Classic => "doc doc-resume",
        ResumeTemplate::Compact => "doc doc-resume doc-compact",
    };
    let mut body = format!("<main class=\"{class}\">\n{}", blocks_to_html(&doc.blocks));
    if let Some(at) = updated {
        let day = at.date_naive();
        body.push_str("<footer class=\"doc-footer\">Last updated ");
        push_escaped(&mut body, &super::report::format_period((day, day)));
        body.push_str("</footer>\n");
    }
    body.push_str("</main>");
    render_page(&doc.title, &SafeHtml::from_trusted(body), css)
}

/// Renders a JSON Resume document as an A4 PDF with selectable text.
pub fn resume_pdf(resume: &Value) -> Result<Vec<u8>, DocError> {
    pdf::render(&build(resume), None)
}

/// Renders a JSON Resume document as a Word (DOCX) file.
pub fn resume_docx(resume: &Value) -> Result<Vec<u8>, DocError> {
    docx::render(&build(resume))
}

/// Builds the shared document model from a JSON Resume value.
pub(crate) fn build(resume: &Value) -> Document {
    let basics = resume.get("basics").unwrap_or(&Value::Null);
    let name = text(basics, "name");
    let mut blocks = Vec::new();

    blocks.push(Block::Title(
        name.clone().unwrap_or_else(|| "Resume".to_owned()),
    ));
    if let Some(label) = text(basics, "label") {
        blocks.push(Block::Subtitle(label));
    }
    let contact = contact_line(basics);
    if !contact.is_empty() {
        blocks.push(Block::Meta(contact));
    }

    let summary = basics
        .get("summary")
        .and_then(Value::as_str)
        .map(paragraphs)
        .unwrap_or_default();
    if !summary.is_empty() {
        blocks.push(section("Summary"));
        blocks.extend(
            summary
                .into_iter()
                .map(|p| Block::Paragraph(vec![Inline::plain(p)])),
        );
    }

    section_with(
        &mut blocks,
        "Experience",
        items(resume, "work"),
        |blocks, job| {
            let position = text(job, "position");
            let company = text(job, "name").or_else(|| text(job, "company"));
            let url = text(job, "url").or_else(|| text(job, "website"));
            entry(blocks, position, company, url.as_deref(), job, Vec::new());
        },
    );
    section_with(
        &mut blocks,
        "Volunteering",
        items(resume, "volunteer"),
        |blocks, role| {
            let organization = text(role, "organization");
            entry(
                blocks,
                text(role, "position"),
                organization,
                text(role, "url").as_deref(),
                role,
                Vec::new(),
            );
        },
    );

    let skills: Vec<Block> = items(resume, "skills").filter_map(skill_item).collect();
    if !skills.is_empty() {
        blocks.push(section("Skills"));
        blocks.extend(skills);
    }

    section_with(
        &mut blocks,
        "Projects",
        items(resume, "projects"),
        |blocks, project| {
            let name = text(project, "name");
            let roles = strings(project, "roles").join(", ");
            let roles = (!roles.is_empty()).then_some(roles);
            let description = project
                .get("description")
                .and_then(Value::as_str)
                .map(paragraphs)
                .unwrap_or_default();
            entry(
                blocks,
                name,
                roles,
                text(project, "url").as_deref(),
                project,
                description,
            );
            let keywords = strings(project, "keywords");
            if !keywords.is_empty() {
                blocks.push(Block::Meta(vec![
                    Inline::bold("Keywords: "),
                    Inline::plain(keywords.join(", ")),
                ]));
            }
        },
    );

    section_with(
        &mut blocks,
        "Education",
        items(resume, "education"),
        |blocks, school| {
            let degree = [text(school, "studyType"), text(school, "area")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let degree = (!degree.is_empty()).then_some(degree);
            let institution = text(school, "institution");
            entry(
                blocks,
                degree,
                institution,
                text(school, "url").as_deref(),
                school,
                Vec::new(),
            );
            if let Some(score) = text(school, "score") {
                blocks.push(Block::Paragraph(vec![
                    Inline::bold("Score: "),
                    Inline::plain(score),
                ]));
            }
            let courses = strings(school, "courses");
            if !courses.is_empty() {
                blocks.push(Block::Meta(vec![
                    Inline::bold("Courses: "),
                    Inline::plain(courses.join(", ")),
                ]));
            }
        },
    );

    let certificates: Vec<Block> = items(resume, "certificates")
        .filter_map(|c| {
            let name = text(c, "name")?;
            let mut inlines = vec![match text(c, "url") {
                Some(url) => Inline::linked(name, &url),
                None => Inline::plain(name),
            }];
            let detail: Vec<String> = [text(c, "issuer"), text(c, "date").map(|d| format_date(&d))]
                .into_iter()
                .flatten()
                .collect();
            if !detail.is_empty() {
                inlines.push(Inline::plain(format!(" — {}", detail.join(", "))));
            }
            Some(bullet(inlines))
        })
        .collect();
    if !certificates.is_empty() {
        blocks.push(section("Certificates"));
        blocks.extend(certificates);
    }

    let languages: Vec<String> = items(resume, "languages")
        .filter_map(|l| {
            let language = text(l, "language")?;
            Some(match text(l, "fluency") {
                Some(fluency) => format!("{language} ({fluency})"),
                None => language,
            })
        })
        .collect();
    if !languages.is_empty() {
        blocks.push(section("Languages"));
        blocks.push(Block::Paragraph(vec![Inline::plain(languages.join(" · "))]));
    }

    let title = match &name {
        Some(name) => format!("{name} — Resume"),
        None => "Resume".to_owned(),
    };
    Document {
        title,
        author: name.unwrap_or_default(),
        blocks,
    }
}

fn section(title: &str) -> Block {
    Block::Heading {
        level: 2,
        inlines: vec![Inline::plain(title)],
    }
}

fn bullet(inlines: Vec<Inline>) -> Block {
    Block::Item {
        depth: 0,
        marker: Marker::Bullet,
        inlines,
    }
}

/// Adds a section heading and one rendering per entry, but only if some entry rendered.
fn section_with<'v>(
    blocks: &mut Vec<Block>,
    title: &str,
    entries: impl Iterator<Item = &'v Value>,
    mut render: impl FnMut(&mut Vec<Block>, &'v Value),
) {
    let heading_at = blocks.len();
    for value in entries {
        render(blocks, value);
    }
    if blocks.len() > heading_at {
        blocks.insert(heading_at, section(title));
    }
}

/// A dated entry: "Title — Organisation" (organisation linked when it has a URL), the
/// dates (and location) set apart, then `lead` paragraphs, the summary and the
/// highlights as bullets. Nothing at all when every part is empty.
fn entry(
    blocks: &mut Vec<Block>,
    title: Option<String>,
    organization: Option<String>,
    url: Option<&str>,
    value: &Value,
    lead: Vec<String>,
) {
    let mut heading = Vec::new();
    match (title, organization) {
        (Some(title), Some(org)) => {
            heading.push(Inline::bold(title));
            heading.push(Inline::bold(" — "));
            heading.push(linked_bold(org, url));
        }
        (Some(only), None) | (None, Some(only)) => heading.push(linked_bold(only, url)),
        (None, None) => {}
    }
    let dates = date_range(
        text(value, "startDate").as_deref(),
        text(value, "endDate").as_deref(),
    );
    let aside: Vec<String> = [text(value, "location"), dates]
        .into_iter()
        .flatten()
        .collect();
    let mut summary = lead;
    summary.extend(
        value
            .get("summary")
            .and_then(Value::as_str)
            .map(paragraphs)
            .unwrap_or_default(),
    );
    let highlights = strings(value, "highlights");
    if heading.is_empty() && aside.is_empty() && summary.is_empty() && highlights.is_empty() {
        return;
    }
    blocks.push(Block::Entry {
        title: heading,
        aside: aside.join(" · "),
    });
    blocks.extend(
        summary
            .into_iter()
            .map(|p| Block::Paragraph(vec![Inline::plain(p)])),
    );
    blocks.extend(
        highlights
            .into_iter()
            .map(|h| bullet(vec![Inline::plain(h)])),
    );
}

fn linked_bold(text: String, url: Option<&str>) -> Inline {
    let mut inline = match url {
        Some(url) => Inline::linked(text, url),
        None => Inline::plain(text),
    };
    inline.bold = true;
    inline
}

/// "**Backend** (Expert): Rust, PostgreSQL" as a bullet.
fn skill_item(skill: &Value) -> Option<Block> {
    let name = text(skill, "name");
    let level = text(skill, "level");
    let keywords = strings(skill, "keywords");
    let mut inlines = Vec::new();
    if let Some(name) = name {
        inlines.push(Inline::bold(name));
        if let Some(level) = level {
            inlines.push(Inline::plain(format!(" ({level})")));
        }
        if !keywords.is_empty() {
            inlines.push(Inline::plain(format!(": {}", keywords.join(", "))));
        }
    } else if !keywords.is_empty() {
        inlines.push(Inline::plain(keywords.join(", ")));
    }
    (!inlines.is_empty()).then(|| bullet(inlines))
}

/// Email · phone · website · location · profiles, with vetted links.
fn contact_line(basics: &Value) -> Vec<Inline> {
    let mut parts: Vec<Inline> = Vec::new();
    if let Some(email) = text(basics, "email") {
        parts.push(Inline::linked(email.clone(), &format!("mailto:{email}")));
    }
    if let Some(phone) = text(basics, "phone") {
        parts.push(Inline::plain(phone));
    }
    if let Some(url) = text(basics, "url").or_else(|| text(basics, "website")) {
        parts.push(Inline::linked(display_url(&url), &url));
    }
    if let Some(location) = location(basics.get("location").unwrap_or(&Value::Null)) {
        parts.push(Inline::plain(location));
    }
    for profile in items(basics, "profiles") {
        let network = text(profile, "network");
        let username = text(profile, "username");
        let url = text(profile, "url");
        let shown = match (&network, &username, &url) {
            (Some(n), Some(u), _) => format!("{n}: {u}"),
            (None, Some(u), _) => u.clone(),
            (Some(n), None, Some(url)) => format!("{n}: {}", display_url(url)),
            (None, None, Some(url)) => display_url(url),
            (Some(n), None, None) => n.clone(),
            (None, None, None) => continue,
        };
        parts.push(match url {
            Some(url) => Inline::linked(shown, &url),
            None => Inline::plain(shown),
        });
    }
    let mut line = Vec::with_capacity(parts.len() * 2);
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            line.push(Inline::plain(" · "));
        }
        line.push(part);
    }
    line
}

/// A URL without its scheme and trailing slash, for display.
fn display_url(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find(|scheme| lower.starts_with(*scheme))
        .and_then(|scheme| url.get(scheme.len()..))
        .unwrap_or(url);
    rest.trim_end_matches('/').to_owned()
}

/// "City, Region, CC" from a JSON Resume location (a plain string is accepted too).
fn location(value: &Value) -> Option<String> {
    if let Some(s) = value.as_str() {
        let s = clean_line(s);
        return (!s.is_empty()).then_some(s);
    }
    let mut parts: Vec<String> = ["city", "region", "countryCode"]
        .iter()
        .filter_map(|k| text(value, k))
        .collect();
    // "Berlin, Berlin, DE" reads as a mistake; city-states repeat the city as region.
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join(", "))
}

// ---------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------

/// "Mar 2024 – present", "2019 – 2021", "Jan 2020"; `None` when there are no dates.
pub(crate) fn date_range(start: Option<&str>, end: Option<&str>) -> Option<String> {
    let start = start.map(format_date).filter(|s| !s.is_empty());
    let end = end.map(format_date).filter(|s| !s.is_empty());
    match (start, end) {
        (Some(s), Some(e)) if s == e => Some(s),
        (Some(s), Some(e)) => Some(format!("{s} – {e}")),
        (Some(s), None) => Some(format!("{s} – present")),
        (None, Some(e)) => Some(e),
        (None, None) => None,
    }
}

/// An ISO 8601 date (`2024-03-15`, `2024-03`, `2024`) as "Mar 2024" / "2024"; words like
/// "present" normalised; anything else shown as written.
pub(crate) fn format_date(raw: &str) -> String {
    let raw = clean_line(raw);
    let lower = raw.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "present" | "current" | "now" | "today" | "ongoing"
    ) {
        return "present".to_owned();
    }
    // Accept a full timestamp by looking at the date part only.
    let date = raw.split(['T', ' ']).next().unwrap_or("");
    let mut parts = date.split('-');
    let year = parts
        .next()
        .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()));
    let month = parts
        .next()
        .map(|m| m.parse::<u32>().ok().and_then(month_abbr));
    match (year, month) {
        (Some(year), None) => year.to_owned(),
        (Some(year), Some(Some(month))) => format!("{month} {year}"),
        _ => raw,
    }
}

// ---------------------------------------------------------------------------------------
// Lenient JSON access
// ---------------------------------------------------------------------------------------

/// A text field, whitespace-collapsed; numbers and booleans are shown as written.
fn text(value: &Value, key: &str) -> Option<String> {
    let s = match value.get(key)? {
        Value::String(s) => clean_line(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.is_empty()).then_some(s)
}

/// Elements of an array field; nothing if the field is missing or not an array.
fn items<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter())
        .unwrap_or_default()
}

/// An array of strings (numbers accepted), cleaned, empties skipped; a lone string counts.
fn strings(value: &Value, key: &str) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(clean_line(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value.get(key) {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(one)
            .filter(|s| !s.is_empty())
            .collect(),
        Some(v) => one(v).into_iter().filter(|s| !s.is_empty()).collect(),
        None => Vec::new(),
    }
}
