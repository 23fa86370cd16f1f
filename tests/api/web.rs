use crate::helpers::TestApp;

/// The page, its scripts and styles from the node itself, the page locked to its origin.
#[actix_web::test]
async fn the_web_client_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.request("GET", "/", None, None).await;
    assert_eq!(page.status, 200);
    let header = |res: &crate::helpers::Resp, name: &str| {
        res.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    let html = page.body.as_str().unwrap().to_string();
    assert_eq!(html.as_bytes(), std::fs::read("web/index.html").unwrap());
    // Scripts come from files of this origin only, never inline.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains(r#"<script type="module" src="/app.js"></script>"#));
    assert!(!html.contains("http://") && !html.contains("https://"));
    for name in [
        "Username or email",
        "Password",
        "Log in",
        "Email",
        "Username",
        "Create account",
        "Message",
        "Send",
        "New group",
        "Log out",
    ] {
        assert!(html.contains(name), "the page names {name:?}");
    }

    for (path, file, kind) in [
        ("/app.js", "web/app.js", "text/javascript"),
        (
            "/confab-client.js",
            "web/confab-client.js",
            "text/javascript",
        ),
        ("/style.css", "web/style.css", "text/css"),
        (
            "/vendor/socket.io.esm.min.js",
            "web/vendor/socket.io.esm.min.js",
            "text/javascript",
        ),
    ] {
        let res = app.request("GET", path, None, None).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(header(&res, "content-type").starts_with(kind), "{path}");
        assert_eq!(
            res.body.as_str().unwrap().as_bytes(),
            std::fs::read(file).unwrap(),
            "{path}"
        );
        // Revalidation: the same ETag is a 304 with no body.
        let etag = header(&res, "etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let req = app
            .client
            .get(format!("{}{path}", app.base))
            .insert_header(("If-None-Match", etag.as_str()));
        let revalidated = req.send().await.unwrap();
        assert_eq!(revalidated.status().as_u16(), 304, "{path}");
    }

    // An invite link opens the page; unknown paths are still the API's 404.
    let invite = app.request("GET", "/invite/some-code", None, None).await;
    assert_eq!(invite.body.as_str().unwrap(), html);
    assert_eq!(app.request("GET", "/nope.js", None, None).await.status, 404);
}

/// The page in Debian's Chromium (tests/js/browser, playwright-core): two people chat live, one
/// goes offline and catches up, user content stays text. Screenshots go to target/screenshots.
#[actix_web::test]
async fn the_page_works_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    crate::common::run_node_tests(
        &["browser/page.test.mjs"],
        &[
            ("CONFAB_URL", &app.base),
            ("CONFAB_SCREENSHOTS", shots.to_str().unwrap()),
        ],
    )
    .await;
    assert!(shots.join("conversation-320.png").exists());
}
