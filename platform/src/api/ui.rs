//! The web UI: the built SPA (`UI_DIR`, default `ui/dist`) served at `/`.
//!
//! - Vite fingerprints everything under `assets/` (the hash is in the name), so those
//!   files are cached for a year and marked immutable; `index.html` and the other
//!   top-level files are revalidated on every load, so a new build shows up at once.
//! - History-mode routing: a path that names no file and looks like a page (no file
//!   extension) answers `index.html`, and the SPA's router renders it. A missing
//!   `*.js`/`*.png` stays a 404 so a broken build is visible instead of rendering HTML
//!   as a script.
//! - `/api/...` never reaches this endpoint (the API is nested first), so an unknown API
//!   path is still a JSON 404.
//! - The strict CSP of the security-header middleware applies; the build has no inline
//!   scripts or styles.

use std::path::{Component, Path, PathBuf};

use poem::http::{Method, StatusCode};
use poem::{Endpoint, Request, Response};

use crate::error::{ApiError, ErrorCode};

/// Serves files from the UI build directory.
pub struct UiFiles {
    root: PathBuf,
}

impl UiFiles {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// The file a request path names under `root`, or `None` for paths that try to leave
/// it (`..`, absolute parts) or name hidden files.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.trim_start_matches('/');
    let mut out = root.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(part) => {
                let s = part.to_str()?;
                if s.starts_with('.') {
                    return None;
                }
                out.push(s);
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Whether a path's last segment has a file extension (`app.3f2a.js`), i.e. it names a
/// file rather than an SPA route.
fn looks_like_file(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
}

fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    match mime.type_() {
        mime_guess::mime::TEXT => format!("{mime}; charset=utf-8"),
        _ if mime.subtype() == mime_guess::mime::JAVASCRIPT => format!("{mime}; charset=utf-8"),
        _ => mime.to_string(),
    }
}

fn not_built() -> Response {
    // Plain text (no inline styles) keeps it inside the CSP. A 404 rather than a 503: the
    // server is fine, the UI files are absent (and the error envelope reserves 5xx).
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .content_type("text/plain; charset=utf-8")
        .header("cache-control", "no-store")
        .body(
            "The AfterResume web UI has not been built.\n\
             Run scripts/run.sh (it builds it), or `npm --prefix ui ci && npm --prefix ui run build`,\n\
             or point UI_DIR at a built ui/dist. The API is at /api (docs: /api/docs).\n",
        )
}

async fn file_response(path: &Path, cache: &'static str, head: bool) -> Option<Response> {
    let meta = tokio::fs::metadata(path).await.ok()?;
    if !meta.is_file() {
        return None;
    }
    let builder = Response::builder()
        .content_type(content_type(path))
        .header("cache-control", cache)
        .header("content-length", meta.len());
    if head {
        return Some(builder.body(()));
    }
    let bytes = tokio::fs::read(path).await.ok()?;
    Some(builder.body(bytes))
}

impl Endpoint for UiFiles {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            return Err(ApiError::new(
                ErrorCode::MethodNotAllowed,
                "only GET and HEAD are served outside /api",
            )
            .into());
        }
        let path = req.uri().path();
        let index = self.root.join("index.html");
        let Some(file) = resolve(&self.root, path) else {
            return Err(ApiError::new(ErrorCode::NotFound, "no such file").into());
        };
        if path != "/" {
            let cache = if path.starts_with("/assets/") {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            if let Some(resp) = file_response(&file, cache, head).await {
                return Ok(resp);
            }
            if looks_like_file(path) {
                return Err(ApiError::new(ErrorCode::NotFound, "no such file").into());
            }
        }
        match file_response(&index, REVALIDATE, head).await {
            Some(resp) => Ok(resp),
            None => Ok(not_built()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root() {
        let root = Path::new("/srv/ui");
        assert_eq!(
            resolve(root, "/assets/app.js"),
            Some(PathBuf::from("/srv/ui/assets/app.js"))
        );
        assert_eq!(resolve(root, "/"), Some(PathBuf::from("/srv/ui")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/assets/../../x"), None);
        assert_eq!(resolve(root, "/.env"), None);
        assert_eq!(resolve(root, "/a/.git/config"), None);
    }

    #[test]
    fn routes_and_files_are_told_apart() {
        assert!(looks_like_file("/assets/index-3f2a.js"));
        assert!(looks_like_file("/favicon.svg"));
        assert!(!looks_like_file("/worklogs/0192-abc"));
        assert!(!looks_like_file("/"));
    }

    #[test]
    fn text_types_carry_a_charset() {
        assert_eq!(
            content_type(Path::new("a.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.png")), "image/png");
    }
}
