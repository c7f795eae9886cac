//! A streaming `multipart/form-data` request body.
//!
//! poem-openapi's `Upload` spools each file to a temporary file before the handler
//! runs, with no size limit while it does. This payload instead hands the handler the
//! live multipart stream, so a file goes straight to the artifact store, counted and
//! capped as it arrives, and is never held whole in memory or on local disk.

use poem::web::Multipart;
use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};

/// A multipart body whose `file` field is read by the handler as a stream.
pub struct MultipartUpload(pub Multipart);

impl Payload for MultipartUpload {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("multipart/form-data")
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("object");
        schema.required = vec!["file"];
        // `file` and nothing else (poem's schema type cannot spell `additionalProperties:
        // false`; with `file` required this says the same).
        schema.max_properties = Some(1);
        schema.properties = vec![(
            "file",
            MetaSchemaRef::Inline(Box::new(MetaSchema {
                format: Some("binary"),
                description: Some("The file's bytes: not empty, and one of the accepted types (the operation lists them)."),
                min_length: Some(1),
                ..MetaSchema::new("string")
            })),
        )];
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn register(_registry: &mut Registry) {}
}

impl ParsePayload for MultipartUpload {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        Ok(Self(Multipart::from_request(request, body).await?))
    }
}

// What poem-openapi's `impl_apirequest_for_payload!` generates for its own payloads.
impl<'a> poem_openapi::ApiExtractor<'a> for MultipartUpload {
    const TYPES: &'static [poem_openapi::ApiExtractorType] =
        &[poem_openapi::ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }

    fn request_meta() -> Option<poem_openapi::registry::MetaRequest> {
        Some(poem_openapi::registry::MetaRequest {
            description: None,
            content: vec![poem_openapi::registry::MetaMediaType {
                content_type: <Self as Payload>::CONTENT_TYPE,
                schema: <Self as Payload>::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: poem_openapi::ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        match request.content_type() {
            Some(ct) if Self::check_content_type(ct) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(ct) => Err(poem_openapi::error::ContentTypeError::NotSupported {
                content_type: ct.to_string(),
            }
            .into()),
            None => Err(poem_openapi::error::ContentTypeError::ExpectContentType.into()),
        }
    }
}

impl MultipartUpload {
    /// The body's one part, `file`. The document allows nothing else: a stray part is a
    /// malformed request, not something to skip silently (and read) before the file.
    pub async fn file(&mut self) -> crate::error::ApiResult<poem::web::Field> {
        use crate::error::{ApiError, ErrorCode};
        match self.0.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") => Ok(f),
            Ok(Some(f)) => Err(ApiError::new(
                ErrorCode::BadRequest,
                format!(
                    "unexpected part {:?}: the body has one part, `file`",
                    f.name().unwrap_or("")
                ),
            )),
            Ok(None) => Err(ApiError::new(
                ErrorCode::BadRequest,
                "the multipart body needs a part named `file`",
            )),
            Err(e) => Err(ApiError::new(ErrorCode::BadRequest, e.to_string())),
        }
    }

    /// Reads past what is left of a refused upload (bounded), so the client gets the
    /// answer rather than a reset connection.
    pub async fn drain(&mut self) {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Ok(Some(_)) = self.0.next_field().await {}
        })
        .await;
    }

    /// Refuses a body that goes on after `file`: a part after it makes the request
    /// malformed just like one before it.
    pub async fn end(&mut self) -> crate::error::ApiResult<()> {
        if matches!(self.0.next_field().await, Ok(None)) {
            Ok(())
        } else {
            Err(crate::error::ApiError::new(
                crate::error::ErrorCode::BadRequest,
                "unexpected part after `file`: the body has one part, `file`",
            ))
        }
    }
}
