//! File downloads whose document lists every media type they may be sent as.
//!
//! poem-openapi's `Binary` declares `application/octet-stream` whatever the
//! `Content-Type` header says; a client (or a schema checker) then reads a PDF or a CSV
//! as undocumented. [`File<M>`] sends what the handler chose and declares the types of
//! `M`.

use std::marker::PhantomData;

use poem::http::{header, HeaderValue};
use poem::{Body, IntoResponse, Response};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::ApiResponse;

/// The media types a download may have.
pub trait MediaTypes: Send + 'static {
    fn types() -> Vec<&'static str>;

    /// The schema of the body in one of [`Self::types`]: bytes, unless a subtype says
    /// more (JSON bodies are parsed by clients and checkers).
    fn schema(_content_type: &str) -> MetaSchema {
        binary()
    }
}

fn binary() -> MetaSchema {
    let mut s = MetaSchema::new("string");
    s.format = Some("binary");
    s
}

/// A work-log export: JSON, CSV or Markdown.
pub struct ExportTypes;
impl MediaTypes for ExportTypes {
    fn types() -> Vec<&'static str> {
        ["application/json", "text/csv", "text/markdown"].to_vec()
    }

    fn schema(content_type: &str) -> MetaSchema {
        if content_type != "application/json" {
            return binary();
        }
        let mut s = MetaSchema::new("array");
        s.description = Some(
            "One object per entry: `date`, `title`, `content`, `tags`, `outcome`, `project` \
             (what `POST /api/worklogs/import?format=json` reads back).",
        );
        s.items = Some(Box::new(MetaSchemaRef::Inline(Box::new(MetaSchema::new(
            "object",
        )))));
        s
    }
}

/// A report: Markdown, HTML or PDF.
pub struct ReportTypes;
impl MediaTypes for ReportTypes {
    fn types() -> Vec<&'static str> {
        ["text/markdown", "text/html", "application/pdf"].to_vec()
    }
}

/// A resume: Markdown, HTML, PDF, DOCX or JSON (JSON Resume).
pub struct ResumeTypes;
impl MediaTypes for ResumeTypes {
    fn types() -> Vec<&'static str> {
        [
            "text/markdown",
            "text/html",
            "application/pdf",
            crate::documents::DOCX_MIME,
            "application/json",
        ]
        .to_vec()
    }

    fn schema(content_type: &str) -> MetaSchema {
        if content_type != "application/json" {
            return binary();
        }
        let mut s = MetaSchema::new("object");
        s.description = Some("The resume as a JSON Resume document.");
        s
    }
}

/// An attachment: one of the types an upload may have.
pub struct AttachmentTypes;
impl MediaTypes for AttachmentTypes {
    fn types() -> Vec<&'static str> {
        crate::worklog::sniff::ALLOWED_TYPES
            .iter()
            .map(|t| t.mime)
            .collect()
    }
}

/// A file sent as an attachment (`Content-Disposition`), with its own `Content-Type`.
pub struct File<M> {
    body: Body,
    content_type: String,
    disposition: String,
    types: PhantomData<fn() -> M>,
}

impl<M> File<M> {
    pub fn new(body: impl Into<Body>, content_type: &str, disposition: String) -> Self {
        Self {
            body: body.into(),
            content_type: content_type.to_string(),
            disposition,
            types: PhantomData,
        }
    }
}

impl<M: MediaTypes> IntoResponse for File<M> {
    fn into_response(self) -> Response {
        let mut resp = Response::builder().body(self.body);
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&self.content_type) {
            h.insert(header::CONTENT_TYPE, v);
        }
        if let Ok(v) = HeaderValue::from_str(&self.disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        resp
    }
}

impl<M: MediaTypes> ApiResponse for File<M> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file.",
                status: Some(200),
                status_range: None,
                content: M::types()
                    .into_iter()
                    .map(|t| MetaMediaType {
                        content_type: t,
                        schema: MetaSchemaRef::Inline(Box::new(M::schema(t))),
                    })
                    .collect(),
                headers: vec![MetaHeader {
                    name: "Content-Disposition".to_string(),
                    description: Some("`attachment; filename=…`".to_string()),
                    required: true,
                    deprecated: false,
                    schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                }],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}
