//! The web UI served by `afterresume serve` from `UI_DIR`: index at `/`, history-mode
//! fallback for page routes, long-lived caching of fingerprinted assets, the strict CSP,
//! and no way out of the directory. The API keeps its JSON 404s.

mod common;

use common::spawn_app;

const INDEX: &str = "<!doctype html><html><head><script type=\"module\" src=\"/assets/index-abc123.js\"></script></head><body><div id=\"app\"></div></body></html>";

async fn get(http: &reqwest::Client, url: String) -> (u16, reqwest::header::HeaderMap, String) {
    let r = http.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap_or_default())
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn serves_the_spa_with_fallback_caching_and_csp() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ui.path().join("assets")).unwrap();
    std::fs::write(ui.path().join("index.html"), INDEX).unwrap();
    std::fs::write(ui.path().join("assets/index-abc123.js"), "console.log(1)").unwrap();
    std::fs::write(ui.path().join("favicon.svg"), "<svg/>").unwrap();
    std::fs::write(ui.path().join(".env"), "SECRET=1").unwrap();
    let dir = ui.path().display().to_string();
    let app = spawn_app(&[("UI_DIR", &dir)]).await;
    let h = &app.http;

    let (status, headers, body) = get(h, format!("{}/", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(body, INDEX);
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(header(&headers, "x-content-type-options"), "nosniff");

    // Page routes the SPA router owns get the index (history mode), deep ones too.
    for route in [
        "/worklogs",
        "/worklogs/0192f0c4-7a1e-7c3b-9d2e-1f2a3b4c5d6e",
        "/share/abc_DEF-123",
        "/admin/jobs",
    ] {
        let (status, _, body) = get(h, format!("{}{route}", app.base)).await;
        assert_eq!((status, body.as_str()), (200, INDEX), "{route}");
    }

    let (status, headers, body) = get(h, format!("{}/assets/index-abc123.js", app.base)).await;
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    assert!(header(&headers, "content-type").contains("javascript"));
    assert_eq!(
        header(&headers, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let (status, headers, _) = get(h, format!("{}/favicon.svg", app.base)).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), "image/svg+xml");
    assert_eq!(header(&headers, "cache-control"), "no-cache");

    // A missing file is a 404, not the index served as a script.
    let (status, _, body) = get(h, format!("{}/assets/missing-1.js", app.base)).await;
    assert_eq!(status, 404);
    assert!(body.contains("\"not_found\""), "{body}");
    // Hidden files and escapes are refused.
    let (status, _, body) = get(h, format!("{}/.env", app.base)).await;
    assert_eq!(status, 404, "{body}");
    let (status, _, body) = get(h, format!("{}/assets/%2e%2e/%2e%2e/etc/passwd", app.base)).await;
    // (The client resolves the dots first; whatever arrives stays inside UI_DIR.)
    assert!(status == 404 || body == INDEX, "{status} {body}");
    assert!(!body.contains("root:"), "{body}");
    // Unknown API paths stay JSON 404s.
    let (status, _, body) = get(h, format!("{}/api/no-such-thing", app.base)).await;
    assert_eq!(status, 404);
    assert!(body.contains("\"error\""), "{body}");
    // Only GET/HEAD outside /api.
    let r = h
        .post(format!("{}/worklogs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn says_how_to_build_the_ui_when_it_is_missing() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    let app = spawn_app(&[("UI_DIR", &dir)]).await;
    let (status, headers, body) = get(&app.http, format!("{}/worklogs", app.base)).await;
    assert_eq!(status, 404);
    assert!(header(&headers, "content-type").starts_with("text/plain"));
    assert!(body.contains("scripts/run.sh"), "{body}");
    // The API is unaffected.
    let (status, _, _) = get(&app.http, format!("{}/api/healthz", app.base)).await;
    assert_eq!(status, 200);
}
